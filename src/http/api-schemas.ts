// zod schemas for every path and query parameter of the log API, and for its answers: the same schemas validate
// requests and generate the OpenAPI document.
import { z } from 'zod';
import { TaskLogsError } from '../contract/errors.ts';
import { OUTPUT_TYPES, WEBHOOK_STAGES } from '../contract/task-files.ts';
import { tryParseTaskId } from '../contract/task-id.ts';
import { TASK_STATUSES } from '../contract/task-status.ts';
import { AGGREGATE_GROUPS } from '../store/task-aggregates.ts';
import { SORT_FIELDS } from '../store/task-index.ts';

const nullableString = z.string().nullable();

export const TaskIdParams = z.object({
  task_id: z
    .string()
    .refine((raw) => tryParseTaskId(raw) !== undefined, {
      error: 'task_id must be 1-128 characters of [A-Za-z0-9._-], not "." or ".."',
    })
    .meta({ description: 'the task id, a folder name under TASK_LOGS_DIR', example: 'task-abc123' }),
});

// each check stops at its first failure (abort): one reason per parameter, never two that disagree ("at least 0; at
// least 1") or repeat ("expected a line number; ... at most")
const count = (what: string, max: number, min = 0) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .max(max, { error: `expected ${what}, at most ${max}`, abort: true })
    .int({ error: `expected ${what}`, abort: true })
    .min(min, { error: `expected ${what}, at least ${min}` });

export const LinesQuery = z.object({
  format: z.enum(['json', 'jsonl']).optional().meta({
    description:
      'json (default): a JSON array; jsonl: the raw lines (also chosen by Accept: application/x-ndjson)',
  }),
  after: count('a line number', Number.MAX_SAFE_INTEGER)
    .optional()
    .meta({ description: 'return the lines after this line number (1-based); resume with X-Next-After' }),
  limit: count('a number of lines', 1000, 1)
    .optional()
    .meta({ description: 'at most this many lines (1-1000); without it the whole file is streamed' }),
});

export const FollowQuery = z.object({
  after: count('a line number', Number.MAX_SAFE_INTEGER)
    .optional()
    .meta({ description: 'start after this line number (the Last-Event-ID header does the same)' }),
});

const list = <T extends z.ZodType<string>>(item: T, description: string) =>
  z
    .preprocess(
      (raw) =>
        raw === undefined
          ? undefined
          : (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')),
      z.array(item).min(1).max(50),
    )
    .optional()
    .meta({ description: `${description}; several values as a,b or repeated` });

const instant = (description: string) =>
  z
    .union([z.iso.datetime({ offset: true }), z.iso.date()], {
      error: 'expected an ISO 8601 date (2024-01-31) or date-time (2024-01-31T12:00:00Z)',
    })
    .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value).toISOString())
    .optional()
    .meta({ description });

const amount = (description: string) =>
  z.coerce
    .number({ error: 'expected a number' })
    .min(0, { error: 'expected a number, at least 0' })
    .optional()
    .meta({ description });

export const SearchQuery = z.object({
  status: list(z.enum(TASK_STATUSES), 'task status'),
  provider: list(z.string().min(1).max(100), 'provider (github, jira, slack, ...)'),
  source: list(z.string().min(1).max(100), 'source (webhook, ...)'),
  agent: list(z.string().min(1).max(200), 'assigned agent'),
  agent_type: list(z.string().min(1).max(200), 'agent type'),
  model: list(z.string().min(1).max(200), 'model'),
  conversation: list(
    z.string().min(1).max(512),
    'conversation id (metadata.conversation_id), e.g. github:owner/repo#42, jira:PROJ-7, slack:C123/1700000000.000100',
  ),
  success: z
    .stringbool({ error: 'expected true or false' })
    .optional()
    .meta({ description: 'final result success' }),
  created_after: instant('created at or after'),
  created_before: instant('created before'),
  completed_after: instant('completed at or after'),
  completed_before: instant('completed before'),
  min_cost: amount('cost_usd at least'),
  max_cost: amount('cost_usd at most'),
  min_tokens: amount('input + output tokens at least'),
  max_tokens: amount('input + output tokens at most'),
  sort: z.enum(SORT_FIELDS).default('created_at').meta({ description: 'sort field' }),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: count('a number of tasks', 1000, 1).default(100),
  cursor: z.string().max(2000).optional().meta({ description: 'next_cursor of the previous page' }),
});

