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

  // Runs on the caller's stack: no I/O, no throw. The queue keeps a record until its flush (up to the flush window),
  // long enough for V8 to copy it through the young generation and promote it, so it keeps only the four fields the
  // mapping reads (the attributes and body by reference): the SDK's record (sixteen fields and an observed-time
  // array) is then garbage at once. Lifecycles, CPU per task, 6 pairs interleaved: 0.84x (every pair lower).
  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    const a = record.attributes;
    if (a[ATTR.taskId] !== undefined && a[ATTR.outputType] !== undefined)
      this.#writer.push({
        hrTime: record.hrTime,
        attributes: a,
        body: record.body,
        spanContext: record.spanContext,
      });
  }

  forceFlush(): Promise<void> {
    return this.#writer.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#writer.shutdown();
  }
}
