// The package's main entry point ("task-logs"): start the telemetry, record tasks, and the types that go with them.
// Every exported name is listed here; nothing else in src/ is public.
export { type Config, type LoadConfigOptions, loadConfig } from './config.ts';
export { type ErrorCode, TaskLogsError } from './contract/errors.ts';
export type { Redactor } from './contract/redaction/redactor.ts';
export type {
  FinalResult,
  OutputType,
  SourceMetadata,
  TaskInput,
  TaskMetadata,
  TaskMetrics,
  WebhookStage,
} from './contract/task-files.ts';
export type { TaskStatus } from './contract/task-status.ts';
export { type AgentOutcome, AgentRun, type OutputDetails } from './instrumentation/agent-run.ts';
export { type AgentUsage, type AnthropicUsage, usageFromAnthropic } from './instrumentation/agent-usage.ts';
export type { TaskQueueMessage } from './instrumentation/queue-message.ts';
export { redactorFor } from './instrumentation/redactor-for-config.ts';
export { type StageFields, StageSpan } from './instrumentation/stage-span.ts';
export { taskFileWriterOptions } from './instrumentation/task-file-writer-options.ts';
export {
  type StartTaskOptions,
  TaskRecorder,
  type TaskRecorderOptions,
} from './instrumentation/task-recorder.ts';
export { type AgentOptions, TaskTrace } from './instrumentation/task-trace.ts';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './instrumentation/telemetry.ts';
