// The shapes of telemetry the task writer accepts: the SDK's ReadableSpan and ReadableLogRecord fit them, and so can
// records decoded from OTLP, which is how one mapping serves both the in-process exporters and an ingest route.
import type { Attributes, HrTime, SpanContext, SpanStatus } from '@opentelemetry/api';

export interface SpanLike {
  readonly name: string;
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly spanContext: () => SpanContext;
}

export interface LogRecordLike {
  readonly hrTime: HrTime;
  readonly attributes: Attributes;
  readonly body?: unknown;
  readonly spanContext?: SpanContext | undefined;
}

/** a span that has just started (only the agent run's start is worth a write: it makes the task "running") */
export interface SpanStarted {
  readonly started: SpanLike;
}

/** what the writer's queue holds: log records and ended spans as they are, span starts wrapped */
export type TelemetryItem = LogRecordLike | SpanLike | SpanStarted;

export function isLogRecord(item: TelemetryItem): item is LogRecordLike {
  return 'hrTime' in item;
}
export function isSpanStarted(item: TelemetryItem): item is SpanStarted {
  return 'started' in item;
}

// Every line carries a timestamp, and formatting a Date per line was the largest single cost of the mapping. Lines
// written within the same second share everything up to the milliseconds, so that prefix is formatted once per second
// (pino keeps its time string the same way). Outside 1970-9999 (where the ISO form changes width) and for values
// that are not times, it falls back to Date, which throws RangeError as before.
const FAST_MIN_MS = 0;
const FAST_MAX_MS = 253_402_300_800_000; // 10000-01-01T00:00:00Z
let cachedSecond = Number.NaN;
let cachedPrefix = '';
// and the whole string of the last millisecond: lines come in bursts within one (each string built anew cost about
// 120 bytes of garbage per line)
let cachedMs = Number.NaN;
let cachedIso = '';

export function msToIso(ms: number): string {
  if (!(ms >= FAST_MIN_MS && ms < FAST_MAX_MS)) return new Date(ms).toISOString();
  const whole = Math.floor(ms);
  if (whole === cachedMs) return cachedIso;
  const second = Math.floor(whole / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20); // 'YYYY-MM-DDTHH:MM:SS.'
    cachedSecond = second;
  }
  const milli = whole - second * 1000;
  cachedIso = `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  cachedMs = whole;
  return cachedIso;
}

export function hrTimeToIso(time: HrTime): string {
  return msToIso(time[0] * 1000 + Math.floor(time[1] / 1e6));
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}
