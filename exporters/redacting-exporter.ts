// Exporter wrappers that redact secrets from spans and log records before they leave the process over OTLP. They run
// in the batch processor's export, off the caller's stack; the file writer redacts the same way in its own flush.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanExporter, TimedEvent } from '@opentelemetry/sdk-trace';
import { OpenKeyBlocks } from '../src/contract/redaction/key-blocks.ts';
import type { Redactor } from '../src/contract/redaction/redactor.ts';

export class RedactingSpanExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #redactor: Redactor;

  constructor(inner: SpanExporter, redactor: Redactor) {
    this.#inner = inner;
    this.#redactor = redactor;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(
      spans.map((span) => redactSpan(this.#redactor, span)),
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

export class RedactingLogRecordExporter implements LogRecordExporter {
  readonly #inner: LogRecordExporter;
  readonly #redactor: Redactor;
  // per trace (one task), a private key printed one line per record
  readonly #keyBlocks = new OpenKeyBlocks();

  constructor(inner: LogRecordExporter, redactor: Redactor) {
    this.#inner = inner;
    this.#redactor = redactor;
  }

  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.#inner.export(
      records.map((record) => redactLogRecord(this.#redactor, this.#keyBlocks, record)),
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

/** The span itself when nothing in it is secret; else a view of it with redacted name, attributes, events and status. */
function redactSpan(redactor: Redactor, span: ReadableSpan): ReadableSpan {
  const name = redactor.redact(span.name);
  const attributes = redactAttributes(redactor, span.attributes);
  let events: TimedEvent[] | undefined;
  span.events.forEach((event, i) => {
    const eventAttributes = event.attributes && redactAttributes(redactor, event.attributes);
    if (eventAttributes !== event.attributes) {
      events ??= span.events.slice();
      events[i] = { ...event, ...(eventAttributes ? { attributes: eventAttributes } : {}) };
    }
  });
  const message = span.status.message === undefined ? undefined : redactor.redact(span.status.message);
  if (
    name === span.name &&
    attributes === span.attributes &&
    events === undefined &&
    message === span.status.message
  )
    return span;
  // a view over the ended span: everything else (spanContext(), resource, times) still comes from the span
  return Object.create(span, {
    name: { value: name, enumerable: true },
    attributes: { value: attributes, enumerable: true },
    events: { value: events ?? span.events, enumerable: true },
    status: { value: { ...span.status, ...(message === undefined ? {} : { message }) }, enumerable: true },
  }) as ReadableSpan;
}

function redactLogRecord(
  redactor: Redactor,
  keyBlocks: OpenKeyBlocks,
  record: ReadableLogRecord,
): ReadableLogRecord {
  const traceId = record.spanContext?.traceId;
  const body = redactor.redactValue(
    typeof record.body === 'string' && traceId !== undefined
      ? keyBlocks.apply(traceId, record.body)
      : record.body,
  );
  const attributes = redactAttributes(redactor, record.attributes);
  if (body === record.body && attributes === record.attributes) return record;
  return Object.create(record, {
    body: { value: body, enumerable: true },
    attributes: { value: attributes, enumerable: true },
  }) as ReadableLogRecord;
}

function redactAttributes(redactor: Redactor, attributes: Attributes): Attributes {
  let copy: Attributes | undefined;
  for (const key in attributes) {
    const value = attributes[key];
    const redacted = redactAttributeValue(redactor, value);
    if (redacted !== value) {
      copy ??= { ...attributes };
      copy[key] = redacted;
    }
  }
  return copy ?? attributes;
}

// Attributes that carry JSON as text (a tool's input, stage fields that are objects) are redacted as the values they
// hold, so a rule that reads context sees the value's own text rather than its JSON escaping.
function redactAttributeValue(
  redactor: Redactor,
  value: AttributeValue | undefined,
): AttributeValue | undefined {
  if (typeof value === 'string' && (value.startsWith('{') || value.startsWith('['))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return redactor.redact(value); // not JSON after all
    }
    const redacted = redactor.redactValue(parsed);
    return redacted === parsed ? redactor.redact(value) : JSON.stringify(redacted);
  }
  return redactor.redactValue(value);
}
