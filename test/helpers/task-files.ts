// Reads a task folder the way an operator's tools would: JSON files parsed whole, JSONL line by line.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AgentOutputLine,
  FinalResult,
  TaskInput,
  TaskMetadata,
  WebhookFlowLine,
} from '../../src/contract/task-files.ts';
import { parseJsonl } from '../../src/store/jsonl-read.ts';

export interface TaskFolder {
  metadata: TaskMetadata | undefined;
  input: TaskInput | undefined;
  webhookFlow: WebhookFlowLine[];
  agentOutput: AgentOutputLine[];
  finalResult: FinalResult | undefined;
}

function json<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}
function jsonl<T>(path: string): T[] {
  return existsSync(path) ? parseJsonl<T>(readFileSync(path, 'utf8')).lines : [];
}

export function readTaskFolder(dir: string): TaskFolder {
  return {
    metadata: json(join(dir, 'metadata.json')),
    input: json(join(dir, '01-input.json')),
    webhookFlow: jsonl(join(dir, '02-webhook-flow.jsonl')),
    agentOutput: jsonl(join(dir, '03-agent-output.jsonl')),
    finalResult: json(join(dir, '04-final-result.json')),
  };
}

const VARYING = new Set(['timestamp', 'duration_ms', 'trace_id', 'span_id', 'owner']);

/** A task folder (or any part of it) with what differs from one run to the next (times, durations, trace and span
 * ids, the owner) set aside, for comparing two recordings of the same task. */
export function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      VARYING.has(key) || key.endsWith('_at') ? '(varies)' : comparable(v),
    ]),
  );
}
