// The five-file contract: file names and the shape of each file, exactly as the seed defines them.
import type { TaskStatus } from './task-status.ts';

export const TASK_FILES = {
  metadata: 'metadata.json',
  input: '01-input.json',
  webhookFlow: '02-webhook-flow.jsonl',
  agentOutput: '03-agent-output.jsonl',
  finalResult: '04-final-result.json',
} as const;
export type TaskFileName = (typeof TASK_FILES)[keyof typeof TASK_FILES];

/** Under TASK_LOGS_DIR, the folder of tombstones: an empty file per task id that retention deleted, so a late line
 * for it does not bring its folder back. '~' is not allowed in task ids: no reader takes this folder for a task. */
export const TOMBSTONE_DIR = '.gone~';

export const WEBHOOK_STAGES = [
  'received',
  'validation',
  'command_matching',
  'immediate_response',
  'task_created',
  'queue_push',
] as const;
export type WebhookStage = (typeof WEBHOOK_STAGES)[number];

export const OUTPUT_TYPES = [
  'system',
  'thinking',
  'text',
  'tool_call',
  'tool_result',
  'final',
  'error',
] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

export function isWebhookStage(value: unknown): value is WebhookStage {
  return typeof value === 'string' && (WEBHOOK_STAGES as readonly string[]).includes(value);
}
export function isOutputType(value: unknown): value is OutputType {
  return typeof value === 'string' && (OUTPUT_TYPES as readonly string[]).includes(value);
}

export interface TaskMetadata {
  task_id: string;
  source: string | null;
  provider: string | null;
  created_at: string | null;
  started_at: string | null;
  status: TaskStatus;
  assigned_agent: string | null;
  agent_type: string | null;
  model: string | null;
  // extras, never replacing the seed's fields
  trace_id?: string;
  /** the GenAI provider (gen_ai.provider.name, or the older gen_ai.system) */
  model_provider?: string;
  /** the conversation the task belongs to (a GitHub issue or PR, a Jira issue, a Slack thread), e.g. github:owner/repo#42 */
  conversation_id?: string | null;
  completed_at?: string | null;
  updated_at?: string;
  /** secrets redacted from the task's files, per rule id (added up across updates) */
  redactions?: Record<string, number>;
  /** the process that holds the task: the web process while queued, the worker while running */
  owner?: TaskOwner;
  /** which run of the task this is, when a queue ran it again */
  attempts?: number;
  /** when the task was ended as interrupted (its owner gone, or silent past the limit); a run of its job that starts
   * later takes the task up again, and this goes */
  interrupted_at?: string;
}

/** A process, told apart from a later one with the same pid by its start time (clock ticks after boot, Linux). */
export interface TaskOwner {
  host: string;
  pid: number;
  /** field 22 of /proc/<pid>/stat, or null where there is no /proc */
  start_ticks: number | null;
  started_at: string;
}

export type SourceMetadata = {
  provider?: string;
  event_type?: string;
  webhook_id?: string;
  repo?: string | null;
  issue_number?: number | null;
} & Record<string, unknown>;

export interface TaskInput {
  message: string;
  source_metadata: SourceMetadata;
}

export interface WebhookFlowLine {
  timestamp: string;
  stage: WebhookStage;
  [field: string]: unknown;
}

export interface AgentOutputLine {
  timestamp: string;
  type: OutputType;
  content: string;
  [field: string]: unknown;
}

export interface TaskMetrics {
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  duration_seconds: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export interface FinalResult {
  success: boolean;
  result: string | null;
  error: string | null;
  metrics: TaskMetrics;
  completed_at: string;
  trace_id?: string;
}
