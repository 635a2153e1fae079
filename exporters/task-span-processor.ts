// TaskFilesSpanProcessor: the span hooks. onStart makes a task "running" while it runs; onEnd records stages and results.
import type { Attributes, Context, HrTime, SpanContext, SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR, OPERATION } from '../src/contract/attributes.ts';
import type { TaskFileWriter } from './task-file-writer.ts';
import type { SpanLike } from './telemetry-item.ts';

// What the writer's queue takes of a task's spans, for the SDK's spans here and for TaskFilesTracer's: one rule each.

/** A started span worth a write: a task's agent run (it makes the task "running"). */
export function startsTaskRun(a: Attributes): boolean {
  return a[ATTR.taskId] !== undefined && a[ATTR.genAiOperationName] === OPERATION.invokeAgent;
}

/** An ended span the files take: a stage, a task status, the input, or the agent run (not a tool call). */
export function isFileSpan(a: Attributes): boolean {
  return (
    a[ATTR.taskId] !== undefined &&
    (a[ATTR.stageName] !== undefined ||
      a[ATTR.taskStatus] !== undefined ||
      a[ATTR.inputMessage] !== undefined ||
      a[ATTR.genAiOperationName] === OPERATION.invokeAgent)
  );
}

// What the writer's queue keeps of an ended span until its flush: the fields the mapping reads, not the SDK's span
// (its events, links, resource, scope, limits and timings), which then dies young instead of being promoted.
class EndedSpan implements SpanLike {
  readonly name: string;
  readonly attributes: Attributes;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly #context: SpanContext;

  constructor(span: ReadableSpan) {
    this.name = span.name;
    this.attributes = span.attributes;
    this.startTime = span.startTime;
    this.endTime = span.endTime;
    this.status = span.status;
    this.#context = span.spanContext();
  }

  spanContext(): SpanContext {
    return this.#context;
  }
}

export class TaskFilesSpanProcessor implements SpanProcessor {
  readonly #writer: TaskFileWriter;

  constructor(options: { writer: TaskFileWriter }) {
    this.#writer = options.writer;
  }

  // runs on the caller's stack: only a couple of property reads and a push
  onStart(span: Span, _parentContext: Context): void {
    if (startsTaskRun(span.attributes)) this.#writer.push({ started: span });
  }

  onEnd(span: ReadableSpan): void {
    if (isFileSpan(span.attributes)) this.#writer.push(new EndedSpan(span));
  }

  forceFlush(): Promise<void> {
    return this.#writer.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#writer.shutdown();
  }
}
