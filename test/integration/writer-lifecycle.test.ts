import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PushOutcome, TaskFileWriter, type WriterStats } from '../../exporters/task-file-writer.ts';
import { TaskFilesLogExporter } from '../../exporters/task-log-exporter.ts';
import type { LogRecordLike } from '../../exporters/telemetry-item.ts';
import { ATTR } from '../../src/contract/attributes.ts';
import { pruneTasks } from '../../src/ops/retention.ts';
import { stalledFs } from '../helpers/faulty-fs.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { line, outputLines, pushAll } from '../helpers/writer-items.ts';

function expectBalanced(stats: WriterStats) {
  expect(stats.queued).toBe(0);
  expect(stats.written + stats.dropped + stats.ignored).toBe(stats.emitted);
}

// any unhandled rejection during these tests is a failure, wherever it comes from
let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('the task file writer state machine', () => {
  it('writes items pushed while shutdown runs its last flush, and answers their waiter', async () => {
    const root = await tempLogsDir();
    const stalled = stalledFs();
    const writer = new TaskFileWriter({ root, fs: stalled.fs, flushMs: 5, report: () => {} });
    writer.push(line('task-late', 'before shutdown'));
    const closed = writer.shutdown();
    expect(writer.phase).toBe('closing');
    let answered: PushOutcome | undefined;
    writer.pushAll([line('task-late', 'during shutdown')], (_error, outcome) => {
      answered = outcome;
    });
    writer.push(line('task-late', 'also during shutdown'));
    stalled.release();
    await closed;
    expect(writer.phase).toBe('closed');
    expect(answered).toEqual({ accepted: 1, rejected: 0, error: undefined });
    expect(outputLines(root, 'task-late')).toEqual([
      'before shutdown',
      'during shutdown',
      'also during shutdown',
    ]);
    expectBalanced(writer.stats());
  });

  it('starts the next flush as soon as the one before ends when its oldest item has waited the flush window meanwhile', async () => {
    const root = await tempLogsDir();
    const stalled = stalledFs();
    const flushMs = 100;
    const writer = new TaskFileWriter({ root, fs: stalled.fs, flushMs, report: () => {} });
    writer.push(line('task-first', 'first'));
    const first = writer.forceFlush();
    await expect.poll(() => stalled.stalledCalls()).toBeGreaterThan(0);
    writer.push(line('task-second', 'queued while the first flush is written'));
    // the disk holds the first flush for longer than the window the second item may wait
    await new Promise((resolve) => setTimeout(resolve, flushMs + 20));
    stalled.release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    // its flush is due: it started on the next turn, not a whole window after the first one ended
    expect(writer.phase).toBe('flushing');
    await writer.forceFlush();
    expect(outputLines(root, 'task-second')).toEqual(['queued while the first flush is written']);
    await writer.shutdown();
    expectBalanced(writer.stats());
  });

  it('still waits the flush window for an item queued during a flush that ended before the window did', async () => {
    const root = await tempLogsDir();
    const stalled = stalledFs();
    const writer = new TaskFileWriter({ root, fs: stalled.fs, flushMs: 600_000, report: () => {} });
    writer.push(line('task-first', 'first'));
    const first = writer.forceFlush();
    await expect.poll(() => stalled.stalledCalls()).toBeGreaterThan(0);
    writer.push(line('task-second', 'queued while the first flush is written'));
    stalled.release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.phase).toBe('armed');
    expect(writer.stats().queued).toBe(1);
    await writer.shutdown();
    expect(outputLines(root, 'task-second')).toEqual(['queued while the first flush is written']);
    expectBalanced(writer.stats());
  });

  it('maps a large flush in slices, letting the event loop turn between them; every line is written in order', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, flushMs: 1000, report: () => {} });
    const seen: string[] = [];
    const items = Array.from({ length: 5000 }, (_, n) => {
      const item = line('task-slices', `line ${n}`);
      // the mapping reads each item's type: that read is logged, as is a turn of the event loop
      const attributes = item.attributes as Record<string, unknown>;
      Object.defineProperty(attributes, ATTR.outputType, {
        get: () => {
          seen.push('map');
          return 'text';
        },
      });
      return item;
    });
    writer.pushAll(items, () => {});
    setImmediate(() => seen.push('turn'));
    await writer.forceFlush();
    // one turn came between the first item mapped and the last (in one go, it came after them all)
    const turn = seen.indexOf('turn');
    expect(turn).toBeGreaterThan(0);
    expect(seen.lastIndexOf('map')).toBeGreaterThan(turn);
    await writer.shutdown();
    expect(outputLines(root, 'task-slices')).toEqual(items.map((_, n) => `line ${n}`));
    expectBalanced(writer.stats());
  });

  it('after shutdown, drops and counts every push and answers the waiter with WRITER_CLOSED', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, report: () => {} });
    await writer.shutdown();
    writer.push(line('task-x', 'a'));
    const outcome = await pushAll(writer, [line('task-x', 'b'), line('task-x', 'c')]);
    expect(outcome.rejected).toBe(2);
    expect(outcome.error).toMatchObject({ code: 'WRITER_CLOSED' });
    expect(writer.stats().dropReasons.shut_down).toBe(3);
    expectBalanced(writer.stats());
  });

  it('counts what comes once the last flush is done, while the folders close, as shut_down, and answers its waiter', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, flushMs: 5, report: () => {} });
    writer.push(line('task-window', 'before shutdown'));
    // a producer that waits for room (as the benchmarks do) is answered by shutdown after its last flush
    let answered: PushOutcome | undefined;
    const late = writer.whenQueuedAtMost(-1).then(() => {
      writer.push(line('task-window', 'after the last flush'));
      writer.pushAll([line('task-window', 'also after')], (_error, outcome) => {
        answered = outcome;
      });
    });
    await writer.shutdown();
    await late;
    expect(outputLines(root, 'task-window')).toEqual(['before shutdown']);
    expect(writer.stats().dropReasons.shut_down).toBe(2);
    expect(answered).toMatchObject({ accepted: 0, rejected: 1, error: { code: 'WRITER_CLOSED' } });
    expectBalanced(writer.stats());
  });

  it('reports items dropped because the queue was full as a FAILED export, with per-call counts', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, maxQueue: 4, flushMs: 5, report: () => {} });
    const items = Array.from({ length: 10 }, (_, i) => line('task-full', `line ${i}`));
    let refusedAtTheDoor = -1;
    const outcome = await new Promise<PushOutcome>((resolve) => {
      // what the queue refused is known at once (the OTLP ingest answers from it), the rest once written
      refusedAtTheDoor = writer.pushAll(items, (_error, result) => resolve(result));
    });
    expect(refusedAtTheDoor).toBe(6);
    expect(outcome).toMatchObject({ accepted: 4, rejected: 6, error: { code: 'TELEMETRY_DROPPED' } });
    const exporter = new TaskFilesLogExporter({ writer });
    const code = await new Promise<number>((resolve) => exporter.export(items, (r) => resolve(r.code)));
    expect(code).toBe(ExportResultCode.FAILED);
    await writer.shutdown();
    expect(outputLines(root, 'task-full')).toHaveLength(8);
    expectBalanced(writer.stats());
  });

  it('drops one item with a time out of range alone, not the rest of its flush', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, flushMs: 5, report: () => {} });
    const outcome = await pushAll(writer, [
      line('task-bad', 'first'),
      line('task-bad', 'far future', [99_999_999_999_999, 0]),
      line('task-bad', 'not a number', [Number.NaN, 0]),
      line('task-bad', 'last'),
    ]);
    expect(outcome).toMatchObject({ accepted: 2, rejected: 2, error: { code: 'TELEMETRY_DROPPED' } });
    expect(outputLines(root, 'task-bad')).toEqual(['first', 'last']);
    expect(writer.stats().dropReasons.invalid_item).toBe(2);
    await writer.shutdown();
    expectBalanced(writer.stats());
  });

  it('drops an item whose input is nested too deep to serialize, alone', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, flushMs: 5, report: () => {} });
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const nested: LogRecordLike = {
      hrTime: [1_700_000_000, 0],
      attributes: {
        [ATTR.taskId]: 'task-deep',
        [ATTR.outputType]: 'tool_call',
        [ATTR.toolInput]: deep,
      },
      body: 'Read',
    };
    const outcome = await pushAll(writer, [line('task-deep', 'before'), nested, line('task-deep', 'after')]);
    expect(outputLines(root, 'task-deep')).toEqual(
      outcome.rejected === 0 ? ['before', 'Read', 'after'] : ['before', 'after'],
    );
    await writer.shutdown();
    expectBalanced(writer.stats());
  });

  it('does not bring back the folder of a task that retention deleted when a late line arrives', async () => {
    const root = await tempLogsDir();
    const telemetry = testTelemetry(root, {}, { index: false });
    await recordSampleTask(telemetry.tasks, { taskId: 'task-gone' });
    await telemetry.forceFlush();
    const result = await pruneTasks({
      root,
      retentionDays: 1,
      now: new Date(Date.now() + 3 * 86_400_000),
    });
    expect(result.deleted.map((d) => d.task_id)).toEqual(['task-gone']);
    // the writer that wrote it, and a fresh one (another process, or the OTLP ingest) alike
    const late = await pushAll(telemetry.writer!, [line('task-gone', 'late line')]);
    expect(late.rejected).toBe(1);
    expect(existsSync(join(root, 'task-gone'))).toBe(false);
    const other = new TaskFileWriter({ root, flushMs: 5, report: () => {} });
    const outcome = await pushAll(other, [line('task-gone', 'late line')]);
    expect(outcome).toMatchObject({ accepted: 0, rejected: 1, error: { code: 'TELEMETRY_DROPPED' } });
    expect(existsSync(join(root, 'task-gone'))).toBe(false);
    expect(other.stats().dropReasons.task_deleted).toBe(1);
    await other.shutdown();
    // the same id started again is a new task, and is written
    await recordSampleTask(telemetry.tasks, { taskId: 'task-gone' });
    await telemetry.forceFlush();
    expect(readTaskFolder(join(root, 'task-gone')).metadata?.status).toBe('completed');
  });

  it('whenQueuedAtMost starts the flush its caller waits for and resolves when it takes the queue, and at shutdown', async () => {
    const root = await tempLogsDir();
    const stalled = stalledFs();
    // the next flush is a minute away
    const writer = new TaskFileWriter({ root, flushMs: 60_000, fs: stalled.fs, report: () => {} });
    for (let i = 0; i < 3; i++) writer.push(line('task-room', `line ${i}`));
    expect(writer.phase).toBe('armed');
    let shallow = false;
    void writer.whenQueuedAtMost(3).then(() => {
      shallow = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(shallow).toBe(true);
    expect(writer.phase).toBe('armed');
    // waiting for an empty queue starts the flush now; it stalls in the file system, and the waiter is answered while
    // it is still being written (a flush a minute away, or an unref'd timer, would leave the caller waiting)
    await writer.whenQueuedAtMost(0);
    expect(writer.phase).toBe('flushing');
    expect(outputLines(root, 'task-room')).toEqual([]);
    // pushed while that flush stalls: only shutdown answers a waiter for less than nothing
    writer.push(line('task-room', 'line 3'));
    let closed = false;
    void writer.whenQueuedAtMost(-1).then(() => {
      closed = true;
    });
    stalled.release();
    await writer.shutdown();
    expect(closed).toBe(true);
    expect(outputLines(root, 'task-room')).toEqual(['line 0', 'line 1', 'line 2', 'line 3']);
    await writer.whenQueuedAtMost(-1); // closed: at once
  });

  it('forceFlush resolves only once the items queued before it are written, when another forceFlush started that flush', async () => {
    // found by the kill -9 torture: the SDK flushes the span and log processors at once, each calling forceFlush
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, flushMs: 5, report: () => {} });
    writer.push(line('task-ff', 'first'));
    const first = writer.forceFlush(); // a flush runs with "first"
    writer.push(line('task-ff', 'second'));
    // both wait for the running flush; the first to resume starts the next one, which takes "second"
    const a = writer.forceFlush();
    const b = writer.forceFlush();
    await b;
    expect(outputLines(root, 'task-ff')).toEqual(['first', 'second']);
    await a;
    expect(outputLines(root, 'task-ff')).toEqual(['first', 'second']);
    await first;
    await writer.shutdown();
  });
});
