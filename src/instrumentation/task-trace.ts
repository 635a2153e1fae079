// TaskTrace: one task as one trace. Stages, the hand-over to a queue, and the agent run all hang under it.
import {
  type Attributes,
  type Context,
  context,
  type Logger,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TimeInput,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ATTR, OPERATION } from '../contract/attributes.ts';
import type { Redactor } from '../contract/redaction/redactor.ts';
import type { TaskInput, WebhookStage } from '../contract/task-files.ts';
import { AgentRun } from './agent-run.ts';
import { ownerAttribute } from './process-owner.ts';
import { injectTaskContext, type TaskQueueMessage } from './queue-message.ts';
import { type StageFields, StageSpan, stageAttributes, stageFieldKey } from './stage-span.ts';

export interface AgentOptions {
  /** gen_ai.agent.name, written as metadata.assigned_agent */
  name: string;
  /** written as metadata.agent_type */
  type?: string;
  /** gen_ai.request.model */
  model?: string;
  /** gen_ai.provider.name; defaults to "anthropic" */
  provider?: string;
  /** which run of the task this is, when a queue runs it again (metadata.attempts) */
  attempt?: number;
}

export interface TaskTraceFields {
  id: string;
  source: string | null;
  provider: string | null;
  createdAt: string;
  /** gen_ai.conversation.id on every span, metadata.conversation_id */
  conversationId: string | null;
}

export class TaskTrace {
  readonly id: string;
  readonly source: string | null;
  readonly provider: string | null;
  readonly conversationId: string | null;
  /** ISO 8601 UTC: when the task was created, carried to the worker */
  readonly createdAt: string;
  readonly #tracer: Tracer;
  readonly #logger: Logger;
  readonly #redactor: Redactor | undefined;
  readonly #parent: Context;
  readonly #root: Span | undefined;
  #input: TaskInput | undefined;
  #inputStage: StageSpan | undefined;

  constructor(options: {
    fields: TaskTraceFields;
    tracer: Tracer;
    logger: Logger;
    redactor?: Redactor | undefined;
    /** the started root span (a new task) or the remote parent taken from a queue message (a resumed one) */
    root: Span | undefined;
    parent: Context;
    input?: TaskInput | undefined;
  }) {
    this.id = options.fields.id;
    this.source = options.fields.source;
    this.provider = options.fields.provider;
    this.conversationId = options.fields.conversationId;
    this.createdAt = options.fields.createdAt;
    this.#tracer = options.tracer;
    this.#logger = options.logger;
    this.#redactor = options.redactor;
    this.#root = options.root;
    this.#parent = options.root === undefined ? options.parent : trace.setSpan(options.parent, options.root);
    this.#input = options.input;
  }

  get traceId(): string {
    return trace.getSpanContext(this.#parent)?.traceId ?? '';
  }

  /** The context the task's spans hang under; pass it to other instrumented calls to join the trace. */
  get context(): Context {
    return this.#parent;
  }

  /** Starts a webhook stage. End it with `end()` or `fail()`; its line is written when it ends. */
  stage(name: WebhookStage, fields?: StageFields, startTime?: TimeInput): StageSpan {
    const attributes = this.#taskAttributes();
    attributes[ATTR.stageName] = name;
    if (name === 'task_created') {
      attributes[ATTR.taskCreatedAt] = this.createdAt;
      attributes[ATTR.taskOwner] = ownerAttribute();
      attributes[stageFieldKey('task_id')] = this.id;
    }
    stageAttributes(fields, attributes);
    const options: SpanOptions = {
      kind: name === 'queue_push' ? SpanKind.PRODUCER : SpanKind.INTERNAL,
      attributes,
    };
    if (startTime !== undefined) options.startTime = startTime;
    const span = this.#tracer.startSpan(name, options, this.#parent);
    const stage = new StageSpan(name, span, this.#stageEndHook(name), fields);
    if (name === 'received') this.#inputStage = stage;
    return stage;
  }

  /**
   * Runs `fn` as a stage: ended when it returns, failed (and rethrown) when it throws. The stage is the active span
   * while `fn` runs, so the spans other instrumentation starts from the active context (a fetch to the provider's
   * API, a queue client) join the task's trace under it.
   */
  runStage<T>(name: WebhookStage, fields: StageFields | undefined, fn: (stage: StageSpan) => T): T {
    const stage = this.stage(name, fields);
    let result: T;
    try {
      result = context.with(trace.setSpan(context.active(), stage.span), fn, undefined, stage);
    } catch (error) {
      stage.fail(error);
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          stage.end();
          return value;
        },
        (error: unknown) => {
          stage.fail(error);
          throw error;
        },
      ) as T;
    }
    stage.end();
    return result;
  }

