// TaskFilesSpanProcessor: the span hooks. onStart makes a task "running" while it runs; onEnd records stages and results.
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR, OPERATION } from '../src/contract/attributes.ts';
import type { TaskFileWriter } from './task-file-writer.ts';

export class TaskFilesSpanProcessor implements SpanProcessor {
  readonly #writer: TaskFileWriter;

  constructor(options: { writer: TaskFileWriter }) {
    this.#writer = options.writer;
  }

  // runs on the caller's stack: only a couple of property reads and a push
  onStart(span: Span, _parentContext: Context): void {
    const a = span.attributes;
    if (a[ATTR.taskId] !== undefined && a[ATTR.genAiOperationName] === OPERATION.invokeAgent) {
      this.#writer.push({ started: span });
    }
  }

  onEnd(span: ReadableSpan): void {
    const a = span.attributes;
    if (a[ATTR.taskId] === undefined) return;
    if (
      a[ATTR.stageName] !== undefined ||
      a[ATTR.taskStatus] !== undefined ||
      a[ATTR.inputMessage] !== undefined ||
      a[ATTR.genAiOperationName] === OPERATION.invokeAgent
    ) {
      this.#writer.push(span);
    }
  }

  forceFlush(): Promise<void> {
    return this.#writer.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#writer.shutdown();
  }
}
