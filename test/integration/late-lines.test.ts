// Late telemetry for a task that retention deleted: dropped as task_deleted (not a write error), and its folder never
// comes back, also in the writer that wrote the task (it knows the folder) and when retention deletes the task
// between the writer's tombstone check and its mkdir.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../exporters/file-system.ts';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { pruneTasks } from '../../src/ops/retention.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { line, pushAll } from '../helpers/writer-items.ts';

const prune = (root: string) =>
  pruneTasks({ root, retentionDays: 1, now: new Date(Date.now() + 3 * 86_400_000) });

describe('late lines of a deleted task', () => {
  it('count as task_deleted, not as a write error, in the writer that wrote the task', async () => {
    const root = await tempLogsDir();
    const telemetry = testTelemetry(root, {}, { index: false });
    const writer = telemetry.writer!;
    await recordSampleTask(telemetry.tasks, { taskId: 'task-gone' });
    await telemetry.forceFlush();
    expect((await prune(root)).deleted.map((d) => d.task_id)).toEqual(['task-gone']);
    const before = writer.stats();
    const late = await pushAll(writer, [line('task-gone', 'late line')]);
    expect(late).toMatchObject({ accepted: 0, rejected: 1, error: { code: 'TELEMETRY_DROPPED' } });
    const after = writer.stats();
    expect(after.dropReasons.task_deleted - before.dropReasons.task_deleted).toBe(1);
    expect(after.dropReasons.write_failed).toBe(before.dropReasons.write_failed);
    expect(after.errors).toBe(before.errors);
    expect(existsSync(join(root, 'task-gone'))).toBe(false);
  });

  it('do not bring the folder back when retention deletes the task between the check and the mkdir', async () => {
    const root = await tempLogsDir();
    const telemetry = testTelemetry(root, {}, { index: false });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-raced' });
    await telemetry.forceFlush();
    // a second writer (another process) that has not seen the task: its existence check finds the folder, and
    // retention deletes the task right before its mkdir
    let raced = false;
    const fs = {
      ...nodeFileSystem,
      async mkdir(path: string) {
        if (!raced && path === join(root, 'task-raced')) {
          raced = true;
          expect((await prune(root)).deleted.map((d) => d.task_id)).toEqual(['task-raced']);
        }
        return nodeFileSystem.mkdir(path);
      },
    };
    const other = new TaskFileWriter({ root, fs, flushMs: 5, report: () => {} });
    const late = await pushAll(other, [line('task-raced', 'late line')]);
    expect(raced).toBe(true);
    expect(late).toMatchObject({ accepted: 0, rejected: 1 });
    expect(other.stats().dropReasons.task_deleted).toBe(1);
    expect(other.stats().errors).toBe(0);
    expect(existsSync(join(root, 'task-raced'))).toBe(false);
    await other.shutdown();
  });
});
