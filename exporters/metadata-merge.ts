// How reported changes combine into metadata.json: status only moves forward, first timestamps stay, known values fill gaps.
import type { TaskMetadata } from '../src/contract/task-files.ts';
import { advanceStatus, isTaskStatus } from '../src/contract/task-status.ts';

export type MetadataPatch = Partial<TaskMetadata>;

// fields where the first value written stays (a later process must not move the task's creation or start)
const FIRST_WINS = new Set(['created_at', 'started_at', 'completed_at', 'trace_id']);

/** Combines a newer patch into an older one (either may be a whole file); pure, so it is safe to apply twice. */
export function mergeMetadata(older: MetadataPatch | undefined, newer: MetadataPatch): MetadataPatch {
  const merged: Record<string, unknown> = { ...older };
  const resumed = resumes(older, newer);
  if (resumed) {
    // the run's own start, end and status replace the interruption's
    for (const key of ['status', 'started_at', 'completed_at', 'interrupted_at']) delete merged[key];
  }
  // own keys in order, as Object.entries gives them, without an array of pairs per merge
  for (const key in newer) {
    if (!Object.hasOwn(newer, key)) continue;
    const value = (newer as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (key === 'status') continue;
    if (FIRST_WINS.has(key) && merged[key] !== undefined && merged[key] !== null) continue;
    if (key === 'redactions') {
      merged[key] = addCounts(merged[key], value);
      continue;
    }
    merged[key] = value;
  }
  const status = resumed
    ? (newer.status as TaskMetadata['status'])
    : advanceStatus(
        isTaskStatus(older?.status) ? older.status : undefined,
        isTaskStatus(newer.status) ? newer.status : undefined,
      );
  if (status !== undefined) merged.status = status;
  return merged as MetadataPatch;
}

/**
 * A task ended as interrupted (its owner looked gone, or it waited past TASK_LOGS_INTERRUPTED_AFTER_MINUTES) whose
 * job then ran after all: a report of a run that started after the interruption takes the task up again, so the
 * run is recorded rather than lost behind a final status. Nothing else moves a final status back.
 */
function resumes(older: MetadataPatch | undefined, newer: MetadataPatch): boolean {
  return (
    older?.status === 'failed' &&
    typeof older.interrupted_at === 'string' &&
    (newer.status === 'running' || newer.status === 'completed' || newer.status === 'failed') &&
    typeof newer.started_at === 'string' &&
    newer.started_at > older.interrupted_at
  );
}

// redactions per rule add up: each patch counts only what its own batch redacted
function addCounts(older: unknown, newer: unknown): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of [older, newer]) {
    if (counts === null || typeof counts !== 'object' || Array.isArray(counts)) continue;
    for (const [rule, n] of Object.entries(counts)) {
      if (typeof n === 'number' && Number.isFinite(n) && n > 0) sum[rule] = (sum[rule] ?? 0) + n;
    }
  }
  return sum;
}

/** The file as written: every seed field present (null when unknown) in the seed's order, extras after. */
export function completeMetadata(taskId: string, patch: MetadataPatch, updatedAt: string): TaskMetadata {
  const {
    task_id: _id,
    source,
    provider,
    created_at,
    started_at,
    status,
    assigned_agent,
    agent_type,
    model,
    ...extras
  } = patch;
  return {
    task_id: taskId,
    source: source ?? null,
    provider: provider ?? null,
    created_at: created_at ?? null,
    started_at: started_at ?? null,
    status: status ?? 'queued',
    assigned_agent: assigned_agent ?? null,
    agent_type: agent_type ?? null,
    model: model ?? null,
    ...extras,
    updated_at: updatedAt,
  };
}
