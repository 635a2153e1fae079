import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { secretSamples } from '../helpers/secret-samples.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { cli } from '../helpers/tasklogs-cli.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

// tasks as an older version wrote them: redaction off
async function oldTasks() {
  const dir = await tempLogsDir();
  const telemetry = testTelemetry(dir, { TASK_LOGS_REDACTION: 'false' });
  const samples = secretSamples();
  for (const [id, finished] of [
    ['task-old', true],
    ['task-old-gz', true],
    ['task-running', false],
  ] as const) {
    const task = telemetry.tasks.start({
      taskId: id,
      input: { message: `please use ${samples[0]!.text}`, source_metadata: {} },
    });
    task.recordStage('received', { comment: samples[1]!.text });
    const run = task.startAgent({ name: 'brain' });
    run.text('Analyzing src/queue.ts: nothing secret here.');
    for (const s of samples) run.text(s.text);
    if (finished) run.finish({ result: `done; used ${samples[2]!.text}` });
  }
  const clean = telemetry.tasks.start({ taskId: 'task-clean' }).startAgent({ name: 'brain' });
  clean.text('nothing to see');
  clean.finish({ result: 'ok' });
  await telemetry.forceFlush();
  // as compression leaves it
  const output = join(dir, 'task-old-gz', '03-agent-output.jsonl');
  writeFileSync(`${output}.gz`, gzipSync(readFileSync(output)));
  unlinkSync(output);
  return { dir, samples };
}

function folderText(dir: string): string {
  return readdirSync(dir)
    .map((name) => {
      const bytes = readFileSync(join(dir, name));
      return name.endsWith('.gz') ? gunzipSync(bytes).toString() : bytes.toString();
    })
    .join('\n');
}

describe('tasklogs scan', () => {
  it('finds the secrets in stored tasks, plain and compressed, and exits 1', async () => {
    const { dir, samples } = await oldTasks();
    const scan = await cli(dir, 'scan', '--json');
    expect(scan.err).toBe('');
    expect(scan.code).toBe(1);
    const result = JSON.parse(scan.out);
    expect(result.scanned).toBe(4);
    expect(result.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([
      'task-old',
      'task-old-gz',
      'task-running',
    ]);
    const gz = result.tasks.find((t: { task_id: string }) => t.task_id === 'task-old-gz');
    expect(Object.keys(gz.files)).toContain('03-agent-output.jsonl.gz');
    expect(result.by_rule['github-pat']).toBeGreaterThan(0);
    expect(result.secrets).toBeGreaterThanOrEqual(3 * samples.length);
    // scanning changes nothing
    expect(folderText(join(dir, 'task-old'))).toContain(samples[0]!.secret);
    const human = await cli(dir, 'scan');
    expect(human.code).toBe(1);
    expect(human.out).toMatch(/scanned 4 tasks: 3 with secrets \(\d+: /);
  });

  it('--redact rewrites finished tasks in place, counts what it removed, and leaves running ones', async () => {
    const { dir, samples } = await oldTasks();
    const before = readTaskFolder(join(dir, 'task-old'));
    const redact = await cli(dir, 'scan', '--redact', '--json');
    expect(redact.code).toBe(1);
    const result = JSON.parse(redact.out);
    expect(result.skipped).toEqual([{ task_id: 'task-running', reason: 'running' }]);
    for (const id of ['task-old', 'task-old-gz']) {
      const text = folderText(join(dir, id));
      for (const s of samples) expect(text, `${id} ${s.kind}`).not.toContain(s.secret);
      expect(readdirSync(join(dir, id)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }
    const after = readTaskFolder(join(dir, 'task-old'));
    expect(after.agentOutput).toHaveLength(before.agentOutput.length);
    expect(after.agentOutput[0]).toEqual(before.agentOutput[0]); // the rest is intact
    expect(after.metadata?.status).toBe('completed');
    expect(after.metadata?.redactions?.['github-pat']).toBeGreaterThan(0);
    expect(after.finalResult?.result).toContain('[REDACTED:');
    expect(folderText(join(dir, 'task-running'))).toContain(samples[0]!.secret);

    // once redacted, a second scan finds only the task that is still running
    const again = JSON.parse((await cli(dir, 'scan', '--json')).out);
    expect(again.tasks.map((t: { task_id: string }) => t.task_id)).toEqual(['task-running']);
  });

  it('exits 0 when nothing is found', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, { TASK_LOGS_REDACTION: 'false' });
    const run = telemetry.tasks.start({ taskId: 'task-fps' }).startAgent({ name: 'brain' });
    run.text('commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39 is clean');
    run.finish({ result: 'ok' });
    await telemetry.forceFlush();
    const scan = await cli(dir, 'scan');
    expect(scan.code).toBe(0);
    expect(scan.out).toContain('scanned 1 task: 0 with secrets');
  });
});
