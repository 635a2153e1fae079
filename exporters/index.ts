// The package's "task-logs/exporters" entry point: the processors, exporters and writer that turn OpenTelemetry spans
// and log records into the five files, for a service that sets up its own SDK. Every exported name is listed here.
export type { FileSystem } from './file-system.ts';
export { LimitingLogRecordExporter, LimitingSpanExporter } from './limiting-exporter.ts';
export { RedactingLogRecordExporter, RedactingSpanExporter } from './redacting-exporter.ts';
export { createTaskFileProcessors, type TaskFileProcessors } from './task-file-processors.ts';
export {
  type DropReason,
  TaskFileWriter,
  type TaskFileWriterOptions,
  type WriterStats,
  type WrittenFiles,
} from './task-file-writer.ts';
export { TaskFilesLogExporter } from './task-log-exporter.ts';
export { TaskFilesLogProcessor } from './task-log-processor.ts';
export { TaskFilesSpanExporter } from './task-span-exporter.ts';
export { TaskFilesSpanProcessor } from './task-span-processor.ts';
export type { LogRecordLike, SpanLike } from './telemetry-item.ts';
