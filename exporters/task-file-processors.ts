// createTaskFileProcessors: one writer and the two processors that feed it, for a service's own OpenTelemetry SDK.
import { TaskFileWriter, type TaskFileWriterOptions } from './task-file-writer.ts';
import { TaskFilesLogProcessor } from './task-log-processor.ts';
import { TaskFilesSpanProcessor } from './task-span-processor.ts';

export interface TaskFileProcessors {
  /** add to the SDK's span processors: stages, status and results */
  readonly spanProcessor: TaskFilesSpanProcessor;
  /** add to the SDK's log record processors: the agent's output lines */
  readonly logProcessor: TaskFilesLogProcessor;
  /** the writer both share: `stats()` counts what was written and dropped */
  readonly writer: TaskFileWriter;
}

export function createTaskFileProcessors(options: TaskFileWriterOptions): TaskFileProcessors {
  const writer = new TaskFileWriter(options);
  return {
    spanProcessor: new TaskFilesSpanProcessor({ writer }),
    logProcessor: new TaskFilesLogProcessor({ writer }),
    writer,
  };
}
