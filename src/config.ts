// Settings: the only reader of process.env. One zod schema, parsed once at start-up, frozen, passed down.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { LogRecordLimits } from '@opentelemetry/sdk-logs';
import type { SpanLimits } from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { quote, TaskLogsError } from './contract/errors.ts';
import { compileRe2, type ExtraRules } from './contract/redaction/rule-set.ts';

const optionalUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional();
const url = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const secret = z.string().min(8, { error: 'expected a secret of at least 8 characters' });
const flag = (fallback: boolean) => z.stringbool({ error: 'expected true or false' }).default(fallback);
const whole = (min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(min, { error: `expected ${what}, at least ${min}` })
    .max(max, { error: `expected ${what}, at most ${max}` });

// a token a client sends as `Authorization: Bearer <token>`: one word, so it can be sent at all
const bearerToken = z
  .string()
  .min(16, { error: 'expected a token of at least 16 characters' })
  .regex(/^\S+$/, { error: 'expected a token without spaces (it is sent as Authorization: Bearer <token>)' });

// an OpenTelemetry attribute limit: a whole number, or unset (the SDK takes an empty value as unset too)
const exportLimit = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  whole(0, Number.MAX_SAFE_INTEGER, 'a whole number').optional(),
);

// A batch processor's queue, batch size or export timeout: 0 is refused (NodeSDK takes it, and the SDK's processor then
// misbehaves: a batch size of 0, or a queue of 0, which the batch size is cut to, sends empty exports without end,
// hundreds a second, and its flush loops for ever, so forceFlush and shutdown never return; a timeout of 0 fails every
// export at once)
const exportBatchSetting = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  whole(1, Number.MAX_SAFE_INTEGER, 'a whole number').optional(),
);

