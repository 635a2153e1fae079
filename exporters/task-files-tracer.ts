// TaskFilesTracer: the Tracer startTelemetry gives its TaskRecorder when OTLP trace export is off. Its spans are real
// API spans (W3C ids, sampled, parents for other tracers' spans) whose fields the writer's queue takes when they end
// (a QueuedSpan), without the SDK's SpanImpl: that object (two passes of attribute checks at start, events, links,
// limits, resource, scope, four time fields) was built for every stage only for TaskFilesSpanProcessor to read five
// fields of it. What is queued, on start and on end, is decided by the processor's own rules (startsTaskRun, isFileSpan).
import { randomFillSync } from 'node:crypto';
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context as contextApi,
  diag,
  type HrTime,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  type Tracer,
  type TraceState,
  trace,
} from '@opentelemetry/api';
import {
  AddAttributeDecision,
  addHrTimes,
  hrTime,
  isTimeInputHrTime,
  isTracingSuppressed,
  maybeAddAttribute,
  millisToHrTime,
} from '@opentelemetry/core';
import type { TaskFileWriter } from './task-file-writer.ts';
import { isFileSpan, startsTaskRun } from './task-span-processor.ts';
import type { SpanLike } from './telemetry-item.ts';

export interface TaskFilesTracerOptions {
  writer: Pick<TaskFileWriter, 'push'>;
  /** the files' attribute count limit per span (telemetry.ts: 128, or the operator's when higher); no value is cut */
  attributeCountLimit: number;
}

export class TaskFilesTracer implements Tracer {
  readonly writer: Pick<TaskFileWriter, 'push'>;
  readonly limits: { attributeCountLimit: number; attributeValueLengthLimit: number };

  constructor(options: TaskFilesTracerOptions) {
    this.writer = options.writer;
    this.limits = { attributeCountLimit: options.attributeCountLimit, attributeValueLengthLimit: Infinity };
  }

  // As the SDK's Tracer: a root option leaves the parent out, a suppressed context gets a span that records nothing,
  // and the trace (and its trace state) continues from a valid parent, remote or not. Every span is sampled, as
  // telemetry.ts's AlwaysOnSampler decides: the files are the audit trail.
  startSpan(name: string, options: SpanOptions = {}, context: Context = contextApi.active()): Span {
    // (a context without a span, such as a new task's ROOT_CONTEXT, is taken as it is: no new context for nothing)
    const from =
      options.root === true && trace.getSpan(context) !== undefined ? trace.deleteSpan(context) : context;
    if (isTracingSuppressed(from)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parent = trace.getSpan(from)?.spanContext();
    const ids =
      parent !== undefined && (parent instanceof TaskFileSpanContext || isSpanContextValid(parent))
        ? new TaskFileSpanContext(parent.traceId, randomId(8), parent.traceState)
        : new TaskFileSpanContext(randomId(16), randomId(8), undefined);
    const span = new TaskFileSpan(this, name, ids, options.startTime);
    const attributes = options.attributes;
    if (attributes !== undefined && attributes !== null) span.setAttributes(attributes);
    // also after telemetry's shutdown began, as the SDK's processor is called then: the writer writes what comes
    // while it closes (a run finished in the same turn) and counts what comes later as shut_down
    if (startsTaskRun(span.attributes)) this.writer.push({ started: span });
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> | undefined {
    let options: SpanOptions | undefined;
    let parent: Context | undefined;
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof b === 'function') {
      options = a;
      fn = b;
    } else if (typeof c === 'function') {
      options = a;
      parent = b;
      fn = c;
    } else return undefined; // the SDK does nothing without a function either
    const context = parent ?? contextApi.active();
    const span = this.startSpan(name, options, context);
    return contextApi.with(
      trace.setSpan(context, span),
      fn as (span: Span) => ReturnType<F>,
      undefined,
      span,
    );
  }
}

// A span context made here is valid by construction (hex ids, not all zeros), so a child started under it skips the
// SDK's character-by-character check. A class, not an object literal: the queue keeps it until its flush, and V8
// moves a literal's allocation site to the old generation once most of its objects survive a scavenge (df93f32).
class TaskFileSpanContext implements SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags = TraceFlags.SAMPLED;
  readonly traceState: TraceState | undefined;