  /** A stage that has already happened, recorded in one call (with its measured times, if given). */
  recordStage(
    name: WebhookStage,
    fields?: StageFields,
    timing?: { startTime: TimeInput; endTime: TimeInput },
  ): void {
    this.stage(name, fields, timing?.startTime).end(undefined, timing?.endTime);
  }

  /** The task's input (01-input.json). It is written with the `received` stage, so give it before that stage ends. */
  recordInput(input: TaskInput): void {
    this.#input = input;
    const stage = this.#inputStage;
    if (stage !== undefined && !stage.ended) return; // attached when the stage ends
    if (stage === undefined) return; // attached when the received stage ends
    // the received stage has been written already: the input goes in a span of its own
    const span = this.#tracer.startSpan('task.input', { attributes: this.#taskAttributes() }, this.#parent);
    this.#attachInputTo(span);
    span.end();
  }

  /** The task's context for a queue message; a worker gives it to `TaskRecorder.resume`. */
  toQueueMessage(): TaskQueueMessage {
    return injectTaskContext(this.#parent, {
      task_id: this.id,
      source: this.source,
      provider: this.provider,
      created_at: this.createdAt,
      ...(this.conversationId === null ? {} : { conversation_id: this.conversationId }),
    });
  }

  /** Starts the agent run: metadata.json says running within a flush window. */
  startAgent(options: AgentOptions): AgentRun {
    const attributes = this.#taskAttributes();
    attributes[ATTR.taskCreatedAt] = this.createdAt;
    attributes[ATTR.genAiOperationName] = OPERATION.invokeAgent;
    attributes[ATTR.genAiProviderName] = options.provider ?? 'anthropic';
    attributes[ATTR.genAiAgentName] = options.name;
    if (options.type !== undefined) attributes[ATTR.agentType] = options.type;
    if (options.model !== undefined) attributes[ATTR.genAiRequestModel] = options.model;
    if (options.attempt !== undefined) attributes[ATTR.taskAttempt] = options.attempt;
    attributes[ATTR.taskOwner] = ownerAttribute();
    const span = this.#tracer.startSpan(
      `${OPERATION.invokeAgent} ${options.name}`,
      { kind: SpanKind.INTERNAL, attributes },
      this.#parent,
    );
    return new AgentRun({
      redactor: this.#redactor,
      taskId: this.id,
      tracer: this.#tracer,
      logger: this.#logger,
      span,
      conversationId: this.conversationId,
      onFinish: () => this.end(),
    });
  }

  /** Marks a task that will never run (status rejected) and ends its trace here. */
  reject(reason: string): void {
    if (this.#root === undefined || !this.#root.isRecording()) return;
    this.#root.setAttributes({ [ATTR.taskStatus]: 'rejected', [ATTR.taskCreatedAt]: this.createdAt });
    this.#root.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    this.end();
  }

  /** Ends the task's root span in this process (idempotent; the queue_push stage and a finished agent run end it too). */
  end(): void {
    if (this.#root?.isRecording()) this.#root.end();
  }

  #stageEndHook(name: WebhookStage): ((stage: StageSpan) => void) | undefined {
    if (name === 'received') return (stage) => this.#attachInputTo(stage.span);
    // once the task is on the queue the intake is over: the root span ends and the agent run outlives it,
    // as a message consumer outlives its producer
    if (name === 'queue_push') return () => queueMicrotask(() => this.end());
    return undefined;
  }

  #taskAttributes(): Attributes {
    const attributes: Attributes = { [ATTR.taskId]: this.id };
    if (this.source !== null) attributes[ATTR.taskSource] = this.source;
    if (this.provider !== null) attributes[ATTR.taskProvider] = this.provider;
    if (this.conversationId !== null) attributes[ATTR.genAiConversationId] = this.conversationId;
    return attributes;
  }

  #attachInputTo(span: Span): void {
    const input = this.#input;
    if (input === undefined || !span.isRecording()) return;
    span.setAttribute(ATTR.inputMessage, input.message);
    span.setAttribute(ATTR.inputSourceMetadata, JSON.stringify(input.source_metadata ?? {}));
  }
}
