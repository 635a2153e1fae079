// AgentRun: one agent run as a GenAI `invoke_agent` span, its output streamed as log records, tool calls as
// `execute_tool` child spans, and its end as the task's final result.
import {
  type Attributes,
  type AttributeValue,
  type Context,
  type HrTime,
  type Logger,
  ROOT_CONTEXT,
  SeverityNumber,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ATTR, OPERATION, OUTPUT_EVENT_NAME } from '../contract/attributes.ts';
import { setOwnProperty } from '../contract/own-property.ts';
import type { Redactor } from '../contract/redaction/redactor.ts';
import type { OutputType } from '../contract/task-files.ts';
import type { AgentUsage } from './agent-usage.ts';

/** Structured details of an output line; they ride in extra fields of the line, never in `content`. */
export interface OutputDetails {
  tool_name?: string;
  tool_call_id?: string;
  /** the tool's input, any JSON value */
  input?: unknown;
  is_error?: boolean;
  [field: string]: unknown;
}

export interface AgentOutcome {
  /** defaults to true unless `error` is given */
  success?: boolean;
  result?: string | null;
  error?: string | null;
  usage?: AgentUsage;
  /** the agent's own total (Claude's total_cost_usd), never a recomputed sum */
  costUsd?: number;
  /** the run's duration as the agent measured it; defaults to the span's duration */
  durationSeconds?: number;
  /** the model that actually answered */
  model?: string;
}

interface ToolCallState {
  span: Span;
  context: Context;
  name: string;
}

export class AgentRun {
  readonly taskId: string;
  readonly span: Span;
  readonly #tracer: Tracer;
  readonly #logger: Logger;
  readonly #context: Context;
  readonly #recording: boolean;
  readonly #onFinish: (() => void) | undefined;
  readonly #redactor: Redactor | undefined;
  readonly #conversationId: string | null;
  readonly #tools = new Map<string, ToolCallState>();
  #seq = 0;
  #toolSeq = 0;
  #finished = false;

  constructor(options: {
    taskId: string;
    tracer: Tracer;
    logger: Logger;
    span: Span;
    /** the task's conversation, set on each tool call span too */
    conversationId?: string | null;
    onFinish?: () => void;
    /** redacts what this class shortens itself (a tool call's input, a failed result's first line), so a cut never
     * leaves half a secret that no rule can find any more */
    redactor?: Redactor | undefined;
  }) {
    this.taskId = options.taskId;
    this.#tracer = options.tracer;
    this.#logger = options.logger;
    this.span = options.span;
    this.#recording = options.span.isRecording();
    this.#context = trace.setSpan(ROOT_CONTEXT, options.span);
    this.#onFinish = options.onFinish;
    this.#redactor = options.redactor;
    this.#conversationId = options.conversationId ?? null;
  }

