// OtlpIngest answers from the admission: with a real writer (real files) whose flush is held back, a request is
// taken before anything is written, its `written` settles once the files are there, and the ingest keeps to its
// share of the writer's queue (a quarter), letting in a request larger than the share only when nothing else waits.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { ATTR } from '../../src/contract/attributes.ts';
import type { PlainLogRecord } from '../../src/ingest/otlp-decode.ts';
import { OtlpIngest } from '../../src/ingest/otlp-ingest.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

let counter = 0;
function records(taskId: string, n: number): PlainLogRecord[] {
  return Array.from({ length: n }, () => {
    const i = counter++;
    return {
      time: [1_700_000_000, i],
      attributes: { [ATTR.taskId]: taskId, [ATTR.outputType]: 'text' },
      body: `line ${i}`,
      traceId: undefined,
      spanId: undefined,
      key: `l${i}`,
      taskId,
    };
  });
}

const decoded = (logs: PlainLogRecord[], refused: Record<string, number> = {}) => ({
  spans: [],
  logs,
  refused,
});

function lines(root: string, taskId: string): number {
  const path = join(root, taskId, '03-agent-output.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;
}

describe('OtlpIngest', () => {
  it('takes a request before it is written, and settles `written` once the lines are on disk', async () => {
    const root = await tempLogsDir();
    // no timed flush during the test: only forceFlush writes
    const writer = new TaskFileWriter({ root, flushMs: 1000, report: () => undefined });
    const ingest = new OtlpIngest(writer, { maxQueue: 64 });
    let written = false;
    const taken = ingest.take(decoded(records('task-adm', 3), { 'no task.id attribute': 1 }));
    if (taken.kind !== 'taken') throw new Error('expected the request to be taken');
    void taken.written.then(() => {
      written = true;
    });
    expect(taken.rejected).toBe(1);
    expect(taken.message).toBe('items refused: 1 with no task.id attribute');
    expect(lines(root, 'task-adm')).toBe(0);
    await writer.forceFlush();
    await taken.written;
    expect(written).toBe(true);
    expect(lines(root, 'task-adm')).toBe(3);
    await writer.shutdown();
  });

  it('keeps to a quarter of the writer queue, and lets a larger request in alone', async () => {
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, maxQueue: 64, flushMs: 1000, report: () => undefined });
    const ingest = new OtlpIngest(writer, { maxQueue: 64 }); // a share of 16 items
    expect(ingest.take(decoded(records('task-share', 10))).kind).toBe('taken');
    expect(ingest.take(decoded(records('task-share', 10))).kind).toBe('full');
    expect(ingest.take(decoded(records('task-share', 6))).kind).toBe('taken');
    await writer.forceFlush();
    // nothing of the ingest waits: a request over the share fits alone, and then nothing more does
    expect(ingest.take(decoded(records('task-share', 30))).kind).toBe('taken');
    expect(ingest.take(decoded(records('task-share', 1))).kind).toBe('full');
    await writer.forceFlush();
    expect(ingest.take(decoded(records('task-share', 1))).kind).toBe('taken');
    await writer.shutdown();
    expect(lines(root, 'task-share')).toBe(10 + 6 + 30 + 1);
  });
});