const Env = z.object({
  TASK_LOGS_ENABLED: flag(true),
  TASK_LOGS_DIR: z.string().min(1, { error: 'expected a folder path' }).default('./data/logs/tasks'),
  TASK_LOGS_RETENTION_DAYS: whole(1, 36_500, 'a whole number of days').default(30),
  TASK_LOGS_DURABLE: flag(false),
  /** task folders written by a worker thread with synchronous file calls, off the event loop */
  TASK_LOGS_WRITER_THREAD: flag(true),
  TASK_LOGS_COMPRESS_AFTER_DAYS: whole(1, 36_500, 'a whole number of days').default(7),
  /** a cap on the logs folder's total size: past it the oldest finished tasks are deleted first */
  TASK_LOGS_MAX_TOTAL_BYTES: z
    .string()
    .regex(/^\d+(\.\d+)?\s*([kKmMgGtT]i?[bB]?)?$/, {
      error: 'expected a size such as 500000000, 500MB or 20G',
    })
    .transform(parseSize)
    .optional(),
  /** how often the server prunes and compresses */
  TASK_LOGS_MAINTENANCE_MINUTES: whole(1, 7 * 24 * 60, 'minutes').default(60),
  TASK_LOGS_OWNER_CHECK_SECONDS: whole(1, 86_400, 'seconds').default(30),
  TASK_LOGS_INTERRUPTED_AFTER_MINUTES: whole(1, 7 * 24 * 60, 'minutes').default(90),
  /** how long output may wait in memory before it is written; the live-read budget is 250 ms p99 */
  TASK_LOGS_FLUSH_MS: whole(1, 1000, 'milliseconds').default(50),
  /** telemetry items held in memory while the disk is slow; past this they are dropped and counted */
  TASK_LOGS_MAX_QUEUE: whole(16, 10_000_000, 'a number of items').default(65_536),
  /** the index that answers GET /api/tasks; a file inside TASK_LOGS_DIR unless set */
  TASK_LOGS_INDEX_PATH: z.string().min(1, { error: 'expected a file path' }).optional(),
  TASK_LOGS_INDEX_REFRESH_SECONDS: whole(1, 86_400, 'seconds').default(30),
  /** secrets in task content become [REDACTED:<rule>] before anything is written or exported */
  TASK_LOGS_REDACTION: flag(true),
  /** an operator's extra redaction rules and allow-list entries (JSON) */
  TASK_LOGS_REDACTION_FILE: z.string().min(1, { error: 'expected a file path' }).optional(),
  /** with it set every /api route needs "Authorization: Bearer <token>"; without it the server listens on loopback */
  TASK_LOGS_API_TOKEN: bearerToken.optional(),
  /** OTLP ingest (/v1/traces, /v1/logs): the largest body after decompression, and requests handled at once */
  TASK_LOGS_OTLP_MAX_BODY_BYTES: whole(1024, 1024 * 1024 * 1024, 'bytes').default(20 * 1024 * 1024),
  TASK_LOGS_OTLP_MAX_REQUESTS: whole(1, 1024, 'a number of requests').default(16),
  /** a second listener that serves only the OTLP ingest (the standard port is 4318), with its own token */
  OTLP_INGEST_PORT: whole(0, 65_535, 'a TCP port').optional(),
  OTLP_INGEST_HOST: z.string().min(1).optional(),
  OTLP_INGEST_TOKEN: bearerToken.optional(),
  /** open connections each listener keeps at once (idle ones too); past it a new connection is closed at once */
  TASK_LOGS_MAX_CONNECTIONS: whole(1, 1_000_000, 'a number of connections').default(1000),
  PORT: whole(0, 65_535, 'a TCP port').default(8000),
  HOST: z.string().min(1).optional(),
  TASK_COMMANDS_FILE: z.string().min(1).optional(),
  WEBHOOK_MAX_BODY_BYTES: whole(1024, 100 * 1024 * 1024, 'bytes').default(25 * 1024 * 1024),
  GITHUB_WEBHOOK_SECRET: secret.optional(),
  GITHUB_API_URL: url.default('https://api.github.com'),
  GITHUB_TOKEN: z.string().min(1).optional(),
  SLACK_SIGNING_SECRET: secret.optional(),
  SLACK_API_URL: url.default('https://slack.com/api'),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  JIRA_WEBHOOK_SECRET: secret.optional(),
  JIRA_BASE_URL: url.optional(),
  JIRA_EMAIL: z.string().min(1).optional(),
  JIRA_API_TOKEN: z.string().min(1).optional(),
  /** with it, tasks go through a Redis queue (BullMQ) to `npm run worker` processes; without, an in-process queue */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
  TASK_QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 of [A-Za-z0-9_-]' })
    .default('agent-tasks'),
  WORKER_CONCURRENCY: whole(1, 64, 'a number of tasks').default(2),
  TASK_QUEUE_STALL_SECONDS: whole(1, 3600, 'seconds').default(30),
  /** the in-process queue's bound: tasks waiting, and the bytes of their prompts; past either, webhooks get 503 */
  TASK_QUEUE_MAX_WAITING: whole(1, 1_000_000, 'a number of tasks').default(1000),
  TASK_QUEUE_MAX_BYTES: z
    .string()
    .regex(/^\d+(\.\d+)?\s*([kKmMgGtT]i?[bB]?)?$/, { error: 'expected a size such as 64000000 or 64MB' })
    .transform(parseSize)
    .default(64 * 1024 * 1024),
  /** how long the digest of a signed webhook body identifies its delivery (a new unsigned id on it is a duplicate) */
  WEBHOOK_DEDUPE_WINDOW_SECONDS: whole(60, 365 * 86_400, 'seconds').default(86_400),
  AGENT_RUNNER: z
    .enum(['claude', 'command', 'replay'], { error: 'expected claude, command or replay' })
    .optional(),
  AGENT_COMMAND: z.string().min(1).optional(),
  AGENT_REPLAY_FILE: z.string().min(1).optional(),
  AGENT_REPLAY_DELAY_MS: whole(0, 10_000, 'milliseconds').default(20),
  AGENT_TIMEOUT_SECONDS: whole(1, 24 * 3600, 'seconds').default(1800),
  AGENT_WORKDIR: z.string().min(1).optional(),
  OTEL_SDK_DISABLED: flag(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional(),
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_LOGS_EXPORTER: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  // read by the OpenTelemetry SDK itself; here only so the credentials they carry are redacted like our own secrets
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_LOGS_HEADERS: z.string().optional(),
  // the attribute limits of the OTLP export (the SDK's own variables); the files are never cut by them
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: exportLimit,
  OTEL_ATTRIBUTE_COUNT_LIMIT: exportLimit,
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: exportLimit,
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: exportLimit,
  OTEL_SPAN_EVENT_COUNT_LIMIT: exportLimit,
  OTEL_SPAN_LINK_COUNT_LIMIT: exportLimit,
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: exportLimit,
  OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT: exportLimit,
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: exportLimit,
  OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT: exportLimit,
  OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: exportLimit,
  OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: exportLimit,
  // the OTLP export's batch processors, read as NodeSDK reads them (startTelemetry makes its own processors)
  OTEL_BSP_SCHEDULE_DELAY: exportLimit,
  OTEL_BSP_EXPORT_TIMEOUT: exportBatchSetting,
  OTEL_BSP_MAX_QUEUE_SIZE: exportBatchSetting,
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: exportBatchSetting,
  OTEL_BLRP_SCHEDULE_DELAY: exportLimit,
  OTEL_BLRP_EXPORT_TIMEOUT: exportBatchSetting,
  OTEL_BLRP_MAX_QUEUE_SIZE: exportBatchSetting,
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: exportBatchSetting,
});

export interface Config {
  readonly enabled: boolean;
  /** absolute path of the folder that holds one folder per task */
  readonly logsDir: string;
  readonly retentionDays: number;
  readonly compressAfterDays: number;
  readonly maxTotalBytes: number | undefined;
  readonly maintenanceMinutes: number;
  /** how often a server or worker looks for queued/running tasks whose owner process is gone */
  readonly ownerCheckSeconds: number;
  /** a queued/running task whose owner cannot be checked (another host) ends after this long without a write */
  readonly interruptedAfterMinutes: number;
  readonly durable: boolean;
  readonly writerThread: boolean;
  readonly flushMs: number;
  readonly maxQueue: number;
  readonly serviceName: string;
  readonly indexPath: string;
  readonly indexRefreshSeconds: number;
  readonly apiToken: string | undefined;
  readonly port: number;
  /** open connections per listener (the API port, the OTLP ingest port); more are closed as they arrive */
  readonly maxConnections: number;
  /** where the server listens: HOST if set, else all interfaces with a token and loopback without one */
  readonly host: string;
  readonly commandsFile: string | undefined;
  readonly webhooks: {
    readonly maxBodyBytes: number;
    readonly dedupeWindowSeconds: number;
    readonly github: { readonly secret?: string; readonly apiUrl: string; readonly token?: string };
    readonly slack: { readonly signingSecret?: string; readonly apiUrl: string; readonly botToken?: string };
    readonly jira: {
      readonly secret?: string;
      readonly baseUrl?: string;
      readonly email?: string;
      readonly apiToken?: string;
    };
  };
  readonly queue: {
    readonly redisUrl?: string;
    readonly name: string;
    readonly concurrency: number;
    /** how soon another worker notices that a worker died mid-job and runs the job again (BullMQ's lock) */
    readonly stallSeconds: number;
    readonly maxWaiting: number;
    readonly maxBytes: number;
  };
  readonly agent: {
    readonly runner: 'claude' | 'command' | 'replay';
    readonly command?: string;
    readonly replayFile?: string;
    readonly replayDelayMs: number;
    readonly timeoutSeconds: number;
    readonly workdir?: string;
  };
  readonly ingest: {
    readonly maxBodyBytes: number;
    readonly maxRequests: number;
    /** the separate ingest listener (OTLP_INGEST_PORT), when there is one */
    readonly listener?: {
      readonly port: number;
      readonly host: string;
      /** OTLP_INGEST_TOKEN, else TASK_LOGS_API_TOKEN, else none (then loopback only) */
      readonly token: string | undefined;
    };
  };
  readonly redaction: {
    readonly enabled: boolean;
    /** the operator's extras from TASK_LOGS_REDACTION_FILE, checked at start-up */
    readonly extra: ExtraRules | undefined;
    /** this server's own secret values, redacted wherever they appear */
    readonly secrets: readonly string[];
  };
  readonly otlp: {
    readonly traces: boolean;
    readonly logs: boolean;
    readonly protocol: 'http/protobuf' | 'http/json';
    /**
     * the OpenTelemetry attribute limits, read as NodeSDK reads them: the OTLP export is cut to them, the files never
     * (a limit left unset is the SDK's default)
     */
    readonly spanLimits: Readonly<SpanLimits>;
    readonly logRecordLimits: Readonly<LogRecordLimits>;
    /** the batch processors' queue, batch size, delay and timeout (OTEL_BSP_*, OTEL_BLRP_*; unset: the SDK's) */
    readonly spanBatch: Readonly<ExportBatch>;
    readonly logBatch: Readonly<ExportBatch>;
  };
}

/** a batch processor's settings (the fields of the SDK's BatchSpanProcessorOptions and its log records' twin) */
export interface ExportBatch {
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** a dotenv file whose values apply where the environment has none; missing is fine */
  envFile?: string | undefined;
}

/** The settings with more secret values to redact (the development webhook secret, made after the settings are read). */
export function withSecrets(config: Config, values: readonly (string | undefined)[]): Config {
  const more = values.filter((v): v is string => v !== undefined && !config.redaction.secrets.includes(v));
  if (more.length === 0) return config;
  return Object.freeze({
    ...config,
    redaction: Object.freeze({
      ...config.redaction,
      secrets: Object.freeze([...config.redaction.secrets, ...more]),
    }),
  });
}

// the password (and a user name other than Redis' "default") in a URL, as written and decoded
function urlCredentials(value: string | undefined): string[] {
  if (value === undefined) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  const raw = [url.password, url.username === 'default' ? '' : url.username].filter((v) => v !== '');
  return raw.flatMap((v) => [v, decoded(v)]);
}

// OTEL_EXPORTER_OTLP_HEADERS is `name=value,name=value` (values percent-encoded): the values of the headers that carry
// credentials (an API key, an Authorization header), not every header (a tenant name is not a secret)
function credentialHeaderValues(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const name = pair.slice(0, at).trim();
    const raw = pair.slice(at + 1).trim();
    if (raw === '' || !/auth|key|token|secret|passw|signature|cookie|credential/i.test(name)) continue;
    const plain = decoded(raw);
    out.push(raw, plain);
    // `Authorization=Bearer <token>`: the credential alone too (it also appears without its scheme)
    const scheme = /^(?:bearer|basic|token|apikey|dd-api-key)\s+(\S+)$/i.exec(plain);
    if (scheme) out.push(scheme[1]!);
  }
  return out;
}

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Reads settings once. Bad values stop start-up with one message naming every bad variable. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const envFile = options.envFile === undefined && options.env === undefined ? '.env' : options.envFile;
  if (envFile !== undefined) applyEnvFile(env, envFile);
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      // the message is printed: no secret in it, nor the password of a URL (REDIS_URL=http://:pass@host)
      const shown = /TOKEN|SECRET|KEY|PASSWORD|HEADERS/.test(name)
        ? '(hidden)'
        : quote(env[name]?.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@'));
      return `  ${name}=${shown}: ${issue.message}`;
    });
    throw new TaskLogsError('CONFIG_INVALID', `invalid settings:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const exporterWanted = (list: string | undefined) =>
    list === undefined || list.split(',').some((name) => name.trim() === 'otlp');
  const logsDir = resolve(e.TASK_LOGS_DIR);
  if (e.OTLP_INGEST_PORT === undefined && (e.OTLP_INGEST_TOKEN ?? e.OTLP_INGEST_HOST) !== undefined) {
    throw new TaskLogsError(
      'CONFIG_INVALID',
      'OTLP_INGEST_TOKEN and OTLP_INGEST_HOST are for the separate ingest listener: set OTLP_INGEST_PORT (4318 is the standard one) or unset them',
    );
  }
  if (e.OTLP_INGEST_PORT !== undefined && e.OTLP_INGEST_PORT !== 0 && e.OTLP_INGEST_PORT === e.PORT) {
    throw new TaskLogsError(
      'CONFIG_INVALID',
      `OTLP_INGEST_PORT=${e.OTLP_INGEST_PORT} is also PORT: the ingest listener needs a port of its own (or unset it)`,
    );
  }
  const ingestToken = e.OTLP_INGEST_TOKEN ?? e.TASK_LOGS_API_TOKEN;
  return Object.freeze({
    enabled: e.TASK_LOGS_ENABLED,
    logsDir,
    indexPath: resolve(e.TASK_LOGS_INDEX_PATH ?? join(logsDir, '.index.sqlite')),
    indexRefreshSeconds: e.TASK_LOGS_INDEX_REFRESH_SECONDS,
    apiToken: e.TASK_LOGS_API_TOKEN,
    port: e.PORT,
    maxConnections: e.TASK_LOGS_MAX_CONNECTIONS,
    host: e.HOST ?? (e.TASK_LOGS_API_TOKEN === undefined ? '127.0.0.1' : '0.0.0.0'),
    commandsFile: e.TASK_COMMANDS_FILE,
    webhooks: deepFreeze({
      maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
      dedupeWindowSeconds: e.WEBHOOK_DEDUPE_WINDOW_SECONDS,
      github: defined({ secret: e.GITHUB_WEBHOOK_SECRET, apiUrl: e.GITHUB_API_URL, token: e.GITHUB_TOKEN }),
      slack: defined({
        signingSecret: e.SLACK_SIGNING_SECRET,
        apiUrl: e.SLACK_API_URL,
        botToken: e.SLACK_BOT_TOKEN,
      }),
      jira: defined({
        secret: e.JIRA_WEBHOOK_SECRET,
        baseUrl: e.JIRA_BASE_URL,
        email: e.JIRA_EMAIL,
        apiToken: e.JIRA_API_TOKEN,
      }),
    }),
    queue: deepFreeze(
      defined({
        redisUrl: e.REDIS_URL,
        name: e.TASK_QUEUE_NAME,
        concurrency: e.WORKER_CONCURRENCY,
        stallSeconds: e.TASK_QUEUE_STALL_SECONDS,
        maxWaiting: e.TASK_QUEUE_MAX_WAITING,
        maxBytes: e.TASK_QUEUE_MAX_BYTES,
      }),
    ),
    agent: deepFreeze(
      defined({
        // the real agent when it is installed, else the bundled replay, so the pipeline runs anywhere
        runner: e.AGENT_RUNNER ?? (onPath('claude', env.PATH) ? 'claude' : 'replay'),
        command: e.AGENT_COMMAND,
        replayFile: e.AGENT_REPLAY_FILE,
        replayDelayMs: e.AGENT_REPLAY_DELAY_MS,
        timeoutSeconds: e.AGENT_TIMEOUT_SECONDS,
        workdir: e.AGENT_WORKDIR,
      }),
    ),
    retentionDays: e.TASK_LOGS_RETENTION_DAYS,
    compressAfterDays: e.TASK_LOGS_COMPRESS_AFTER_DAYS,
    maxTotalBytes: e.TASK_LOGS_MAX_TOTAL_BYTES,
    maintenanceMinutes: e.TASK_LOGS_MAINTENANCE_MINUTES,
    ownerCheckSeconds: e.TASK_LOGS_OWNER_CHECK_SECONDS,
    interruptedAfterMinutes: e.TASK_LOGS_INTERRUPTED_AFTER_MINUTES,
    durable: e.TASK_LOGS_DURABLE,
    writerThread: e.TASK_LOGS_WRITER_THREAD,
    flushMs: e.TASK_LOGS_FLUSH_MS,
    maxQueue: e.TASK_LOGS_MAX_QUEUE,
    serviceName: e.OTEL_SERVICE_NAME ?? 'task-logs',
    ingest: Object.freeze({
      maxBodyBytes: e.TASK_LOGS_OTLP_MAX_BODY_BYTES,
      maxRequests: e.TASK_LOGS_OTLP_MAX_REQUESTS,
      ...(e.OTLP_INGEST_PORT === undefined
        ? {}
        : {
            listener: Object.freeze({
              port: e.OTLP_INGEST_PORT,
              // like HOST: all interfaces when a token guards it, loopback without one
              host: e.OTLP_INGEST_HOST ?? e.HOST ?? (ingestToken === undefined ? '127.0.0.1' : '0.0.0.0'),
              token: ingestToken,
            }),
          }),
    }),
    redaction: deepFreeze({
      enabled: e.TASK_LOGS_REDACTION,
      extra:
        e.TASK_LOGS_REDACTION_FILE === undefined ? undefined : readRedactionFile(e.TASK_LOGS_REDACTION_FILE),
      secrets: [
        e.TASK_LOGS_API_TOKEN,
        e.OTLP_INGEST_TOKEN,
        e.GITHUB_WEBHOOK_SECRET,
        e.GITHUB_TOKEN,
        e.SLACK_SIGNING_SECRET,
        e.SLACK_BOT_TOKEN,
        e.JIRA_WEBHOOK_SECRET,
        e.JIRA_API_TOKEN,
        ...urlCredentials(e.REDIS_URL),
        ...credentialHeaderValues(e.OTEL_EXPORTER_OTLP_HEADERS),
        ...credentialHeaderValues(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
        ...credentialHeaderValues(e.OTEL_EXPORTER_OTLP_LOGS_HEADERS),
      ].filter((v): v is string => v !== undefined),
    }),
    otlp: Object.freeze({
      traces:
        !e.OTEL_SDK_DISABLED &&
        exporterWanted(e.OTEL_TRACES_EXPORTER) &&
        (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) !== undefined,
      logs:
        !e.OTEL_SDK_DISABLED &&
        exporterWanted(e.OTEL_LOGS_EXPORTER) &&
        (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT) !== undefined,
      protocol: e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
      spanLimits: definedOnly({
        attributeValueLengthLimit:
          e.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? e.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        attributeCountLimit: e.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT ?? e.OTEL_ATTRIBUTE_COUNT_LIMIT,
        eventCountLimit: e.OTEL_SPAN_EVENT_COUNT_LIMIT,
        linkCountLimit: e.OTEL_SPAN_LINK_COUNT_LIMIT,
        attributePerEventCountLimit:
          e.OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT ?? e.OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT,
        attributePerLinkCountLimit:
          e.OTEL_LINK_ATTRIBUTE_COUNT_LIMIT ?? e.OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT,
      }),
      logRecordLimits: definedOnly({
        attributeValueLengthLimit:
          e.OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? e.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        attributeCountLimit: e.OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT ?? e.OTEL_ATTRIBUTE_COUNT_LIMIT,
      }),
      spanBatch: definedOnly({
        scheduledDelayMillis: e.OTEL_BSP_SCHEDULE_DELAY,
        exportTimeoutMillis: e.OTEL_BSP_EXPORT_TIMEOUT,
        maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
      }),
      logBatch: definedOnly({
        scheduledDelayMillis: e.OTEL_BLRP_SCHEDULE_DELAY,
        exportTimeoutMillis: e.OTEL_BLRP_EXPORT_TIMEOUT,
        maxQueueSize: e.OTEL_BLRP_MAX_QUEUE_SIZE,
        maxExportBatchSize: e.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
      }),
    }),
  });
}

// the limits that are set, frozen
function definedOnly<T extends object>(limits: T): Readonly<T> {
  return Object.freeze(
    Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined)),
  ) as Readonly<T>;
}

const RedactionFile = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        id: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'expected a rule id of 1-64 of [A-Za-z0-9._-]' }),
        regex: z.string().min(1),
        keywords: z
          .array(
            z
              .string()
              .min(1)
              .regex(/^[\x20-\x7e]+$/, { error: 'expected ASCII' }),
          )
          .optional(),
        secretGroup: z.number().int().min(0).max(99).optional(),
        entropy: z.number().min(0).max(8).optional(),
      }),
    )
    .optional(),
  allow: z.array(z.string().min(1)).optional(),
  stopwords: z.array(z.string().min(1)).optional(),
  disable: z.array(z.string().min(1)).optional(),
});

/** TASK_LOGS_REDACTION_FILE: JSON checked by schema, every regex compiled, so a mistake stops start-up by name. */
function readRedactionFile(path: string): ExtraRules {
  const bad = (why: string, cause?: unknown) =>
    new TaskLogsError('CONFIG_INVALID', `TASK_LOGS_REDACTION_FILE ${quote(path)}: ${why}`, { cause });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw bad(`cannot be read as JSON (${(cause as Error).message})`, cause);
  }
  const parsed = RedactionFile.safeParse(raw);
  if (!parsed.success) throw bad(z.prettifyError(parsed.error));
  const extra = parsed.data as ExtraRules;
  const regexes = [
    ...(extra.rules ?? []).map((r) => [`rule ${quote(r.id)}`, r.regex] as const),
    ...(extra.allow ?? []).map((pattern, i) => [`allow[${i}]`, pattern] as const),
  ];
  for (const [name, pattern] of regexes) {
    try {
      compileRe2(pattern);
    } catch (cause) {
      throw bad(`${name}: regex ${quote(pattern)} does not compile (${(cause as Error).message})`, cause);
    }
  }
  return extra;
}

/** "500MB", "20G", "1.5 GiB", "123" -> bytes (powers of 1024) */
function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)/.exec(text.trim())!;
  const power = ' KMGT'.indexOf((match[2] || ' ').toUpperCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child);
  return Object.freeze(value);
}

function onPath(program: string, path: string | undefined): boolean {
  return (path ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false; // not in this folder
    }
  });
}

// Values from the file go into the environment itself so the OpenTelemetry SDK reads its OTEL_* settings too.
function applyEnvFile(env: NodeJS.ProcessEnv, path: string): void {
  if (!existsSync(path)) return;
  let values: Record<string, string>;
  try {
    values = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (cause) {
    throw new TaskLogsError('CONFIG_INVALID', `cannot read settings file ${JSON.stringify(path)}`, { cause });
  }
  for (const [key, value] of Object.entries(values)) {
    if (env[key] === undefined) env[key] = value;
  }
}
