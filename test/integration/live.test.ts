import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskMetadata } from '../../src/contract/task-files.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('a running task', () => {
  it('says running and has each output line on disk while it runs, with no further event (default flush settings)', async () => {
    const dir = await tempLogsDir();
    // the shipped default flush window, not the test helper's shorter one
    const telemetry = testTelemetry(dir, { TASK_LOGS_FLUSH_MS: '50' });
    const task = telemetry.tasks.start({ taskId: 'task-live', source: 'api', provider: 'cli' });
    const run = task.startAgent({ name: 'brain', model: 'claude' });
    const folder = join(dir, 'task-live');

    await expect
      .poll(() => existsSync(join(folder, 'metadata.json')) && readMetadata(folder).status, {
        timeout: 60_000,
        interval: 5,
      })
      .toBe('running');
    expect(readMetadata(folder).started_at).toMatch(/Z$/);

    // each line shows up while the task still says running (how fast is npm run bench's live benchmark)
    const path = join(folder, '03-agent-output.jsonl');
    const readable = () => (existsSync(path) ? parseJsonl(readFileSync(path, 'utf8')).lines.length : 0);
    for (let i = 0; i < 20; i++) {
      run.text(`line ${i}`);
      await expect.poll(readable, { timeout: 60_000, interval: 5 }).toBe(i + 1);
      expect(readMetadata(folder).status).toBe('running');
    }

    run.finish({ result: 'ok' });
    await expect.poll(() => readMetadata(folder).status, { timeout: 60_000, interval: 5 }).toBe('completed');
  });
});

function readMetadata(folder: string): TaskMetadata {
  return JSON.parse(readFileSync(join(folder, 'metadata.json'), 'utf8')) as TaskMetadata;
}