  /** The context to run the agent's own instrumented calls in, so their spans join the task's trace. */
  get context(): Context {
    return this.#context;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** One output event: a line in 03-agent-output.jsonl within a flush window, and a log record over OTLP. */
  output(type: OutputType, content: string, details?: OutputDetails): void {
    if (!this.#recording || this.#finished) return;
    this.#emit(type, content, details, this.#context);
  }

  system(content: string, details?: OutputDetails): void {
    this.output('system', content, details);
  }
  thinking(content: string, details?: OutputDetails): void {
    this.output('thinking', content, details);
  }
  text(content: string, details?: OutputDetails): void {
    this.output('text', content, details);
  }
  final(content: string, details?: OutputDetails): void {
    this.output('final', content, details);
  }
  error(content: string, details?: OutputDetails): void {
    this.output('error', content, details);
  }

  /** A tool call: a `tool_call` line now and an `execute_tool` span that ends with its result. Returns the call id. */
  toolCall(
    call: { name: string; callId?: string; input?: unknown; content?: string },
    details?: OutputDetails,
  ): string {
    const callId = call.callId ?? `call-${++this.#toolSeq}`;
    if (!this.#recording || this.#finished) return callId;
    const span = this.#tracer.startSpan(
      `${OPERATION.executeTool} ${call.name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR.taskId]: this.taskId,
          [ATTR.genAiOperationName]: OPERATION.executeTool,
          [ATTR.genAiToolName]: call.name,
          [ATTR.genAiToolCallId]: callId,
          ...(this.#conversationId === null ? {} : { [ATTR.genAiConversationId]: this.#conversationId }),
        },
      },
      this.#context,
    );
    const context = trace.setSpan(ROOT_CONTEXT, span);
    this.#tools.get(callId)?.span.end(); // a repeated id: the earlier call can no longer get its result
    this.#tools.set(callId, { span, context, name: call.name });
    this.#emit(
      'tool_call',
      call.content ?? describeCall(call.name, this.#redactor?.redactValue(call.input) ?? call.input),
      {
        ...details,
        tool_name: call.name,
        tool_call_id: callId,
        ...(call.input === undefined ? {} : { input: call.input }),
      },
      context,
    );
    return callId;
  }

  /** The result of an earlier tool call: a `tool_result` line, and the end of its span. */
  toolResult(callId: string, content: string, options: { isError?: boolean } & OutputDetails = {}): void {
    if (!this.#recording || this.#finished) return;
    const { isError, ...details } = options;
    const call = this.#tools.get(callId);
    const failed = isError === true || details.is_error === true;
    this.#emit(
      'tool_result',
      content,
      { ...details, tool_call_id: callId, is_error: failed, ...(call ? { tool_name: call.name } : {}) },
      call?.context,
    );
    if (call === undefined) return;
    this.#tools.delete(callId);
    if (failed)
      call.span.setStatus({
        code: SpanStatusCode.ERROR,
        message: firstLine(this.#redactor?.redact(content) ?? content),
      });
    call.span.end();
  }

  /** Records the model that actually answered (for example from the agent's start-up message). */
  setModel(model: string): void {
    if (!this.#finished) this.span.setAttribute(ATTR.genAiResponseModel, model);
  }

  /** Ends the run: 04-final-result.json is written and metadata.json says completed or failed. Idempotent. */
  finish(outcome: AgentOutcome = {}): void {
    if (this.#finished) return;
    const success = outcome.success ?? (outcome.error === undefined || outcome.error === null);
    const attributes: Attributes = { [ATTR.resultSuccess]: success };
    if (outcome.result != null) attributes[ATTR.resultText] = outcome.result;
    if (outcome.error != null) attributes[ATTR.resultError] = outcome.error;
    if (outcome.costUsd !== undefined) attributes[ATTR.costUsd] = outcome.costUsd;
    if (outcome.durationSeconds !== undefined) attributes[ATTR.durationSeconds] = outcome.durationSeconds;
    if (outcome.model !== undefined) attributes[ATTR.genAiResponseModel] = outcome.model;
    const usage = outcome.usage;
    if (usage !== undefined) {
      attributes[ATTR.genAiUsageInputTokens] = usage.inputTokens;
      attributes[ATTR.genAiUsageOutputTokens] = usage.outputTokens;
      if (usage.cacheReadInputTokens !== undefined) {
        attributes[ATTR.genAiUsageCacheReadInputTokens] = usage.cacheReadInputTokens;
      }
      if (usage.cacheCreationInputTokens !== undefined) {
        attributes[ATTR.genAiUsageCacheCreationInputTokens] = usage.cacheCreationInputTokens;
      }
    }
    for (const [, call] of this.#tools) {
      call.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the run ended before the tool returned' });
      call.span.end();
    }
    this.#tools.clear();
    this.span.setAttributes(attributes);
    if (!success) {
      attributes[ATTR.errorType] = 'agent_error';
      this.span.setAttribute(ATTR.errorType, 'agent_error');
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? 'failed' });
    }
    this.#finished = true;
    this.span.end();
    this.#onFinish?.();
  }

  /** Ends the run as failed with the error recorded (a crash, a timeout). */
  fail(error: unknown, outcome: Omit<AgentOutcome, 'success' | 'error'> = {}): void {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && !this.#finished) this.span.recordException(error);
    this.finish({ ...outcome, success: false, error: message });
  }

  #emit(
    type: OutputType,
    content: string,
    details: OutputDetails | undefined,
    context = this.#context,
  ): void {
    const attributes: Attributes = new OutputAttributes(this.taskId, type, ++this.#seq);
    if (details !== undefined) addDetails(attributes, details);
    const time = nowHrTime();
    this.#logger.emit({
      timestamp: time,
      observedTimestamp: time,
      eventName: OUTPUT_EVENT_NAME,
      severityNumber: type === 'error' ? SeverityNumber.ERROR : SeverityNumber.INFO,
      body: typeof content === 'string' ? content : String(content),
      attributes,
      context,
    });
  }
}

// An output line's attributes: a class, not an object literal. The file writer's queue keeps this object until its
// flush, and V8 moves a literal's allocation site to the old generation once most of its objects survive a scavenge:
// every call then wrote into old-space pages on the caller's stack, where a first touch of a page costs ~25 µs on the
// benchmark VM (caller p99 24 µs; 0.5 µs as a class). A class instance is allocated young.
class OutputAttributes {
  [key: string]: AttributeValue | undefined;

  constructor(taskId: string, type: OutputType, seq: number) {
    this[ATTR.taskId] = taskId;
    this[ATTR.outputType] = type;
    this[ATTR.outputSeq] = seq;
  }
}

// The SDK turns a record's Date.now() into [seconds, nanoseconds] twice (time and observed time), checking it against
// performance.timeOrigin each time: about 5% of an output line's cost. Given the pair, it takes it as it is. One pair
// per millisecond, the same values the SDK computes; records only ever read it.
let lastMs = -1;
let lastHrTime: HrTime = [0, 0];

function nowHrTime(): HrTime {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastHrTime = [Math.trunc(ms / 1000), (ms % 1000) * 1_000_000];
  }
  return lastHrTime;
}

function addDetails(attributes: Attributes, details: OutputDetails): void {
  let extra: Record<string, unknown> | undefined;
  for (const key in details) {
    const value = details[key];
    if (value === undefined) continue;
    if (key === 'tool_name' && typeof value === 'string') attributes[ATTR.genAiToolName] = value;
    else if (key === 'tool_call_id' && typeof value === 'string') attributes[ATTR.genAiToolCallId] = value;
    else if (key === 'is_error' && typeof value === 'boolean') attributes[ATTR.toolIsError] = value;
    else if (key === 'input') attributes[ATTR.toolInput] = JSON.stringify(value) ?? 'null';
    else {
      extra ??= {};
      setOwnProperty(extra, key, value); // a key named __proto__ stays a field
    }
  }
  if (extra !== undefined) attributes[ATTR.outputDetails] = JSON.stringify(extra);
}

function describeCall(name: string, input: unknown): string {
  if (input === undefined) return `Using ${name} tool`;
  const text = JSON.stringify(input) ?? '';
  return `Using ${name} tool: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