  constructor(traceId: string, spanId: string, traceState: TraceState | undefined) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceState = traceState;
  }
}

// The attribute set of a span: a class instance for the same reason as TaskFileSpanContext.
class TaskFileAttributes {
  [key: string]: AttributeValue | undefined;
}

const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

/**
 * A span of TaskFilesTracer: an API Span while it runs; once ended, the writer's queue takes a QueuedSpan of it.
 *
 * Events and links are dropped: no field of the five files comes from them (task-changes.ts reads a span's name,
 * attributes, times, status and ids). So `recordException` adds nothing the files could show; a failed stage's line
 * takes its status and error from StageSpan.fail's attributes and setStatus, as on the SDK's spans.
 */
export class TaskFileSpan implements Span, SpanLike {
  name: string;
  readonly attributes: Attributes = new TaskFileAttributes();
  readonly startTime: HrTime;
  endTime: HrTime = NOT_ENDED;
  status: SpanStatus = UNSET;
  readonly #tracer: TaskFilesTracer;
  readonly #context: TaskFileSpanContext;
  // Date.now() and performance.now() at start, as the SDK's span reads them: a default end time is on the same
  // monotonic clock, and a performance timestamp given for the start or the end is converted with the one offset
  // between the two clocks read here (read again at the end, a whole-millisecond Date.now() beside a fractional
  // performance.now() moved the duration by up to a millisecond)
  readonly #wallStart: number;
  readonly #performanceStart: number;
  // the SDK ends a span whose start was given at Date.now()
  readonly #startGiven: boolean;
  #count = 0;
  #ended = false;

  constructor(
    tracer: TaskFilesTracer,
    name: string,
    ids: TaskFileSpanContext,
    startTime: TimeInput | undefined,
  ) {
    this.#tracer = tracer;
    this.name = name;
    this.#context = ids;
    const now = Date.now();
    this.#wallStart = now;
    this.#performanceStart = performance.now();
    this.#startGiven = startTime !== undefined && startTime !== null;
    const given = startTime === undefined || startTime === null ? undefined : this.#givenTime(startTime);
    this.startTime = given ?? millisToHrTime(now);
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  // The SDK's rules (maybeAddAttribute): undefined and an empty key are dropped, a new key over the count limit is
  // dropped, an invalid value is dropped, arrays and maps are copied. A string, number or boolean is valid as it is
  // and needs no copy, so it skips the SDK's check (a WeakSet per value); every other value goes through the SDK's
  // own function.
  setAttribute(key: string, value: AttributeValue): this {
    if (this.#ended) return this;
    const attributes = this.attributes;
    const type = typeof value;
    if (type === 'string' || type === 'number' || type === 'boolean') {
      if (key.length === 0) {
        diag.warn(`Invalid attribute key: ${key}`);
        return this;
      }
      if (Object.hasOwn(attributes, key)) attributes[key] = value;
      else if (this.#count < this.#tracer.limits.attributeCountLimit) {
        attributes[key] = value;
        this.#count++;
      }
      return this;
    }
    const decision = maybeAddAttribute({
      key,
      value,
      attributes,
      limits: this.#tracer.limits,
      currentAttributesCount: this.#count,
    });
    if (decision === AddAttributeDecision.ADD_NEW) this.#count++;
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    // none given (a JavaScript caller's undefined or null): nothing to set, as the SDK's for-in finds nothing
    if (attributes === undefined || attributes === null) return this;
    // own keys in order, as Object.keys gives them, without its array (~7 spans per webhook)
    for (const key in attributes) if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key]);
    return this;
  }

  addEvent(_name: string, _attributesOrStartTime?: SpanAttributes | TimeInput, _startTime?: TimeInput): this {
    return this;
  }

  addLink(_link: Link): this {
    return this;
  }

  addLinks(_links: Link[]): this {
    return this;
  }

  recordException(): void {}

