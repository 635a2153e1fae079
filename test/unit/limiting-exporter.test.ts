// The export wrappers cut spans and log records as the SDK's own providers would have with the same limits: the same
// operations go to a provider with the limits and to one without them whose exporter is wrapped, and what the two
// exporters get must match.
import type { Attributes, Link, Tracer } from '@opentelemetry/api';
import type { Logger } from '@opentelemetry/api-logs';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordLimits,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanLimits,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { LimitingLogRecordExporter, LimitingSpanExporter } from '../../exporters/limiting-exporter.ts';

const LONG = 'x'.repeat(40);

function spansThrough(limits: SpanLimits, wrap: boolean, record: (tracer: Tracer) => void): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    ...(wrap ? {} : { spanLimits: limits }),
    spanProcessors: [
      new SimpleSpanProcessor({ exporter: wrap ? new LimitingSpanExporter(exporter, limits) : exporter }),
    ],
  });
  record(provider.getTracer('test'));
  return exporter.getFinishedSpans();
}

// what an OTLP exporter reads of a span
function exported(span: ReadableSpan) {
  return {
    name: span.name,
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map(({ name, attributes, droppedAttributesCount }) => ({
      name,
      attributes,
      droppedAttributesCount: droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map(({ context, attributes, droppedAttributesCount }) => ({
      spanId: context.spanId,
      attributes,
      droppedAttributesCount: droppedAttributesCount ?? 0,
    })),
    droppedLinksCount: span.droppedLinksCount,
    status: span.status,
  };
}

const LINKED = { traceId: 'a'.repeat(32), traceFlags: 1 };
const linkTo = (n: number, attributes: Attributes): Link => ({
  context: { ...LINKED, spanId: n.toString(16).padStart(16, '0') },
  attributes,
});

function busySpan(tracer: Tracer): void {
  const span = tracer.startSpan('busy', {
    attributes: { 'task.id': 'task-1', long: LONG, list: [LONG, 'short', LONG], count: 7, flag: true },
    links: [linkTo(1, { a: LONG, b: 'b', c: 'c' }), linkTo(2, { a: 'a' })],
  });
  span.setAttribute('bytes', new Uint8Array(40));
  span.setAttribute('nested', { inner: LONG, deeper: { list: [LONG] } } as never);
  for (let i = 0; i < 5; i++) span.addEvent(`event ${i}`, { text: `${i} ${LONG}`, n: i, extra: 'e' });
  span.addLink(linkTo(3, { a: LONG, b: 'b' }));
  span.setStatus({ code: 2, message: LONG });
  span.end();
}

// the SDK's cut, except task.id, which the wrappers never cut (cut, it would name another task): whole wherever kept
function wholeTaskId<T extends { attributes: Attributes }>(item: T): T {
  if (item.attributes['task.id'] === undefined) return item;
  return { ...item, attributes: { ...item.attributes, 'task.id': 'task-1' } };
}

describe('LimitingSpanExporter', () => {
  it.each<[string, SpanLimits]>([
    ['value length', { attributeValueLengthLimit: 10 }],
    ['attribute count', { attributeCountLimit: 3 }],
    ['event and link counts', { eventCountLimit: 2, linkCountLimit: 1 }],
    ['no events or links', { eventCountLimit: 0, linkCountLimit: 0 }],
    ['per event and per link counts', { attributePerEventCountLimit: 1, attributePerLinkCountLimit: 2 }],
    [
      'all of them',
      {
        attributeValueLengthLimit: 5,
        attributeCountLimit: 2,
        eventCountLimit: 3,
        linkCountLimit: 2,
        attributePerEventCountLimit: 2,
        attributePerLinkCountLimit: 1,
      },
    ],
    ['a length of 0, which the SDK ignores', { attributeValueLengthLimit: 0 }],
  ])('cuts as the SDK does: %s', (_, limits) => {
    const bySdk = spansThrough(limits, false, busySpan).map(exported).map(wholeTaskId);
    const byWrapper = spansThrough(limits, true, busySpan).map(exported);
    expect(byWrapper).toEqual(bySdk);
  });

  it('passes a span within the limits on as it is, and cuts a view of one over them', () => {
    const [span] = spansThrough({}, false, busySpan);
    const got: ReadableSpan[] = [];
    const capture = { export: (spans: ReadableSpan[]) => got.push(...spans), shutdown: async () => {} };
    new LimitingSpanExporter(capture, { attributeValueLengthLimit: 100 }).export([span!], () => {});
    new LimitingSpanExporter(capture, { attributeValueLengthLimit: 10 }).export([span!], () => {});
    expect(got[0]).toBe(span);
    expect(got[1]).not.toBe(span);
    expect(got[1]!.attributes.long).toBe(LONG.slice(0, 10));
    expect(span!.attributes.long).toBe(LONG); // the span the files' processors saw is untouched
    expect(got[1]!.spanContext()).toEqual(span!.spanContext());
  });
});

function recordsThrough(limits: LogRecordLimits, wrap: boolean, record: (logger: Logger) => void) {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    ...(wrap ? {} : { logRecordLimits: limits }),
    processors: [
      new SimpleLogRecordProcessor({
        exporter: wrap ? new LimitingLogRecordExporter(exporter, limits) : exporter,
      }),
    ],
  });
  record(provider.getLogger('test'));
  return exporter
    .getFinishedLogRecords()
    .map(({ body, attributes, droppedAttributesCount }) => ({ body, attributes, droppedAttributesCount }));
}

function someRecords(logger: Logger): void {
  logger.emit({ body: LONG, attributes: { 'task.id': 'task-1', input: LONG, list: [LONG], n: 1 } });
  logger.emit({ body: 'short', attributes: { a: 'a' } });
}

describe('LimitingLogRecordExporter', () => {
  it.each<[string, LogRecordLimits]>([
    ['value length', { attributeValueLengthLimit: 10 }],
    ['attribute count', { attributeCountLimit: 2 }],
    ['both', { attributeValueLengthLimit: 3, attributeCountLimit: 1 }],
  ])('cuts as the SDK does: %s', (_, limits) => {
    const byWrapper = recordsThrough(limits, true, someRecords);
    expect(byWrapper).toEqual(recordsThrough(limits, false, someRecords).map(wholeTaskId));
    expect(byWrapper[0]!.body).toBe(LONG); // the SDK never cuts a body
  });

  it('never cuts task.id, which would name another task (a task-logs server would write into its folder)', () => {
    const id = 'task-0123456789abcdef';
    const records = recordsThrough({ attributeValueLengthLimit: 9 }, true, (logger) => {
      logger.emit({ body: 'b', attributes: { 'task.id': id, input: LONG } });
      logger.emit({ body: 'b', attributes: { input: LONG, 'task.id': id } });
    });
    for (const record of records)
      expect(record.attributes).toEqual({ 'task.id': id, input: LONG.slice(0, 9) });
    // a count limit may still leave it out, as it leaves out any attribute past the count
    const [counted] = recordsThrough({ attributeCountLimit: 1 }, true, (logger) =>
      logger.emit({ body: 'b', attributes: { input: LONG, 'task.id': id } }),
    );
    expect(counted!.attributes).toEqual({ input: LONG });
  });
});
