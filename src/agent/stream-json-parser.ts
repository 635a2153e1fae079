// StreamJsonParser: Claude Code's `--output-format stream-json` messages, one JSON object a line, turned into output
// events, execute_tool spans and the final result of an AgentRun.
import type { AgentRun, OutputDetails } from '../instrumentation/agent-run.ts';
import { type AgentUsage, usageFromAnthropic } from '../instrumentation/agent-usage.ts';

interface ContentBlock {
  type?: string;
  text?: string;
  thinking?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
}

interface StreamMessage {
  type?: string;
  subtype?: string;
  model?: string;
  session_id?: string;
  tools?: unknown[];
  message?: { model?: string; content?: unknown };
  parent_tool_use_id?: string | null;
  is_error?: boolean;
  result?: unknown;
  errors?: unknown;
  total_cost_usd?: number;
  duration_ms?: number;
  num_turns?: number;
  usage?: Record<string, number | null | undefined>;
  modelUsage?: Record<string, Record<string, number | undefined>>;
}

export interface ParseOutcome {
  /** a result message was seen, and the run was finished with it */
  finished: boolean;
  lines: number;
  unparsable: number;
}

export class StreamJsonParser {
  readonly #run: AgentRun;
  #lines = 0;
  #unparsable = 0;
  #finished = false;
  readonly #deferFinish: boolean;
  readonly #recordedDuration: boolean;
  #pending: Parameters<AgentRun['finish']>[0] | undefined;

  /** deferFinish: the result is held until finishPending() (a runner calls it once the agent's process has ended,
   * so its stderr, a separate pipe that may arrive after stdout's result, is recorded before the run ends) */
  /** recordedDuration false: the result's duration_ms is not taken (a replay: the run's own time is what happened) */
  constructor(run: AgentRun, options: { deferFinish?: boolean; recordedDuration?: boolean } = {}) {
    this.#run = run;
    this.#deferFinish = options.deferFinish ?? false;
    this.#recordedDuration = options.recordedDuration ?? true;
  }

  /** Finishes the run with the result that was held (deferFinish), if one was seen. */
  finishPending(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined && !this.#run.finished) this.#run.finish(pending);
  }

  get outcome(): ParseOutcome {
    return { finished: this.#finished, lines: this.#lines, unparsable: this.#unparsable };
  }

  /** One line of the agent's stdout. Never throws: what cannot be read is recorded as an error line. */
  line(raw: string): void {
    const text = raw.trim();
    if (text === '') return;
    this.#lines++;
    let message: StreamMessage;
    try {
      message = JSON.parse(text) as StreamMessage;
    } catch {
      this.#unparsable++;
      this.#run.error(`unreadable agent output: ${cut(text, 500)}`);
      return;
    }
    if (message === null || typeof message !== 'object') return;
    const details: OutputDetails = message.parent_tool_use_id
      ? { parent_tool_use_id: message.parent_tool_use_id }
      : {};
    // other types (stream events, future message types) carry nothing the five files need
    if (message.type === 'system') this.#system(message, details);
    else if (message.type === 'assistant') this.#assistant(message, details);
    else if (message.type === 'user') this.#user(message, details);
    else if (message.type === 'result') this.#result(message);
  }

  #system(message: StreamMessage, details: OutputDetails): void {
    if (message.subtype === 'init') {
      const tools = Array.isArray(message.tools) ? message.tools.length : 0;
      if (message.model) this.#run.setModel(message.model);
      this.#run.system(
        `[SYSTEM] Agent session started: model ${message.model ?? 'unknown'}, ${tools} tools`,
        {
          ...details,
          ...(message.session_id ? { session_id: message.session_id } : {}),
          ...(message.model ? { model: message.model } : {}),
        },
      );
      return;
    }
    this.#run.system(`[SYSTEM] ${message.subtype ?? 'system message'}`, details);
  }

  #assistant(message: StreamMessage, details: OutputDetails): void {
    for (const block of blocks(message.message?.content)) {
      if (block.type === 'text' && typeof block.text === 'string') this.#run.text(block.text, details);
      else if (block.type === 'thinking' && typeof block.thinking === 'string')
        this.#run.thinking(block.thinking, details);
      else if (block.type === 'redacted_thinking') this.#run.thinking('[redacted thinking]', details);
      else if (block.type === 'tool_use' && typeof block.name === 'string') {
        this.#run.toolCall(
          { name: block.name, input: block.input, ...(block.id ? { callId: block.id } : {}) },
          details,
        );
      }
    }
  }

  #user(message: StreamMessage, details: OutputDetails): void {
    for (const block of blocks(message.message?.content)) {
      if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
        this.#run.toolResult(block.tool_use_id, resultText(block.content), {
          ...details,
          isError: block.is_error === true,
        });
      }
    }
  }

  #result(message: StreamMessage): void {
    const failed =
      message.is_error === true || (message.subtype !== undefined && message.subtype !== 'success');
    const resultText = typeof message.result === 'string' ? message.result : null;
    const errors = errorText(message);
    if (resultText) this.#run.final(resultText);
    if (failed) this.#run.error(errors ?? resultText ?? `agent ended with ${message.subtype ?? 'an error'}`);
    const ending: Parameters<AgentRun['finish']>[0] = {
      success: !failed,
      result: resultText,
      error: failed ? (errors ?? resultText ?? message.subtype ?? 'agent error') : null,
      ...(typeof message.total_cost_usd === 'number' ? { costUsd: message.total_cost_usd } : {}),
      ...(typeof message.duration_ms === 'number' && this.#recordedDuration
        ? { durationSeconds: message.duration_ms / 1000 }
        : {}),
      ...usageOf(message),
    };
    if (this.#deferFinish) this.#pending = ending;
    else this.#run.finish(ending);
    this.#finished = true;
  }
}

/**
 * Tokens of the whole run. modelUsage has every model the run used (subagents included), each with uncached input,
 * cache reads and cache writes apart, so each token is counted once; `usage` alone may cover only the main model.
 */
function usageOf(message: StreamMessage): { usage?: AgentUsage } {
  const perModel = message.modelUsage;
  if (perModel && typeof perModel === 'object' && Object.keys(perModel).length > 0) {
    const total = {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    };
    for (const usage of Object.values(perModel)) {
      total.input_tokens += usage.inputTokens ?? 0;
      total.output_tokens += usage.outputTokens ?? 0;
      total.cache_read_input_tokens += usage.cacheReadInputTokens ?? 0;
      total.cache_creation_input_tokens += usage.cacheCreationInputTokens ?? 0;
    }
    return { usage: usageFromAnthropic(total) };
  }
  if (message.usage && typeof message.usage === 'object') return { usage: usageFromAnthropic(message.usage) };
  return {};
}

function errorText(message: StreamMessage): string | undefined {
  const errors = message.errors;
  if (Array.isArray(errors) && errors.length > 0)
    return errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ');
  if (typeof errors === 'string' && errors) return errors;
  return undefined;
}

function blocks(content: unknown): ContentBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content.filter((b) => b && typeof b === 'object') as ContentBlock[]) : [];
}

/** A tool result's content as readable text: strings as they are, text blocks joined, other blocks named. */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    return content === undefined || content === null ? '' : JSON.stringify(content);
  return content
    .map((block: ContentBlock) =>
      block?.type === 'text' && typeof block.text === 'string' ? block.text : `[${block?.type ?? 'content'}]`,
    )
    .join('\n');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
