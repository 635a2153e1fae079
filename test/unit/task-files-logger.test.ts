// TaskFilesLogger: the logger startTelemetry gives its AgentRuns. An output record goes from the caller into the
// writer's queue as the mapping reads it (no SDK LogRecord in between), and on to the OTLP logger when one is given.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';
import type { Logger, LogRecord } from '@opentelemetry/api-logs';
import { describe, expect, it } from 'vitest';
import { TaskFilesLogger } from '../../exporters/task-files-logger.ts';
import type { LogRecordLike, TelemetryItem } from '../../exporters/telemetry-item.ts';
import { ATTR } from '../../src/contract/attributes.ts';

const run = promisify(execFile);

function logger(also?: Logger) {
  const queued: TelemetryItem[] = [];
  const lines = new TaskFilesLogger({ writer: { push: (item) => void queued.push(item) }, also });
  return { lines, queued: queued as LogRecordLike[] };
}

const SPAN: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

describe('TaskFilesLogger', () => {
  it('queues an output record as it came: its own attributes object, body, time and span context', () => {
    const { lines, queued } = logger();
    const attributes = { [ATTR.taskId]: 'task-a', [ATTR.outputType]: 'text', [ATTR.outputSeq]: 1 };
    const time: [number, number] = [1_790_000_000, 5_000_000];
    lines.emit({
      timestamp: time,
      body: 'hello',
      attributes,
      context: trace.setSpanContext(ROOT_CONTEXT, SPAN),
    });
    expect(queued).toHaveLength(1);
    expect(queued[0]!.attributes).toBe(attributes); // not copied: the SDK's per-line copy is what this saves
    expect(queued[0]).toMatchObject({ hrTime: time, body: 'hello', spanContext: SPAN });
  });

  it('leaves out records that are not output lines and an invalid span context, and never throws', () => {
    const { lines, queued } = logger();
    lines.emit({ body: 'no task', attributes: { [ATTR.outputType]: 'text' } });
    lines.emit({ body: 'no type', attributes: { [ATTR.taskId]: 'task-a' } });
    lines.emit({ body: 'no attributes' });
    expect(queued).toHaveLength(0);
    const invalid = trace.setSpanContext(ROOT_CONTEXT, { ...SPAN, traceId: '0'.repeat(32) });
    const before = Date.now();
    lines.emit({
      timestamp: 'not a time' as unknown as number,
      body: 'line',
      attributes: { [ATTR.taskId]: 'task-a', [ATTR.outputType]: 'text' },
      context: invalid,
    });
    lines.emit({
      timestamp: new Date(1_790_000_000_123),
      attributes: { [ATTR.taskId]: 'task-a', [ATTR.outputType]: 'text' },
    });
    const valid = trace.setSpanContext(ROOT_CONTEXT, SPAN);
    for (const context of [valid, invalid, valid])
      lines.emit({ attributes: { [ATTR.taskId]: 'task-a', [ATTR.outputType]: 'text' }, context });
    expect(queued.slice(2).map((record) => record.spanContext)).toEqual([SPAN, undefined, SPAN]);
    expect(queued[0]!.spanContext).toBeUndefined();
    expect(queued[0]!.hrTime[0]).toBeGreaterThanOrEqual(Math.floor(before / 1000)); // a bad time becomes now
    expect(queued[1]!.hrTime).toEqual([1_790_000_000, 123_000_000]);
  });

  it('hands every record to the OTLP logger too, and ignores records once stopped', () => {
    const exported: LogRecord[] = [];
    const { lines, queued } = logger({ emit: (record) => void exported.push(record), enabled: () => true });
    const record = { body: 'x', attributes: { [ATTR.taskId]: 'task-a', [ATTR.outputType]: 'text' } };
    lines.emit(record);
    lines.emit({ body: 'not a line' });
    expect(queued).toHaveLength(1);
    expect(exported).toEqual([record, { body: 'not a line' }]);
    expect(lines.enabled()).toBe(true);
    lines.stop();
    lines.emit(record);
    expect(lines.enabled()).toBe(false);
    expect([queued.length, exported.length]).toEqual([1, 2]);
  });

  it("queues what AgentRun's calls make in the young generation, even when queued lines survive", async () => {
    // V8 moves an object literal's allocation site to the old generation once most of its objects survive a
    // scavenge, as queued lines do until their flush; each call then wrote into old-space pages on the caller's
    // stack, and a first touch of a page costs ~25 µs on the benchmark VM (caller p99 24 µs with the line's
    // attributes as a literal, 0.7 µs as a class instance). It shows with npm start's young generation, so the lines
    // stream in a child process run with its flag.
    const { stdout } = await run(process.execPath, [
      '--max-semi-space-size=8',
      '--allow-natives-syntax',
      join(import.meta.dirname, '../fixtures/processes/young-output.ts'),
    ]);
    expect(JSON.parse(stdout)).toEqual({ young: 1000, of: 1000 });
  });
});
