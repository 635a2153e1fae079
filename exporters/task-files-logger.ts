// TaskFilesLogger: the Logger startTelemetry gives its own AgentRuns. An output record goes from the caller straight
// into the writer's queue, without the SDK's LogRecord: that object (sixteen fields, a copy of the attributes made
// one by one through the SDK's value checks, a WeakSet per value, two time arrays) was built for every line only to
// be read by TaskFilesLogProcessor and dropped. When OTLP log export is on, the record also goes to the SDK's logger,
// whose provider then holds only the exporters' processors.
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type SpanContext,
  trace,
} from '@opentelemetry/api';
import type { Logger, LogRecord } from '@opentelemetry/api-logs';
import { isTimeInputHrTime, timeInputToHrTime } from '@opentelemetry/core';
import { ATTR } from '../src/contract/attributes.ts';
import type { TaskFileWriter } from './task-file-writer.ts';
import { QueuedLogRecord } from './task-log-processor.ts';

export class TaskFilesLogger implements Logger {
  readonly #writer: Pick<TaskFileWriter, 'push'>;
  readonly #also: Logger | undefined;
  #stopped = false;
  #forwarding = false;

  constructor(options: { writer: Pick<TaskFileWriter, 'push'>; also?: Logger | undefined }) {
    this.#writer = options.writer;
    this.#also = options.also;
  }

  // Runs on the caller's stack: no I/O, no throw. The record's attributes object is queued as it is (the SDK copied
  // it): the writer reads it at its flush, so a caller must not change it after emit, as AgentRun never does.
  emit(record: LogRecord): void {
    if (this.#stopped) return;
    const attributes = record.attributes as Attributes | undefined;
    if (
      attributes !== undefined &&
      attributes[ATTR.taskId] !== undefined &&
      attributes[ATTR.outputType] !== undefined
    )
      this.#writer.push(
        new QueuedLogRecord(
          timeOf(record.timestamp),
          attributes,
          record.body,
          spanContextOf(record.context ?? context.active()),
        ),
      );
    if (this.#also === undefined) return;
    this.#forwarding = true;
    try {
      this.#also.emit(record);
    } finally {
      this.#forwarding = false;
    }
  }

  /**
   * True while this logger hands a record to the OTLP logger: a file processor in that logger's pipeline (for the
   * records of other loggers) leaves it out, since this logger queued it already.
   */
  get forwarding(): boolean {
    return this.#forwarding;
  }

  enabled(): boolean {
    return !this.#stopped;
  }

  /** From now on records are ignored, as the SDK's logger ignores them once its provider begins to shut down. */
  stop(): void {
    this.#stopped = true;
  }
}

// AgentRun gives [seconds, nanoseconds]; a number or a Date is converted as the SDK does, anything else is now
function timeOf(timestamp: LogRecord['timestamp']): QueuedLogRecord['hrTime'] {
  if (isTimeInputHrTime(timestamp)) return timestamp;
  if (typeof timestamp === 'number' || timestamp instanceof Date) return timeInputToHrTime(timestamp);
  return timeInputToHrTime(Date.now());
}

// The span context is checked as the SDK checks it (hex ids, not all zeros), once per span: an agent run's lines all
// carry the same one, and the check walks both ids character by character.
let lastValid: SpanContext | undefined;

function spanContextOf(from: Context): SpanContext | undefined {
  const spanContext = trace.getSpanContext(from);
  if (spanContext === undefined || spanContext === lastValid) return spanContext;
  if (!isSpanContextValid(spanContext)) return undefined;
  lastValid = spanContext;
  return spanContext;
}
