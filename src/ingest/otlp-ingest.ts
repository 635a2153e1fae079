// Decodes OTLP/JSON export requests (the body a Collector's otlphttp exporter sends with `encoding: json`) into the
// span and log record shapes the task writer takes: the second front door to the same mapping as the SDK exporters.
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { LogRecordLike, SpanLike } from '../../exporters/telemetry-item.ts';
import { TaskLogsError } from '../contract/errors.ts';

type Json = Record<string, unknown>;
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: { key: string; value: AnyValue }[] };
  bytesValue?: string;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

export function decodeTraces(body: unknown): SpanLike[] {
  const spans: SpanLike[] = [];
  for (const resource of list(obj(body).resourceSpans, 'resourceSpans')) {
    for (const scope of list(obj(resource).scopeSpans, 'scopeSpans')) {
      for (const raw of list(obj(scope).spans, 'spans')) {
        const span = obj(raw);
        const traceId = id(span.traceId, HEX32, 'traceId');
        const spanId = id(span.spanId, HEX16, 'spanId');
        const status = obj(span.status);
        const code =
          status.code === 2 || status.code === 'STATUS_CODE_ERROR'
            ? 2
            : status.code === 1 || status.code === 'STATUS_CODE_OK'
              ? 1
              : 0;
        spans.push({
          name: typeof span.name === 'string' ? span.name : '',
          attributes: attributes(span.attributes),
          startTime: hrTime(span.startTimeUnixNano, 'startTimeUnixNano'),
          endTime: hrTime(span.endTimeUnixNano, 'endTimeUnixNano'),
          status: typeof status.message === 'string' ? { code, message: status.message } : { code },
          spanContext: () => ({ traceId, spanId, traceFlags: 1 }),
        });
      }
    }
  }
  return spans;
}

export function decodeLogs(body: unknown): LogRecordLike[] {
  const records: LogRecordLike[] = [];
  for (const resource of list(obj(body).resourceLogs, 'resourceLogs')) {
    for (const scope of list(obj(resource).scopeLogs, 'scopeLogs')) {
      for (const raw of list(obj(scope).logRecords, 'logRecords')) {
        const record = obj(raw);
        const time = record.timeUnixNano ?? record.observedTimeUnixNano;
        const traceId =
          typeof record.traceId === 'string' && HEX32.test(record.traceId) ? record.traceId : undefined;
        const spanId =
          typeof record.spanId === 'string' && HEX16.test(record.spanId) ? record.spanId : undefined;
        records.push({
          hrTime: hrTime(time, 'timeUnixNano'),
          attributes: attributes(record.attributes),
          body: record.body === undefined ? undefined : value(record.body as AnyValue),
          spanContext: traceId && spanId ? { traceId, spanId, traceFlags: 1 } : undefined,
        });
      }
    }
  }
  return records;
}

function invalid(message: string): TaskLogsError {
  return new TaskLogsError('REQUEST_INVALID', `not an OTLP/JSON export request: ${message}`);
}

function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown, name: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${name} is not a list`);
  return value;
}

function id(value: unknown, pattern: RegExp, name: string): string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw invalid(`${name} is not lower-case hex of the right length`);
  return value;
}

function hrTime(value: unknown, name: string): HrTime {
  if (typeof value !== 'string' && typeof value !== 'number') throw invalid(`${name} is missing`);
  let nanos: bigint;
  try {
    nanos = BigInt(value);
  } catch {
    throw invalid(`${name} ${JSON.stringify(value).slice(0, 40)} is not a number of nanoseconds`);
  }
  return [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];
}

function attributes(raw: unknown): Attributes {
  const out: Attributes = {};
  for (const entry of list(raw, 'attributes')) {
    const { key, value: v } = obj(entry);
    if (typeof key !== 'string') continue;
    const decoded = value(obj(v) as AnyValue);
    if (decoded !== undefined) out[key] = decoded as AttributeValue;
  }
  return out;
}

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  if (v.kvlistValue !== undefined) {
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, value(kv.value)]));
  }
  if (v.bytesValue !== undefined) return v.bytesValue;
  return undefined;
}
