// The file writer's options from the settings: where, how durable, how fast, how much memory, and the redactor.
// startTelemetry uses them, and so does a service that adds the task processors to its own OpenTelemetry SDK.
import type { TaskFileWriterOptions } from '../../exporters/task-file-writer.ts';
import type { Config } from '../config.ts';
import { redactorFor } from './redactor-for-config.ts';

export function taskFileWriterOptions(config: Config): TaskFileWriterOptions {
  // secrets are redacted off the caller's stack, in the writer's flush
  const redactor = redactorFor(config);
  return {
    root: config.logsDir,
    ...(redactor ? { redactor } : {}),
    durable: config.durable,
    ...(config.writerThread ? { thread: {} } : {}),
    flushMs: config.flushMs,
    maxQueue: config.maxQueue,
  };
}
