// TaskFilesTracer: the tracer startTelemetry gives its TaskRecorder when OTLP trace export is off. Its spans must be
// real spans for everything else (ids, parents, attribute rules, times as the SDK's) and reach the writer's queue by
// the same rules as TaskFilesSpanProcessor, once.
import {
  type Attributes,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  AlwaysOnSampler,
  type ReadableSpan,
  StackContextManager,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { QueuedSpan, type TaskFileSpan, TaskFilesTracer } from '../../exporters/task-files-tracer.ts';
import type { TelemetryItem } from '../../exporters/telemetry-item.ts';
import { ATTR, OPERATION } from '../../src/contract/attributes.ts';

function tracer(attributeCountLimit = 128) {
  const queued: TelemetryItem[] = [];
  const ours = new TaskFilesTracer({
    writer: { push: (item) => void queued.push(item) },
    attributeCountLimit,
  });
  return { ours, queued };
}

// what the queue holds of an ended span: its fields as the mapping reads them, the same as the span's own
function expectQueuedAs(item: TelemetryItem | undefined, span: Span): void {
  const ended = span as TaskFileSpan;
  expect(item).toBeInstanceOf(QueuedSpan);
  const queued = item as QueuedSpan;
  expect(queued.name).toBe(ended.name);
  expect(queued.attributes).toBe(ended.attributes);
  expect(queued.startTime).toEqual(ended.startTime);
  expect(queued.endTime).toEqual(ended.endTime);
  expect(queued.status).toEqual(ended.status);
  expect(queued.spanContext()).toEqual(ended.spanContext());
}

function sdkTracer(attributeCountLimit = 128) {
  return new TracerProvider({
    sampler: new AlwaysOnSampler(),
    spanLimits: { attributeCountLimit, attributeValueLengthLimit: Infinity },
  }).getTracer('oracle');
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

// values the SDK keeps, drops or copies: primitives, null, byte arrays, arrays and maps of them; functions,
// symbols, bigints, class instances (a Date), cycles, undefined; an empty key
function hostileAttributes(): Attributes {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  return {
    text: 'a',
    count: 3,
    flag: false,
    nothing: null,
    absent: undefined,
    list: ['a', 'b', null],
    mixed: [1, 'two', true],
    nested: { a: [1, 2], b: { c: 'd' } },
    bytes: new Uint8Array([1, 2, 3]),
    fn: (() => 1) as unknown as string,
    sym: Symbol('s') as unknown as string,
    big: 10n as unknown as number,
    date: new Date(0) as unknown as string,
    cycle: cycle as unknown as string,
    listWithFn: [1, () => 2] as unknown as number[],
    '': 'empty key',
  };
}

describe('TaskFilesTracer', () => {
  it('keeps and drops attribute values exactly as an SDK span does, at start and when set later', () => {
    const { ours } = tracer();
    const sdk = sdkTracer();
    const a = ours.startSpan('stage', { attributes: hostileAttributes() });
    const b = sdk.startSpan('stage', { attributes: hostileAttributes() }) as unknown as ReadableSpan & Span;
    for (const span of [a, b]) {
      span.setAttributes({ ...hostileAttributes(), text: 'b' });
      for (const [key, value] of Object.entries(hostileAttributes())) span.setAttribute(`set.${key}`, value!);
      span.setAttribute('later', undefined as unknown as string);
    }
    expect((a as TaskFileSpan).attributes).toEqual(b.attributes);
    expect(Object.keys((a as TaskFileSpan).attributes).sort()).toEqual(Object.keys(b.attributes).sort());
    expect((a as TaskFileSpan).attributes.text).toBe('b');
  });

  it('copies arrays and maps, so a caller changing its value afterwards changes nothing', () => {
    const { ours } = tracer();
    const list = ['a'];
    const map = { k: ['v'] };
    const span = ours.startSpan('stage', { attributes: { list } }) as TaskFileSpan;
    span.setAttribute('map', map);
    list.push('b');
    map.k.push('w');
    expect(span.attributes).toEqual({ list: ['a'], map: { k: ['v'] } });
  });

  it('holds the count limit as the SDK does: new keys past it are dropped, existing ones still change', () => {
    const { ours } = tracer(3);
    const sdk = sdkTracer(3);
    const start = { a: 1, bad: (() => 1) as unknown as number, b: 2, c: 3, d: 4 };
    const a = ours.startSpan('s', { attributes: start }) as TaskFileSpan;
    const b = sdk.startSpan('s', { attributes: start }) as unknown as ReadableSpan & Span;
    for (const span of [a, b])
      span
        .setAttribute('e', 5)
        .setAttribute('a', 10)
        .setAttributes({ f: [1] });
    expect(a.attributes).toEqual({ a: 10, b: 2, c: 3 });
    expect(a.attributes).toEqual(b.attributes);
  });

  it('makes valid W3C ids, sampled, continuing the parent trace whether the parent is remote or not', () => {
    const { ours } = tracer();
    const root = ours.startSpan('task', {}, ROOT_CONTEXT);
    const ids = root.spanContext();
    expect(ids.traceId).toMatch(HEX32);
    expect(ids.spanId).toMatch(HEX16);
    expect(isSpanContextValid(ids)).toBe(true);
    expect(ids.traceFlags).toBe(TraceFlags.SAMPLED);
    expect(root.spanContext()).toBe(ids); // stable

    const child = ours.startSpan('stage', {}, trace.setSpan(ROOT_CONTEXT, root));
    expect(child.spanContext().traceId).toBe(ids.traceId);
    expect(child.spanContext().spanId).not.toBe(ids.spanId);

    const remote = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    };
    const resumed = ours.startSpan('agent', {}, trace.setSpanContext(ROOT_CONTEXT, remote));
    expect(resumed.spanContext().traceId).toBe(remote.traceId);
    expect(resumed.spanContext().traceFlags).toBe(TraceFlags.SAMPLED); // every task is recorded

    const invalid = trace.setSpanContext(ROOT_CONTEXT, { ...remote, traceId: '0'.repeat(32) });
    expect(ours.startSpan('x', {}, invalid).spanContext().traceId).not.toBe('0'.repeat(32));
    expect(
      ours.startSpan('x', { root: true }, trace.setSpan(ROOT_CONTEXT, root)).spanContext().traceId,
    ).not.toBe(ids.traceId);

    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(ours.startSpan('s', {}, ROOT_CONTEXT).spanContext().spanId);
    expect(seen.size).toBe(2000);
  });

  it('is the parent of another tracer’s span started under it', () => {
    const { ours } = tracer();
    const stage = ours.startSpan('stage', {}, ROOT_CONTEXT);
    const other = sdkTracer().startSpan(
      'GET /repos',
      {},
      trace.setSpan(ROOT_CONTEXT, stage),
    ) as unknown as ReadableSpan;
    expect(other.spanContext().traceId).toBe(stage.spanContext().traceId);
    expect(other.parentSpanContext?.spanId).toBe(stage.spanContext().spanId);
  });

  it('gives a span that records nothing in a suppressed context, as the SDK does', () => {
    const { ours, queued } = tracer();
    const span = ours.startSpan(
      'stage',
      { attributes: { [ATTR.taskId]: 't', [ATTR.stageName]: 'received' } },
      suppressTracing(ROOT_CONTEXT),
    );
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(queued).toHaveLength(0);
  });

  it('queues by the processor’s rules: an agent run at start and end, stages on end, never a tool call or a span without a task', () => {
    const { ours, queued } = tracer();
    const agent = ours.startSpan('invoke_agent brain', {
      attributes: { [ATTR.taskId]: 'task-a', [ATTR.genAiOperationName]: OPERATION.invokeAgent },
    }) as TaskFileSpan;
    expect(queued).toEqual([{ started: agent }]);
    const tool = ours.startSpan('execute_tool Read', {
      attributes: { [ATTR.taskId]: 'task-a', [ATTR.genAiOperationName]: OPERATION.executeTool },
    });
    tool.end();
    ours.startSpan('stage', { attributes: { [ATTR.stageName]: 'received' } }).end(); // no task id
    const stage = ours.startSpan('received', { attributes: { [ATTR.taskId]: 'task-a' } });
    stage.setAttribute(ATTR.stageName, 'received'); // set after the start: read at the end
    stage.end();
    agent.end();
    expect(queued).toHaveLength(3);
    expect(queued[0]).toEqual({ started: agent });
    expectQueuedAs(queued[1], stage);
    expectQueuedAs(queued[2], agent);
  });

  it('ends once: a second end, and every change after the end, is ignored', () => {
    const { ours, queued } = tracer();
    const span = ours.startSpan('received', {
      attributes: { [ATTR.taskId]: 'task-a', [ATTR.stageName]: 'received' },
      startTime: [1_790_000_000, 0],
    }) as TaskFileSpan;
    expect(span.isRecording()).toBe(true);
    span.end([1_790_000_001, 0]);
    expect(span.isRecording()).toBe(false);
    span.end([1_790_000_009, 0]);
    span
      .setAttribute('late', 1)
      .setStatus({ code: SpanStatusCode.ERROR, message: 'late' })
      .updateName('late');
    expect(queued).toHaveLength(1);
    expectQueuedAs(queued[0], span);
    expect(span.endTime).toEqual([1_790_000_001, 0]);
    expect((queued[0] as QueuedSpan).endTime).toEqual([1_790_000_001, 0]);
    expect(span.attributes.late).toBeUndefined();
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(span.name).toBe('received');
  });

  it('sets a status as the SDK does: an error keeps a string message, OK is final, UNSET changes nothing', () => {
    const { ours } = tracer();
    const sdk = sdkTracer();
    const calls = [
      { code: SpanStatusCode.UNSET },
      { code: SpanStatusCode.ERROR, message: 42 as unknown as string },
      { code: SpanStatusCode.ERROR, message: 'bad signature' },
      { code: SpanStatusCode.UNSET },
    ];
    const a = ours.startSpan('s') as TaskFileSpan;
    const b = sdk.startSpan('s') as unknown as ReadableSpan & Span;
    for (const status of calls) {
      a.setStatus(status);
      b.setStatus(status);
      expect(a.status).toEqual(b.status);
    }
    a.setStatus({ code: SpanStatusCode.OK }).setStatus({ code: SpanStatusCode.ERROR, message: 'x' });
    b.setStatus({ code: SpanStatusCode.OK }).setStatus({ code: SpanStatusCode.ERROR, message: 'x' });
    expect(a.status).toEqual(b.status);
  });

  it('takes every time the SDK takes (epoch ms, Date, [s, ns], a performance timestamp) and converts it the same way', () => {
    const { ours } = tracer();
    const sdk = sdkTracer();
    const inputs = [
      1_790_000_000_123.5,
      new Date(1_790_000_000_456),
      [1_790_000_000, 789_000_001] as [number, number],
    ];
    for (const input of inputs) {
      const a = ours.startSpan('s', { startTime: input }) as TaskFileSpan;
      const b = sdk.startSpan('s', { startTime: input }) as unknown as ReadableSpan & Span;
      a.end(input);
      b.end(input);
      expect(a.startTime).toEqual(b.startTime);
      expect(a.endTime).toEqual(b.endTime);
    }
    const perf = performance.now();
    const a = ours.startSpan('s', { startTime: perf }) as TaskFileSpan;
    const b = sdk.startSpan('s', { startTime: perf }) as unknown as ReadableSpan & Span;
    const ms = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6;
    expect(Math.abs(ms(a.startTime) - ms(b.startTime))).toBeLessThan(5);
    // on the wall clock, as the SDK's: timeOrigin + perf can be 10-20 ms away from it on a VM
    expect(Math.abs(ms(a.startTime) - (Date.now() - (performance.now() - perf)))).toBeLessThan(5);
  });

  it('starts now on the SDK’s clock and never ends before it starts', () => {
    const { ours } = tracer();
    const before = Date.now();
    const span = ours.startSpan('s') as TaskFileSpan;
    const ms = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6;
    expect(ms(span.startTime)).toBeGreaterThanOrEqual(before);
    expect(ms(span.startTime)).toBeLessThanOrEqual(Date.now());
    span.end();
    expect(ms(span.endTime)).toBeGreaterThanOrEqual(ms(span.startTime));
    const late = ours.startSpan('s', { startTime: [1_790_000_005, 0] }) as TaskFileSpan;
    late.end([1_790_000_004, 0]); // an end before the start: no negative duration, as the SDK's
    expect(late.endTime).toEqual([1_790_000_005, 0]);
    const given = ours.startSpan('s', { startTime: new Date(Date.now() - 1000) }) as TaskFileSpan;
    given.end(); // a given start: the end is the wall clock's now, as the SDK's
    expect(ms(given.endTime) - ms(given.startTime)).toBeGreaterThanOrEqual(999);
  });

  it('runs startActiveSpan’s function with the span active, in each of its forms', () => {
    const manager = new StackContextManager().enable();
    context.setGlobalContextManager(manager);
    onTestFinished(() => context.disable());
    const { ours } = tracer();
    const parent = ours.startSpan('parent', {}, ROOT_CONTEXT);
    const seen: Span[] = [];
    const result = ours.startActiveSpan('one', (span) => {
      seen.push(span);
      expect(trace.getActiveSpan()).toBe(span);
      span.end();
      return 1;
    });
    ours.startActiveSpan('two', { attributes: { a: 1 } }, (span) => seen.push(span));
    ours.startActiveSpan('three', {}, trace.setSpan(ROOT_CONTEXT, parent), (span) => seen.push(span));
    expect(result).toBe(1);
    expect(seen).toHaveLength(3);
    expect((seen[1] as TaskFileSpan).attributes).toEqual({ a: 1 });
    expect(seen[2]!.spanContext().traceId).toBe(parent.spanContext().traceId);
  });

  it('converts a start and an end given as performance timestamps with one offset, as the SDK does', () => {
    // a wall clock in whole milliseconds beside a monotonic one with fractions: the offset between them moves with
    // each reading, so converting the end with a later reading than the start's changes the duration
    let now = 1000.2;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    vi.spyOn(Date, 'now').mockImplementation(() => Math.floor(performance.timeOrigin + now));
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const { ours } = tracer();
    const a = ours.startSpan('s', { startTime: 900.1 }) as TaskFileSpan;
    const b = sdkTracer().startSpan('s', { startTime: 900.1 }) as unknown as ReadableSpan & Span;
    now += 0.6;
    a.end(1000.7);
    b.end(1000.7);
    expect(a.startTime).toEqual(b.startTime);
    expect(a.endTime).toEqual(b.endTime);
  });

  it('takes setAttributes with no attributes as the SDK does: nothing set, nothing thrown', () => {
    const { ours } = tracer();
    const span = ours.startSpan('s', { attributes: { a: 1 } }) as TaskFileSpan;
    for (const nothing of [undefined, null]) span.setAttributes(nothing as unknown as Attributes);
    expect(span.attributes).toEqual({ a: 1 });
  });
});
