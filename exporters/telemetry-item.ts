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

export function hrTimeToIso(time: HrTime): string {
  return new Date(time[0] * 1000 + Math.floor(time[1] / 1e6)).toISOString();
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}
