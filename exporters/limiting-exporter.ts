// Exporter wrappers that cut spans and log records to the OpenTelemetry attribute limits before they leave the
// process over OTLP. The providers that feed the task files keep whole values (the files are the audit trail), so the
// limits an operator sets for Datadog or Jaeger (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT and the rest) apply here, in the
// batch processor's export, with the SDK's own attribute cleaning: what leaves is what the SDK would have sent, except
// that task.id is never cut (see `limited`).
import type { Attributes, Link } from '@opentelemetry/api';
import { cleanAttributes, cleanSimpleAttributes, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, LogRecordLimits, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanExporter, SpanLimits, TimedEvent } from '@opentelemetry/sdk-trace';
import { ATTR } from '../src/contract/attributes.ts';

// the SDK's defaults for a limit left unset (TracerProvider, LoggerProvider)
const DEFAULT_COUNT = 128;
const DEFAULT_LENGTH = Infinity;

interface AttributeLimits {
  attributeCountLimit: number;
  attributeValueLengthLimit: number;
}

type Clean = typeof cleanAttributes;

export class LimitingSpanExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #limits: Required<SpanLimits>;
  // the SDK's defaults, which the files' provider has too: nothing to cut
  readonly #passThrough: boolean;

  constructor(inner: SpanExporter, limits: SpanLimits) {
    this.#inner = inner;
    this.#limits = {
      attributeCountLimit: limits.attributeCountLimit ?? DEFAULT_COUNT,
      attributeValueLengthLimit: limits.attributeValueLengthLimit ?? DEFAULT_LENGTH,
      eventCountLimit: limits.eventCountLimit ?? DEFAULT_COUNT,
      linkCountLimit: limits.linkCountLimit ?? DEFAULT_COUNT,
      attributePerEventCountLimit: limits.attributePerEventCountLimit ?? DEFAULT_COUNT,
      attributePerLinkCountLimit: limits.attributePerLinkCountLimit ?? DEFAULT_COUNT,
    };
    const { attributeValueLengthLimit, ...counts } = this.#limits;
    this.#passThrough =
      !cuts(attributeValueLengthLimit) && Object.values(counts).every((count) => count >= DEFAULT_COUNT);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(this.#passThrough ? spans : spans.map((span) => limitSpan(this.#limits, span)), done);
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

export class LimitingLogRecordExporter implements LogRecordExporter {
  readonly #inner: LogRecordExporter;
  readonly #limits: AttributeLimits;
  readonly #passThrough: boolean;

  constructor(inner: LogRecordExporter, limits: LogRecordLimits) {
    this.#inner = inner;
    this.#limits = {
      attributeCountLimit: limits.attributeCountLimit ?? DEFAULT_COUNT,
      attributeValueLengthLimit: limits.attributeValueLengthLimit ?? DEFAULT_LENGTH,
    };
    this.#passThrough =
      !cuts(this.#limits.attributeValueLengthLimit) && this.#limits.attributeCountLimit >= DEFAULT_COUNT;
  }

  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.#inner.export(
      this.#passThrough ? records : records.map((record) => limitLogRecord(this.#limits, record)),
      done,
    );
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The span itself when it is within the limits; else a view of it with its attributes, events and links cut. */
function limitSpan(limits: Required<SpanLimits>, span: ReadableSpan): ReadableSpan {
  const length = limits.attributeValueLengthLimit;
  const attributes = limited(cleanAttributes, span.attributes, limits.attributeCountLimit, length);
  // as the SDK does once a span has its limit of events or links: the oldest go
  const keptEvents = lastOf(span.events, limits.eventCountLimit);
  const events = withLimitedAttributes(
    keptEvents,
    cleanSimpleAttributes,
    limits.attributePerEventCountLimit,
    length,
  );
  const keptLinks = lastOf(span.links, limits.linkCountLimit);
  const links = withLimitedAttributes(keptLinks, cleanAttributes, limits.attributePerLinkCountLimit, length);
  if (attributes === undefined && events === span.events && links === span.links) return span;
  // a view over the ended span: everything else (spanContext(), resource, times, status) still comes from the span
  return Object.create(span, {
    attributes: { value: attributes?.attributes ?? span.attributes, enumerable: true },
    droppedAttributesCount: {
      value: span.droppedAttributesCount + (attributes?.dropped ?? 0),
      enumerable: true,
    },
    events: { value: events, enumerable: true },
    droppedEventsCount: {
      value: span.droppedEventsCount + span.events.length - keptEvents.length,
      enumerable: true,
    },
    links: { value: links, enumerable: true },
    droppedLinksCount: {
      value: span.droppedLinksCount + span.links.length - keptLinks.length,
      enumerable: true,
    },
  }) as ReadableSpan;
}

function limitLogRecord(limits: AttributeLimits, record: ReadableLogRecord): ReadableLogRecord {
  const attributes = limited(
    cleanAttributes,
    record.attributes,
    limits.attributeCountLimit,
    limits.attributeValueLengthLimit,
  );
  if (attributes === undefined) return record;
  return Object.create(record, {
    attributes: { value: attributes.attributes, enumerable: true },
    droppedAttributesCount: { value: record.droppedAttributesCount + attributes.dropped, enumerable: true },
  }) as ReadableLogRecord;
}

/** The last `count` items (all of them when there are no more); a count of 0 keeps none. */
function lastOf<T>(items: T[], count: number): T[] {
  return items.length > count ? items.slice(items.length - count) : items;
}

/** The events or links with their attributes cut; the same array when none needed it. */
function withLimitedAttributes<T extends TimedEvent | Link>(
  items: T[],
  clean: Clean,
  count: number,
  length: number,
): T[] {
  let copy: T[] | undefined;
  items.forEach((item, i) => {
    const attributes = item.attributes && limited(clean, item.attributes, count, length);
    if (attributes === undefined) return;
    copy ??= items.slice();
    copy[i] = {
      ...item,
      attributes: attributes.attributes,
      droppedAttributesCount: (item.droppedAttributesCount ?? 0) + attributes.dropped,
    };
  });
  return copy ?? items;
}

/** The attributes cut to the limits by the SDK's cleaning, or undefined when they are within them already. */
function limited(
  clean: Clean,
  attributes: Attributes,
  count: number,
  length: number,
): { attributes: Attributes; dropped: number } | undefined {
  let n = 0;
  let over = false;
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    if (++n > count || (cuts(length) && longer(value, length))) {
      over = true;
      break;
    }
  }
  if (!over) return undefined;
  const cleaned = clean(attributes, { attributeCountLimit: count, attributeValueLengthLimit: length });
  const kept = cleaned.attributes ?? {};
  // task.id is the key a task's telemetry is found by, not a value to shorten: cut, it names another task (in Datadog,
  // and in a task-logs server fed through the Collector, which would write into that task's folder). It leaves whole
  // (at most 128 characters, a valid id) whenever it leaves at all.
  const id = attributes[ATTR.taskId];
  if (typeof id === 'string' && typeof kept[ATTR.taskId] === 'string') kept[ATTR.taskId] = id;
  return { attributes: kept, dropped: cleaned.droppedAttributesCount ?? 0 };
}

// the SDK ignores a length limit of 0 or less (with a warning), as it does Infinity
function cuts(length: number): boolean {
  return length > 0 && length !== Infinity;
}

/** Whether the SDK's value cut changes this value: a string or bytes longer than the limit, at any depth. */
function longer(value: unknown, length: number): boolean {
  if (typeof value === 'string' || value instanceof Uint8Array) return value.length > length;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => longer(item, length));
  return Object.values(value).some((item) => longer(item, length));
}
