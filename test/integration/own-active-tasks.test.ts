// The tasks a process holds, kept from what its writer wrote: the check for interrupted tasks skips them unread.
import { expect, it } from 'vitest';
import type { WrittenFiles } from '../../exporters/task-file-writer.ts';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { processOwner } from '../../src/instrumentation/process-owner.ts';
import { OwnActiveTasks } from '../../src/ops/own-active-tasks.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

it('holds a task while its metadata names this process with a queued or running status, and lets it go at its end', async () => {
  const own = new OwnActiveTasks();
  const telemetry = testTelemetry(await tempLogsDir(), {}, { onWritten: (written) => own.record(written) });
  const task = telemetry.tasks.start({ taskId: 'task-own1', source: 'webhook', provider: 'github' });
  for (const stage of WEBHOOK_STAGES) task.recordStage(stage);
  await telemetry.forceFlush();
  expect(own.has('task-own1')).toBe(true); // queued, by this process
  const run = task.startAgent({ name: 'brain' });
  await telemetry.forceFlush();
  expect(own.has('task-own1')).toBe(true); // running
  run.finish({ result: 'done' });
  await telemetry.forceFlush();
  expect(own.has('task-own1')).toBe(false); // completed
  expect(own.size).toBe(0);
});

it("does not hold a task whose metadata names another process, even one with this pid (a restarted process's)", () => {
  const own = new OwnActiveTasks();
  const self = processOwner();
  const written = (taskId: string, owner: unknown): WrittenFiles => ({
    taskId,
    metadata: { task_id: taskId, status: 'running', owner } as WrittenFiles['metadata'],
    finalResult: undefined,
  });
  own.record([
    written('task-other1', { ...self, pid: self.pid + 1 }),
    written('task-other2', { ...self, started_at: '2020-01-01T00:00:00.000Z' }),
    written('task-other3', { ...self, host: 'elsewhere' }),
    written('task-none1', undefined),
    written('task-mine1', self),
  ]);
  expect(['task-other1', 'task-other2', 'task-other3', 'task-none1'].filter((id) => own.has(id))).toEqual([]);
  expect(own.has('task-mine1')).toBe(true);
  // taken over by another process (a worker): let go
  own.record([written('task-mine1', { ...self, pid: self.pid + 1 })]);
  expect(own.has('task-mine1')).toBe(false);
});
