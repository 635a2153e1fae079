// Counts and sums over the task index: tasks per status (the list's badges) and cost, tokens, tasks and failures per
// day, provider, agent or model (the costs page).
import type { DatabaseSync } from 'node:sqlite';
import { TASK_STATUSES } from '../contract/task-status.ts';
import { filterSql, type TaskFilters, whereClause } from './task-filters.ts';

export const AGGREGATE_GROUPS = ['day', 'provider', 'agent', 'model'] as const;
export type AggregateGroup = (typeof AGGREGATE_GROUPS)[number];

export interface TaskAggregate {
  /** the day (YYYY-MM-DD, UTC, of created_at), provider, agent or model; null when the tasks have none */
  key: string | null;
  tasks: number;
  completed: number;
  failed: number;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  duration_seconds: number;
}

// fixed SQL per group: the group name chooses among these, it is never put into the query itself
const GROUP_SQL: Record<AggregateGroup, string> = {
  day: 'substr(created_at, 1, 10)',
  provider: 'provider',
  agent: 'assigned_agent',
  model: 'model',
};

export function countByStatus(
  db: DatabaseSync,
  filters: TaskFilters,
): { counts: Record<string, number>; total: number } {
  const { where, params } = filterSql({ ...filters, status: undefined });
  const rows = db
    .prepare(`SELECT status, count(*) AS n FROM tasks ${whereClause(where)} GROUP BY status`)
    .all(...params) as { status: string | null; n: number }[];
  const counts: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0]));
  let total = 0;
  for (const row of rows) {
    total += row.n;
    if (row.status !== null) counts[row.status] = (counts[row.status] ?? 0) + row.n;
  }
  return { counts, total };
}

export function aggregateTasks(db: DatabaseSync, by: AggregateGroup, filters: TaskFilters): TaskAggregate[] {
  const { where, params } = filterSql(filters);
  const key = GROUP_SQL[by];
  const rows = db
    .prepare(
      `SELECT ${key} AS key, count(*) AS tasks,
        sum(status = 'completed') AS completed, sum(status = 'failed') AS failed,
        total(cost_usd) AS cost_usd, total(input_tokens) AS input_tokens, total(output_tokens) AS output_tokens,
        total(duration_seconds) AS duration_seconds
      FROM tasks ${whereClause(where)} GROUP BY ${key} ORDER BY ${by === 'day' ? 'key ASC' : 'cost_usd DESC, key ASC'}
      LIMIT 1000`,
    )
    .all(...params) as unknown as TaskAggregate[];
  return rows.map((row) => ({
    ...row,
    completed: row.completed ?? 0,
    failed: row.failed ?? 0,
    cost_usd: withoutFloatNoise(row.cost_usd),
    duration_seconds: withoutFloatNoise(row.duration_seconds),
  }));
}

// a sum of decimal amounts carries binary rounding noise (0.0734 + 0.0234 = 0.09680000000000001): 12 significant
// digits keep every real digit of a cost or a duration and drop the noise
function withoutFloatNoise(sum: number): number {
  return Number(sum.toPrecision(12));
}
