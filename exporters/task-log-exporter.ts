// TaskFilesLogExporter: the LogRecordExporter front door (for a batch processor, or records decoded from OTLP).
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { TaskFileWriter } from './task-file-writer.ts';
import type { LogRecordLike } from './telemetry-item.ts';

export class TaskFilesLogExporter implements LogRecordExporter {
  readonly #writer: TaskFileWriter;

  constructor(options: { writer: TaskFileWriter }) {
    this.#writer = options.writer;
  }

  export(
    records: readonly (ReadableLogRecord | LogRecordLike)[],
    done: (result: ExportResult) => void,
  ): void {
    // any item lost (queue full, write failed, invalid) fails the export, as the SDK's contract asks
    this.#writer.pushAll(records, (error) =>
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