  // As the SDK: UNSET changes nothing, OK is final, an ERROR keeps its message only when it is a string
  setStatus(status: SpanStatus): this {
    if (this.#ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK)
      return this;
    this.status =
      status.code === SpanStatusCode.ERROR && typeof status.message === 'string'
        ? { code: status.code, message: status.message }
        : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.#ended) this.name = name;
    return this;
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  /** Ends the span (a second end is ignored, as the SDK ignores it); a span the files need goes into the queue. */
  end(endTime?: TimeInput): void {
    if (this.#ended) {
      diag.error(
        `${this.name} ${this.#context.traceId}-${this.#context.spanId} - You can only call end() on a span once.`,
      );
      return;
    }
    let end = endTime === undefined || endTime === null ? undefined : this.#givenTime(endTime);
    if (end === undefined) {
      end = this.#startGiven
        ? millisToHrTime(Date.now())
        : addHrTimes(this.startTime, millisToHrTime(performance.now() - this.#performanceStart));
    }
    // an end before the start is the start: a duration is never negative
    const start = this.startTime;
    this.endTime =
      end[0] < start[0] || (end[0] === start[0] && end[1] < start[1]) ? [start[0], start[1]] : end;
    this.#ended = true;
    if (isFileSpan(this.attributes)) this.#tracer.writer.push(new QueuedSpan(this, this.#context));
  }

  // A time given by the caller, converted as the SDK's span converts it: a number not later than performance.now()
  // is a performance timestamp (with the offset between the clocks at the span's start), a larger one epoch
  // milliseconds; a Date; an [seconds, nanoseconds] pair as it is. Anything else: undefined (the SDK then takes now).
  #givenTime(time: TimeInput): HrTime | undefined {
    if (typeof time === 'number') {
      if (time <= performance.now())
        return hrTime(time + (this.#wallStart - (this.#performanceStart + performance.timeOrigin)));
      return millisToHrTime(time);
    }
    if (time instanceof Date) return millisToHrTime(time.getTime());
    if (isTimeInputHrTime(time)) return time;
    return undefined;
  }
}

/**
 * What the writer's queue keeps of an ended span until its flush: the fields the mapping reads, with the times as
 * numbers and the ids as strings, in one object (its attributes are the span's own: nothing is copied, and nothing
 * changes them after the end). At saturation a flush waits for the writer thread to finish the one before, a few
 * hundred milliseconds, so whatever the queue holds is copied through the young generation and promoted, then
 * marked by the next full collection: the span itself (its clocks, its two time arrays, its span context object) is
 * let go by its caller when the request ends and now dies young instead. 6 queued spans of a webhook held 3.5 KB,
 * now 2.05 KB. The times and the span context are made again when the mapping asks for them.
 */
export class QueuedSpan implements SpanLike {
  readonly name: string;
  readonly attributes: Attributes;
  readonly status: SpanStatus;
  readonly #traceId: string;
  readonly #spanId: string;
  readonly #traceState: TraceState | undefined;
  readonly #startSeconds: number;
  readonly #startNanos: number;
  readonly #endSeconds: number;
  readonly #endNanos: number;

  constructor(span: TaskFileSpan, context: SpanContext) {
    this.name = span.name;
    this.attributes = span.attributes;
    this.status = span.status;
    this.#traceId = context.traceId;
    this.#spanId = context.spanId;
    this.#traceState = context.traceState;
    this.#startSeconds = span.startTime[0];
    this.#startNanos = span.startTime[1];
    this.#endSeconds = span.endTime[0];
    this.#endNanos = span.endTime[1];
  }

  get startTime(): HrTime {
    return [this.#startSeconds, this.#startNanos];
  }

  get endTime(): HrTime {
    return [this.#endSeconds, this.#endNanos];
  }

  spanContext(): SpanContext {
    return new TaskFileSpanContext(this.#traceId, this.#spanId, this.#traceState);
  }
}

const NOT_ENDED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;

// Span and trace ids: random bytes taken from a pool filled by the CSPRNG 4 KiB at a time (the SDK calls
// Math.random per 4 bytes), as lowercase hex; an id is never all zeros, as W3C Trace Context requires.
const POOL = Buffer.allocUnsafe(4096);
let taken = POOL.length;

function randomId(bytes: number): string {
  if (taken + bytes > POOL.length) {
    randomFillSync(POOL);
    taken = 0;
  }
  const from = taken;
  taken += bytes;
  let zero = true;
  for (let i = from; i < taken; i++) {
    if (POOL[i] !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) POOL[taken - 1] = 1;
  return POOL.toString('hex', from, taken);
}
