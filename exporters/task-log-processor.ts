// TaskFilesLogProcessor: agent output log records go straight into the writer's queue, written within one flush window.
import type { Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { ATTR } from '../src/contract/attributes.ts';
import type { TaskFileWriter } from './task-file-writer.ts';

export class TaskFilesLogProcessor implements LogRecordProcessor {
  readonly #writer: TaskFileWriter;

  constructor(options: { writer: TaskFileWriter }) {
    this.#writer = options.writer;
  }

  // runs on the caller's stack: no I/O, no throw, the record is read only when its flush runs
  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    const a = record.attributes;
    if (a[ATTR.taskId] !== undefined && a[ATTR.outputType] !== undefined) this.#writer.push(record);
  }

  forceFlush(): Promise<void> {
    return this.#writer.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#writer.shutdown();
  }
}
