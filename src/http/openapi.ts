// The OpenAPI 3.1 description of the log API, generated from the same zod schemas that validate requests.
import { z } from 'zod';
import {
  AgentOutputLineSchema,
  AggregateQuery,
  AggregateSchema,
  CountsQuery,
  CountsSchema,
  ErrorSchema,
  FinalResultSchema,
  FollowQuery,
  FullTaskSchema,
  HealthSchema,
  LinesQuery,
  SearchQuery,
  TaskIdParams,
  TaskInputSchema,
  TaskMetadataSchema,
  TaskPageSchema,
  WebhookAcceptedSchema,
  WebhookFlowLineSchema,
} from './api-schemas.ts';

type JsonSchema = Record<string, unknown>;

const schemaOf = (schema: z.ZodType): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

function parameters(where: 'path' | 'query', shape: z.ZodObject): JsonSchema[] {
  return Object.entries(shape.shape).map(([name, field]) => {
    const schema = schemaOf(field as z.ZodType);
    const { description, ...rest } = schema;
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: schemaOf(schema) } },
});

const ERRORS = {
  '400': json(ErrorSchema, 'a bad task id or parameter'),
  '401': json(ErrorSchema, 'missing or wrong bearer token (when TASK_LOGS_API_TOKEN is set)'),
  '404': json(ErrorSchema, 'no such task (or file not written yet)'),
};

let cached: JsonSchema | undefined;

export function openApiDocument(): JsonSchema {
  cached ??= build();
  return cached;
}

function build(): JsonSchema {
  const taskParam = parameters('path', TaskIdParams);
  const jsonFile = (schema: z.ZodType, summary: string) => ({
    get: { summary, parameters: taskParam, responses: { '200': json(schema, summary), ...ERRORS } },
  });
  const lines = (line: z.ZodType, summary: string) => ({
    get: {
      summary,
      parameters: [...taskParam, ...parameters('query', LinesQuery)],
      responses: {
        '200': {
          description: `${summary}; headers X-Next-After and Link (rel=next) when paged`,
          content: {
            'application/json': { schema: schemaOf(z.array(line)) },
            'application/x-ndjson': { schema: { type: 'string', description: 'one JSON document per line' } },
          },
        },
        ...ERRORS,
      },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'task-logs API',
      version: '1',
      description:
        'Every agent task as five JSON/JSONL files: metadata, input, webhook flow, agent output, result.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': {
        get: { summary: 'liveness', security: [], responses: { '200': json(HealthSchema, 'ok') } },
      },
      '/api/tasks': {
        get: {
          summary: 'list and search tasks (newest first by default), cursor-paged',
          parameters: parameters('query', SearchQuery),
          responses: {
            '200': json(TaskPageSchema, 'a page of tasks'),
            '400': ERRORS['400'],
            '401': ERRORS['401'],
          },
        },
      },
      '/api/tasks/counts': {
        get: {
          summary: 'how many tasks match the search filters, per status (the status filter is left out)',
          parameters: parameters('query', CountsQuery),
          responses: {
            '200': json(CountsSchema, 'counts per status'),
            '400': ERRORS['400'],
            '401': ERRORS['401'],
          },
        },
      },
      '/api/tasks/aggregate': {
        get: {
          summary: 'tasks, failures, cost and tokens of the matching tasks per day, provider, agent or model',
          parameters: parameters('query', AggregateQuery),
          responses: {
            '200': json(AggregateSchema, 'one group per key'),
            '400': ERRORS['400'],
            '401': ERRORS['401'],
          },
        },
      },
      '/api/dashboard/settings': {
        get: {
          summary: "what the dashboard needs to know of the server's settings (where Jira issues live)",
          responses: { '200': { description: '{ jira_base_url }' }, '401': ERRORS['401'] },
        },
      },
      '/api/tasks/{task_id}/logs/metadata': jsonFile(TaskMetadataSchema, 'metadata.json'),
      '/api/tasks/{task_id}/logs/input': jsonFile(TaskInputSchema, '01-input.json'),
      '/api/tasks/{task_id}/logs/webhook-flow': lines(WebhookFlowLineSchema, '02-webhook-flow.jsonl'),
      '/api/tasks/{task_id}/logs/agent-output': lines(AgentOutputLineSchema, '03-agent-output.jsonl'),
      '/api/tasks/{task_id}/logs/agent-output/stream': {
        get: {
          summary:
            'follow 03-agent-output.jsonl live (Server-Sent Events; id = line number; event "end" when final)',
          parameters: [
            ...taskParam,
            ...parameters('query', FollowQuery),
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              schema: { type: 'string', pattern: '^\\d+$' },
            },
          ],
          responses: {
            '200': {
              description: 'an event stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...ERRORS,
          },
        },
      },
      '/api/tasks/{task_id}/logs/final-result': jsonFile(FinalResultSchema, '04-final-result.json'),
      ...Object.fromEntries(
        (['traces', 'logs'] as const).map((signal) => [
          `/v1/${signal}`,
          {
            post: {
              summary: `OTLP/HTTP ${signal} ingest (OTLP/JSON, optionally gzip): writes the task files`,
              responses: {
                '200': { description: 'written (partialSuccess says how many could not be)' },
                '400': ERRORS['400'],
                '401': ERRORS['401'],
                '415': json(ErrorSchema, 'not OTLP/JSON (protobuf is not taken)'),
              },
            },
          },
        ]),
      ),
      '/api/webhooks/rejections': {
        get: {
          summary:
            'webhook requests that did not become tasks: counts by provider and reason, and the latest 100',
          responses: { '200': { description: 'counts and a sample' }, '401': ERRORS['401'] },
        },
      },
      ...Object.fromEntries(
        (
          [
            [
              'github',
              'X-Hub-Signature-256 (HMAC-SHA256 with GITHUB_WEBHOOK_SECRET), X-GitHub-Event, X-GitHub-Delivery',
            ],
            [
              'slack',
              'X-Slack-Signature v0 and X-Slack-Request-Timestamp (SLACK_SIGNING_SECRET); JSON events or a form',
            ],
            ['jira', 'X-Hub-Signature (HMAC-SHA256 with JIRA_WEBHOOK_SECRET, when set)'],
          ] as const
        ).map(([provider, auth]) => [
          `/webhooks/${provider}`,
          {
            post: {
              summary: `a ${provider} webhook delivery; signed with ${auth}`,
              security: [],
              responses: {
                '202': json(WebhookAcceptedSchema, 'a task was created and queued'),
                '200': {
                  description:
                    'a duplicate delivery (with its task_id), or ignored (no command, event not handled)',
                },
                '400': ERRORS['400'],
                '401': json(ErrorSchema, 'missing or wrong signature, or a stale timestamp'),
                '413': json(ErrorSchema, 'the body is over WEBHOOK_MAX_BODY_BYTES'),
                '503': json(ErrorSchema, 'the receiver is not configured, or the queue is unavailable'),
              },
            },
          },
        ]),
      ),
      '/api/tasks/{task_id}/logs/full': jsonFile(
        FullTaskSchema,
        'all five files in one document (null: not yet written)',
      ),
    },
  };
}
