// Task lifecycle states, and the rule that a status never moves backwards.

export const TASK_STATUSES = ['queued', 'running', 'completed', 'failed', 'rejected'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

const RANK: Record<TaskStatus, number> = { queued: 1, running: 2, completed: 3, failed: 3, rejected: 3 };

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

/** The status after `next` is reported on a task that has `current`: later states win, a final state is final. */
export function advanceStatus(
  current: TaskStatus | undefined,
  next: TaskStatus | undefined,
): TaskStatus | undefined {
  if (current === undefined) return next;
  if (next === undefined) return current;
  return RANK[next] > RANK[current] ? next : current;
}

/** 1 queued, 2 running, 3 a final state: a status only moves to a higher rank (advanceStatus). */
export function statusRank(status: TaskStatus): number {
  return RANK[status];
}

export function isFinalStatus(status: TaskStatus | undefined): boolean {
  return status !== undefined && RANK[status] === 3;
}