const PAGING = { sort: true, order: true, limit: true, cursor: true } as const;

export const CountsQuery = SearchQuery.omit(PAGING);

export const AggregateQuery = SearchQuery.omit(PAGING).extend({
  by: z
    .enum(AGGREGATE_GROUPS)
    .default('day')
    .meta({ description: 'group by the day tasks were created (UTC), provider, agent or model' }),
});

export const CountsSchema = z
  .object({ counts: z.record(z.string(), z.number()), total: z.number() })
  .meta({ id: 'TaskCounts' });

export const AggregateSchema = z
  .object({
    by: z.enum(AGGREGATE_GROUPS),
    groups: z.array(
      z.object({
        key: nullableString,
        tasks: z.number(),
        completed: z.number(),
        failed: z.number(),
        cost_usd: z.number(),
        input_tokens: z.number(),
        output_tokens: z.number(),
        duration_seconds: z.number(),
      }),
    ),
  })
  .meta({ id: 'TaskAggregates' });

export const TaskMetadataSchema = z
  .object({
    task_id: z.string(),
    source: nullableString,
    provider: nullableString,
    created_at: nullableString,
    started_at: nullableString,
    status: z.enum(TASK_STATUSES),
    assigned_agent: nullableString,
    agent_type: nullableString,
    model: nullableString,
  })
  .loose()
  .meta({ id: 'TaskMetadata' });

export const TaskInputSchema = z
  .object({
    message: z.string(),
    source_metadata: z
      .object({
        provider: z.string().optional(),
        event_type: z.string().optional(),
        webhook_id: z.string().optional(),
        repo: nullableString.optional(),
        issue_number: z.number().nullable().optional(),
      })
      .loose(),
  })
  .meta({ id: 'TaskInput' });

export const WebhookFlowLineSchema = z
  .object({ timestamp: z.string(), stage: z.enum(WEBHOOK_STAGES) })
  .loose()
  .meta({ id: 'WebhookFlowLine' });

export const AgentOutputLineSchema = z
  .object({ timestamp: z.string(), type: z.enum(OUTPUT_TYPES), content: z.string() })
  .loose()
  .meta({ id: 'AgentOutputLine' });

export const FinalResultSchema = z
  .object({
    success: z.boolean(),
    result: nullableString,
    error: nullableString,
    metrics: z
      .object({
        cost_usd: z.number(),
        input_tokens: z.number(),
        output_tokens: z.number(),
        duration_seconds: z.number(),
        cache_read_input_tokens: z.number().optional(),
        cache_creation_input_tokens: z.number().optional(),
      })
      .loose(),
    completed_at: z.string(),
  })
  .loose()
  .meta({ id: 'FinalResult' });

export const FullTaskSchema = z
  .object({
    task_id: z.string(),
    metadata: TaskMetadataSchema.nullable(),
    input: TaskInputSchema.nullable(),
    webhook_flow: z.array(WebhookFlowLineSchema),
    agent_output: z.array(AgentOutputLineSchema),
    final_result: FinalResultSchema.nullable(),
  })
  .meta({ id: 'FullTask' });

const TaskRowSchema = z
  .object({
    task_id: z.string(),
    status: nullableString,
    source: nullableString,
    provider: nullableString,
    assigned_agent: nullableString,
    agent_type: nullableString,
    model: nullableString,
    created_at: nullableString,
    started_at: nullableString,
    completed_at: nullableString,
    success: z.boolean().nullable(),
    cost_usd: z.number().nullable(),
    input_tokens: z.number().nullable(),
    output_tokens: z.number().nullable(),
    duration_seconds: z.number().nullable(),
    conversation_id: nullableString,
  })
  .meta({ id: 'TaskSummary' });

export const TaskPageSchema = z
  .object({ tasks: z.array(TaskRowSchema), next_cursor: nullableString })
  .meta({ id: 'TaskPage' });

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error' });

export const WebhookAcceptedSchema = z
  .object({ task_id: z.string(), status: z.enum(['queued', 'duplicate']) })
  .meta({ id: 'WebhookAccepted' });

export const HealthSchema = z.object({ status: z.literal('ok') }).loose();

/** Parses request input with a schema, or throws REQUEST_INVALID naming every bad parameter. */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => `${issue.path.join('.') || where}: ${issue.message}`);
  throw new TaskLogsError('REQUEST_INVALID', `invalid ${where}: ${details.join('; ')}`);
}
