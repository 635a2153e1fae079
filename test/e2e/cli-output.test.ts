import { spawn, spawnSync } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'src/cli/main.ts');
const PATH = `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`;
const ENV = { ...process.env, PATH, NO_COLOR: '1' };

async function taskWithLongOutput(dir: string) {
  const telemetry = testTelemetry(dir);
  const task = telemetry.tasks.start({
    taskId: 'task-long',
    source: 'webhook',
    provider: 'github',
    input: { message: 'first line of the ask\nsecond line of the ask', source_metadata: {} },
  });
  task.recordStage('received', { event_type: 'issue_comment.created' });
  task.recordStage('task_created', { assigned_agent: 'brain' });
  const agent = task.startAgent({ name: 'brain' });
  agent.text(`line one\nline two\n${'x'.repeat(500)}END`);
  for (let i = 0; i < 3000; i++) agent.text(`filler ${i}`);
  agent.finish({ result: 'result line one\nresult line two', costUsd: 0 });
  await telemetry.forceFlush();
}

describe('tasklogs output', { timeout: 120_000 }, () => {
  it('tail and show print whole events: every line of a multi-line content, nothing cut', async () => {
    const dir = await tempLogsDir();
    await taskWithLongOutput(dir);
    const tail = spawnSync(BIN, ['tail', '-n', '3001', 'task-long'], {
      env: { ...ENV, TASK_LOGS_DIR: dir },
      encoding: 'utf8',
    });
    expect(tail.status).toBe(0);
    expect(tail.stdout).toMatch(/text\s+line one\n\s+line two\n\s+x{500}END\n/);
    const show = spawnSync(BIN, ['show', 'task-long'], {
      env: { ...ENV, TASK_LOGS_DIR: dir },
      encoding: 'utf8',
    });
    expect(show.stdout).toContain('first line of the ask\n    second line of the ask');
    expect(show.stdout).toContain('result line one\n  result line two');
  });

  it('exits 0 quietly when the reader closes the pipe (tasklogs tail | head -1)', async () => {
    const dir = await tempLogsDir();
    await taskWithLongOutput(dir);
    const child = spawn(BIN, ['tail', '-n', '3001', 'task-long'], {
      env: { ...ENV, TASK_LOGS_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // read the first chunk, then close our end of the pipe, as `head -1` does
    await new Promise((done) => child.stdout.once('data', done));
    child.stdout.destroy();
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
