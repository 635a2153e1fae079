// TaskFilesSpanExporter: the SpanExporter front door (for a BatchSpanProcessor, or spans decoded from OTLP).
// It sees spans only when they end; use TaskFilesSpanProcessor to also get the live "running" status.
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { TaskFileWriter } from './task-file-writer.ts';
import type { SpanLike } from './telemetry-item.ts';

export class TaskFilesSpanExporter implements SpanExporter {
  readonly #writer: TaskFileWriter;

  constructor(options: { writer: TaskFileWriter }) {
    this.#writer = options.writer;
  }

  export(spans: readonly (ReadableSpan | SpanLike)[], done: (result: ExportResult) => void): void {
    // any item lost (queue full, write failed, invalid) fails the export, as the SDK's contract asks
    this.#writer.pushAll(spans, (error) =>
      done(
        error === undefined ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error },
      ),
    );
  }

  forceFlush(): Promise<void> {
    return this.#writer.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#writer.shutdown();
  }
}
