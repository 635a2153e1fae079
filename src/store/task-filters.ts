// The search filters of the task index as a SQL WHERE clause: shared by search, counts and aggregates.
import type { SQLInputValue } from 'node:sqlite';

export interface TaskFilters {
  status?: string[];
  provider?: string[];
  source?: string[];
  agent?: string[];
  agent_type?: string[];
  model?: string[];
  success?: boolean;
  created_after?: string;
  created_before?: string;
  completed_after?: string;
  completed_before?: string;
  min_cost?: number;
  max_cost?: number;
  min_tokens?: number;
  max_tokens?: number;
  conversation?: string[];
}

/** a task with token counts (its total_tokens is 0 without them): the condition of the index on total_tokens */
export const HAS_TOKENS = '(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)';

/** The conditions (joined with AND by the caller) and their parameters; values are always bound, never inlined. */
export function filterSql(filters: TaskFilters): { where: string[]; params: SQLInputValue[] } {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  const anyOf = (column: string, values: string[] | undefined) => {
    if (values === undefined || values.length === 0) return;
    where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  const compare = (sql: string, value: SQLInputValue | undefined) => {
    if (value === undefined) return;
    where.push(sql);
    params.push(value);
  };
  anyOf('status', filters.status);
  anyOf('provider', filters.provider);
  anyOf('source', filters.source);
  anyOf('assigned_agent', filters.agent);
  anyOf('agent_type', filters.agent_type);
  anyOf('model', filters.model);
  anyOf('conversation_id', filters.conversation);
  compare('success = ?', filters.success === undefined ? undefined : Number(filters.success));
  compare('created_at >= ?', filters.created_after);
  compare('created_at < ?', filters.created_before);
  compare('completed_at >= ?', filters.completed_after);
  compare('completed_at < ?', filters.completed_before);
  compare('cost_usd >= ?', filters.min_cost);
  compare('cost_usd <= ?', filters.max_cost);
  compare('total_tokens >= ?', filters.min_tokens);
  // the same rows (a total of 1 or more needs a token count), said so that the total_tokens index, which holds only
  // the tasks with counts, can answer it
  if (filters.min_tokens !== undefined && filters.min_tokens > 0) where.push(HAS_TOKENS);
  compare('total_tokens <= ?', filters.max_tokens);
  return { where, params };
}

export const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '');
