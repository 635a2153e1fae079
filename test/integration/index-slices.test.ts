// A flush of many tasks goes into the task index a slice at a time, with turns of the event loop between the slices:
// one transaction for a whole flush (thousands of tasks after a burst of webhooks) held every request for up to a
// second. Every row is still there when forceFlush returns, and the server's onWritten hears of every task.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { WrittenFiles } from '../../exporters/task-file-writer.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { type IndexedFiles, TaskIndex } from '../../src/store/task-index.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

/** An index whose row writes each take a millisecond (a large index on a busy disk), and that logs its calls. */
class SlowIndex extends TaskIndex {
  readonly events: string[] = [];

  override upsert(taskId: string, files: IndexedFiles): void {
    const until = performance.now() + 1;
    while (performance.now() < until) {
      // busy, as SQLite is: the event loop gets no turn inside a row write
    }
    super.upsert(taskId, files);
  }

  override upsertMany(entries: Iterable<[string, IndexedFiles]>): void {
    this.events.push('transaction');
    super.upsertMany(entries);
  }
}

it('indexes a large flush in slices with turns of the event loop between them, every row there after forceFlush', async () => {
  const dir = await tempLogsDir();
  const index = new SlowIndex(join(dir, '.index.sqlite'));
  const told: WrittenFiles[] = [];
  const telemetry = testTelemetry(dir, {}, { index, onWritten: (written) => told.push(...written) });
  const ids = Array.from({ length: 40 }, (_, n) => `task-slice${n}`);
  for (const taskId of ids) {
    const task = telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github' });
    for (const stage of WEBHOOK_STAGES) task.recordStage(stage);
  }
  // a turn of the event loop is marked in the log each time one comes
  let flushing = true;
  const turn = () => {
    index.events.push('turn');
    if (flushing) setImmediate(turn);
  };
  setImmediate(turn);
  await telemetry.forceFlush();
  flushing = false;

  const transactions = index.events.filter((event) => event === 'transaction').length;
  expect(transactions).toBeGreaterThan(1);
  // between the first and the last slice's transaction the event loop had turns
  const first = index.events.indexOf('transaction');
  const last = index.events.lastIndexOf('transaction');
  expect(index.events.slice(first, last)).toContain('turn');
  for (const taskId of ids) expect(index.get(taskId)?.status).toBe('queued');
  expect(told.map((w) => w.taskId).sort()).toEqual([...ids].sort());
  await telemetry.shutdown();
  index.close();
});
