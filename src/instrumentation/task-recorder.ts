// TaskRecorder: where services start a task's trace, or pick it up again from a queue message in a worker.
import {
  type Context,
  createNoopLogger,
  type Logger,
  logs,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ATTR, INSTRUMENTATION_SCOPE } from '../contract/attributes.ts';
import type { Redactor } from '../contract/redaction/redactor.ts';
import type { TaskInput } from '../contract/task-files.ts';
import { newTaskId, parseTaskId } from '../contract/task-id.ts';
import { extractTaskContext } from './queue-message.ts';
import { TaskTrace } from './task-trace.ts';

export interface StartTaskOptions {
  /** a safe folder name; made by newTaskId (task-<time><random bits>) when absent. An unsafe id throws TASK_ID_INVALID. */
  taskId?: string;
  /** metadata.source, for example "webhook" */
  source?: string;
  /** metadata.provider, for example "github" */
  provider?: string;
  /**
   * the conversation the task belongs to, for example github:owner/repo#42 (not the agent's session id): written as
   * metadata.conversation_id and set as gen_ai.conversation.id on every span of the task
   */
  conversationId?: string;
  /** 01-input.json; can also be given later with recordInput, before the received stage ends */
  input?: TaskInput;
  /** a parent context, when the task belongs to a larger trace (for example an incoming HTTP request's) */
  parent?: Context;
  /** when the task really began (a webhook that arrived before it was known to be a task); default now */
  startTime?: Date;
}

export interface TaskRecorderOptions {
  tracer?: Tracer;
  logger?: Logger;
  /** false makes every call a cheap no-op (TASK_LOGS_ENABLED=false) */
  enabled?: boolean;
  /** the writer and the OTLP export redact secrets; this one is only for what the instrumentation shortens itself */
  redactor?: Redactor | undefined;
}

export class TaskRecorder {
  readonly #tracer: Tracer;
  readonly #logger: Logger;
  readonly #redactor: Redactor | undefined;

  constructor(options: TaskRecorderOptions = {}) {
    const enabled = options.enabled ?? true;
    // a proxy provider with no delegate hands out a no-op tracer: spans that record nothing
    this.#tracer = enabled
      ? (options.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE))
      : new ProxyTracerProvider().getTracer('off');
    this.#logger = enabled ? (options.logger ?? logs.getLogger(INSTRUMENTATION_SCOPE)) : createNoopLogger();
    this.#redactor = options.redactor;
  }

  /** Starts a task: a new trace whose root span is named "task". */
  start(options: StartTaskOptions = {}): TaskTrace {
    const id = options.taskId === undefined ? newTaskId() : parseTaskId(options.taskId);
    const createdAt = (options.startTime ?? new Date()).toISOString();
    const source = options.source ?? null;
    const provider = options.provider ?? null;
    const conversationId = options.conversationId ?? null;
    const attributes: Record<string, string> = { [ATTR.taskId]: id };
    if (source !== null) attributes[ATTR.taskSource] = source;
    if (provider !== null) attributes[ATTR.taskProvider] = provider;
    if (conversationId !== null) attributes[ATTR.genAiConversationId] = conversationId;
    const root = this.#tracer.startSpan(
      'task',
      {
        kind: SpanKind.INTERNAL,
        attributes,
        root: options.parent === undefined,
        ...(options.startTime ? { startTime: options.startTime } : {}),
      },
      options.parent ?? ROOT_CONTEXT,
    );
    return new TaskTrace({
      fields: { id, source, provider, createdAt, conversationId },
      tracer: this.#tracer,
      logger: this.#logger,
      redactor: this.#redactor,
      root,
      parent: options.parent ?? ROOT_CONTEXT,
      input: options.input,
    });
  }

  /** Picks a task up from a queue message (see TaskTrace.toQueueMessage): same trace, same folder. */
  resume(message: unknown): TaskTrace {
    const { message: m, context } = extractTaskContext(message);
    return new TaskTrace({
      fields: {
        id: m.task_id,
        source: m.source,
        provider: m.provider,
        createdAt: m.created_at,
        conversationId: m.conversation_id ?? null,
      },
      tracer: this.#tracer,
      logger: this.#logger,
      redactor: this.#redactor,
      root: undefined,
      parent: context,
    });
  }
}
