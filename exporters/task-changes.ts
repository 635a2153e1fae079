// The mapping from telemetry to file operations: which span or log record changes which of a task's five files.
import { type Attributes, type AttributeValue, SpanStatusCode } from '@opentelemetry/api';
import { ATTR, OPERATION } from '../src/contract/attributes.ts';
import { setOwnProperty } from '../src/contract/own-property.ts';
import type { OpenKeyBlocks } from '../src/contract/redaction/key-blocks.ts';
import type { RedactionCounts, Redactor } from '../src/contract/redaction/redactor.ts';
import type {
  FinalResult,
  SourceMetadata,
  TaskInput,
  TaskMetrics,
  TaskOwner,
} from '../src/contract/task-files.ts';
import { isOutputType, isWebhookStage } from '../src/contract/task-files.ts';
import { tryParseTaskId } from '../src/contract/task-id.ts';
import { isTaskStatus } from '../src/contract/task-status.ts';
import { type MetadataPatch, mergeMetadata } from './metadata-merge.ts';
import {
  hrTimeToIso,
  hrTimeToMs,
  isLogRecord,
  isSpanStarted,
  type LogRecordLike,
  type SpanLike,
  type TelemetryItem,
} from './telemetry-item.ts';

/** Everything one flush does to one task folder. */
export interface TaskChanges {
  readonly taskId: string;
  webhookLines: string[];
  outputLines: string[];
  input: TaskInput | undefined;
  finalResult: FinalResult | undefined;
  metadata: MetadataPatch | undefined;
  /** the telemetry items folded in, for the written/dropped counts */
  items: number;
  /** the task ended in this batch: with durable writes on, its files are synced */
  ended: boolean;
  /** written again after a writer thread stopped in the middle of it: its files may end in a half line */
  torn?: boolean;
  /** the lines already encoded (encodeLineLists), as sent to a writer thread: written instead of the strings */
  encoded?: { webhook: Uint8Array[]; output: Uint8Array[] };
}

/** invalid_item: the item could not be mapped (a time out of range, input nested too deep to serialize) */
export type MapOutcome = 'mapped' | 'ignored' | 'invalid_task_id' | 'invalid_item';

export function emptyChanges(taskId: string): TaskChanges {
  return {
    taskId,
    webhookLines: [],
    outputLines: [],
    input: undefined,
    finalResult: undefined,
    metadata: undefined,
    items: 0,
    ended: false,
  };
}

// a task's changes as they were before the item being folded in touched them, to undo a half-folded bad item
interface Mark {
  changes: TaskChanges;
  created: boolean;
  webhookLines: number;
  outputLines: number;
  input: TaskInput | undefined;
  finalResult: FinalResult | undefined;
  metadata: MetadataPatch | undefined;
  ended: boolean;
}

export class TaskChangeSet {
  readonly byTask = new Map<string, TaskChanges>();
  // one Mark reused for every item (an object per output line was measurable garbage); valid while #marked
  readonly #mark: Mark = {
    changes: emptyChanges('-'),
    created: false,
    webhookLines: 0,
    outputLines: 0,
    input: undefined,
    finalResult: undefined,
    metadata: undefined,
    ended: false,
  };
  #marked = false;
  readonly #plain: {
    timestamp: string;
    type: string;
    content: string;
    seq: AttributeValue | undefined;
    trace_id: string | undefined;
    span_id: string | undefined;
  } = { timestamp: '', type: '', content: '', seq: undefined, trace_id: undefined, span_id: undefined };
  // redaction counts are only filled where something was redacted (the text then changes): one empty object serves
  // every line that had nothing to redact, and is handed on (and replaced) only when it was filled
  #counts: RedactionCounts = {};
  #lastError: string | undefined;
  // the last task.id attribute seen and the id it parsed to (only a valid one is kept)
  #lastRawId: unknown;
  #lastTaskId = '';
  readonly #redactor: Redactor | undefined;
  readonly #keyBlocks: OpenKeyBlocks | undefined;

  /** keyBlocks outlives the change set: a key block printed line by line can span several flushes */
  constructor(redactor?: Redactor, keyBlocks?: OpenKeyBlocks) {
    this.#redactor = redactor;
    this.#keyBlocks = redactor === undefined ? undefined : keyBlocks;
  }

  /** the task the last mapped item went to */
  get lastTaskId(): string | undefined {
    return this.#marked ? this.#mark.changes.taskId : undefined;
  }

  /** why the last invalid_item was refused */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Folds one telemetry item in. Items without a task id are not ours; a hostile task id is refused. One bad item
   * (a time out of range, input nested too deep) is refused alone: what it had half done to its task is undone.
   */
  add(item: TelemetryItem): MapOutcome {
    this.#marked = false;
    try {
      if (isLogRecord(item)) return this.#addLog(item);
      if (isSpanStarted(item)) return this.#addSpanStart(item.started);
      return this.#addSpanEnd(item);
    } catch (error) {
      this.#lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.#counts = {}; // what a redaction that threw had counted is not the next item's
      this.#undo();
      return 'invalid_item';
    }
  }

  #undo(): void {
    if (!this.#marked) return;
    const mark = this.#mark;
    this.#marked = false;
    const { changes } = mark;
    if (mark.created) {
      this.byTask.delete(changes.taskId);
      return;
    }
    changes.items--;
    changes.webhookLines.length = mark.webhookLines;
    changes.outputLines.length = mark.outputLines;
    changes.input = mark.input;
    changes.finalResult = mark.finalResult;
    changes.metadata = mark.metadata;
    changes.ended = mark.ended;
  }

  #changesFor(attributes: Attributes): TaskChanges | MapOutcome {
    const raw = attributes[ATTR.taskId];
    if (raw === undefined) return 'ignored';
    // a flush holds runs of items of one task: its id is checked once per run, not once per line
    let taskId: string;
    if (raw === this.#lastRawId) taskId = this.#lastTaskId;
    else {
      const parsed = tryParseTaskId(raw);
      if (parsed === undefined) return 'invalid_task_id';
      taskId = parsed;
      this.#lastRawId = raw;
      this.#lastTaskId = taskId;
    }
    let changes = this.byTask.get(taskId);
    const created = changes === undefined;
    if (changes === undefined) {
      changes = emptyChanges(taskId);
      this.byTask.set(taskId, changes);
    }
    const mark = this.#mark;
    mark.changes = changes;
    mark.created = created;
    mark.webhookLines = changes.webhookLines.length;
    mark.outputLines = changes.outputLines.length;
    mark.input = changes.input;
    mark.finalResult = changes.finalResult;
    mark.metadata = changes.metadata;
    mark.ended = changes.ended;
    this.#marked = true;
    changes.items++;
    return changes;
  }

  #patch(changes: TaskChanges, patch: MetadataPatch): void {
    const clean = patch.redactions === undefined ? this.#redact(changes, patch) : patch;
    changes.metadata = mergeMetadata(changes.metadata, clean);
  }

  // every line and file goes through here before it is written: secrets out, counted in metadata.redactions
  #redact<T extends object>(changes: TaskChanges, value: T): T {
    const redactor = this.#redactor;
    if (redactor === undefined) return value;
    // counts are only added where something was redacted (the value then changes): the shared empty object serves
    const clean = redactor.redactFields(value, this.#counts);
    if (clean !== value) this.#patch(changes, { redactions: this.#takeCounts() });
    return clean;
  }

  // a private key printed over several output lines of a task (see OpenKeyBlocks)
  #keyBlocksIn(changes: TaskChanges, content: string): string {
    if (this.#keyBlocks === undefined) return content;
    const clean = this.#keyBlocks.apply(changes.taskId, content, this.#counts);
    if (clean !== content) this.#patch(changes, { redactions: this.#takeCounts() });
    return clean;
  }

  #takeCounts(): RedactionCounts {
    const counts = this.#counts;
    this.#counts = {};
    return counts;
  }

  #addLog(record: LogRecordLike): MapOutcome {
    const a = record.attributes;
    const type = a[ATTR.outputType];
    if (!isOutputType(type)) return 'ignored';
    const changes = this.#changesFor(a);
    if (typeof changes === 'string') return changes;
    const toolName = a[ATTR.genAiToolName];
    const callId = a[ATTR.genAiToolCallId];
    const input = a[ATTR.toolInput];
    const isError = a[ATTR.toolIsError];
    const details = a[ATTR.outputDetails];
    if (
      toolName === undefined &&
      callId === undefined &&
      input === undefined &&
      isError === undefined &&
      details === undefined
    ) {
      changes.outputLines.push(this.#plainLine(changes, record, type));
      return 'mapped';
    }
    const line: Record<string, unknown> = {
      timestamp: hrTimeToIso(record.hrTime),
      type,
      content: this.#keyBlocksIn(changes, contentOf(record.body)),
    };
    if (toolName !== undefined) line.tool_name = toolName;
    if (callId !== undefined) line.tool_call_id = callId;
    if (input !== undefined) line.input = parseJsonAttribute(input);
    if (isError !== undefined) line.is_error = isError;
    if (details !== undefined) {
      const parsed = parseJsonAttribute(details);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        // the line's own fields only: `key in line` also found constructor, toString and __proto__ there
        for (const [key, value] of Object.entries(parsed))
          if (!Object.hasOwn(line, key)) setOwnProperty(line, key, value);
      }
    }
    const seq = a[ATTR.outputSeq];
    if (seq !== undefined) line.seq = seq;
    if (record.spanContext !== undefined) {
      line.trace_id = record.spanContext.traceId;
      line.span_id = record.spanContext.spanId;
    }
    changes.outputLines.push(JSON.stringify(this.#redact(changes, line)));
    return 'mapped';
  }

  // Most output lines are plain text (no tool fields, no details): their line is one object of a fixed shape given to
  // JSON.stringify, which V8 writes as one flat string (a line built by concatenation is a rope, and flattening the
  // ropes when the lines are encoded cost more than the objects saved). Only the content can hold a secret (the other
  // fields are the writer's own times and ids), so only it is redacted, not the whole line as in the general path.
  #plainLine(changes: TaskChanges, record: LogRecordLike, type: string): string {
    let content = this.#keyBlocksIn(changes, contentOf(record.body));
    const redactor = this.#redactor;
    if (redactor !== undefined) {
      const clean = redactor.redact(content, this.#counts);
      if (clean !== content) {
        content = clean;
        this.#patch(changes, { redactions: this.#takeCounts() });
      }
    }
    const context = record.spanContext;
    // the same keys in the same order as the general path; an undefined value is left out, as there. One object
    // serves every line (JSON.stringify keeps nothing of it): an object per line was ~60 bytes of its garbage.
    const line = this.#plain;
    line.timestamp = hrTimeToIso(record.hrTime);
    line.type = type;
    line.content = content;
    line.seq = record.attributes[ATTR.outputSeq];
    line.trace_id = context?.traceId;
    line.span_id = context?.spanId;
    return JSON.stringify(line);
  }

  #addSpanStart(span: SpanLike): MapOutcome {
    const a = span.attributes;
    if (a[ATTR.genAiOperationName] !== OPERATION.invokeAgent) return 'ignored';
    const changes = this.#changesFor(a);
    if (typeof changes === 'string') return changes;
    this.#patch(changes, {
      ...taskFields(a),
      trace_id: span.spanContext().traceId,
      status: 'running',
      started_at: hrTimeToIso(span.startTime),
      model_provider: providerOf(a),
      assigned_agent: stringOrUndefined(a[ATTR.genAiAgentName]),
      agent_type: stringOrUndefined(a[ATTR.agentType]),
      model: stringOrUndefined(a[ATTR.genAiRequestModel]),
    });
    return 'mapped';
  }

  #addSpanEnd(span: SpanLike): MapOutcome {
    const a = span.attributes;
    const stage = a[ATTR.stageName];
    const isAgent = a[ATTR.genAiOperationName] === OPERATION.invokeAgent;
    const status = a[ATTR.taskStatus];
    const hasInput = typeof a[ATTR.inputMessage] === 'string';
    if (!isWebhookStage(stage) && !isAgent && !isTaskStatus(status) && !hasInput) return 'ignored';
    const changes = this.#changesFor(a);
    if (typeof changes === 'string') return changes;
    if (isWebhookStage(stage)) this.#addStage(changes, span, stage);
    if (hasInput) changes.input = this.#redact(changes, inputOf(a));
    if (isAgent) this.#addAgentEnd(changes, span);
    if (isTaskStatus(status)) {
      this.#patch(changes, {
        ...taskFields(a),
        trace_id: span.spanContext().traceId,
        status,
        created_at: stringOrUndefined(a[ATTR.taskCreatedAt]) ?? hrTimeToIso(span.startTime),
      });
    }
    return 'mapped';
  }

  #addStage(changes: TaskChanges, span: SpanLike, stage: string): void {
    const a = span.attributes;
    const { traceId, spanId } = span.spanContext();
    // stage timestamp = span start, so stages sort in the order they began
    const line: Record<string, unknown> = { timestamp: hrTimeToIso(span.startTime), stage };
    // the caller's fields (stage.field.*), in their order, straight into the line (an object of them first, then
    // copied in, was a third of this method's time); a field named __proto__ is a field too, not the line's prototype
    for (const key in a) {
      const name = stageFieldName(key);
      if (name === '__proto__') setOwnProperty(line, name, a[key]);
      else if (name !== null) line[name] = a[key];
    }
    if (span.status.code === SpanStatusCode.ERROR) {
      if (line.status === undefined) line.status = 'failed';
      // a message that is the line's detail already (a failed acknowledgement's reason) is not said twice
      const message = span.status.message;
      if (line.error === undefined && message && message !== line.detail) line.error = message;
    }
    line.duration_ms = round3(hrTimeToMs(span.endTime) - hrTimeToMs(span.startTime));
    line.trace_id = traceId;
    line.span_id = spanId;
    changes.webhookLines.push(JSON.stringify(this.#redact(changes, line)));

    if (stage === 'task_created') {
      this.#patch(changes, {
        ...taskFields(a),
        trace_id: traceId,
        status: 'queued',
        created_at: stringOrUndefined(a[ATTR.taskCreatedAt]) ?? hrTimeToIso(span.startTime),
        assigned_agent: stringOrUndefined(line.assigned_agent),
        agent_type: stringOrUndefined(line.agent_type),
        model: stringOrUndefined(line.model),
      });
    }
  }

  #addAgentEnd(changes: TaskChanges, span: SpanLike): void {
    const a = span.attributes;
    const failedSpan = span.status.code === SpanStatusCode.ERROR;
    const success =
      typeof a[ATTR.resultSuccess] === 'boolean' ? (a[ATTR.resultSuccess] as boolean) : !failedSpan;
    // a value that is no count or amount (negative, fractional tokens, past the safe integers) counts as absent
    const metrics: TaskMetrics = {
      cost_usd: amountOr(a[ATTR.costUsd], 0),
      input_tokens: countOr(a[ATTR.genAiUsageInputTokens], 0),
      output_tokens: countOr(a[ATTR.genAiUsageOutputTokens], 0),
      duration_seconds: amountOr(
        a[ATTR.durationSeconds],
        round3((hrTimeToMs(span.endTime) - hrTimeToMs(span.startTime)) / 1000),
      ),
    };
    const cacheRead = countOr(a[ATTR.genAiUsageCacheReadInputTokens], undefined);
    if (cacheRead !== undefined) metrics.cache_read_input_tokens = cacheRead;
    // other emitters say cache_write for what the conventions call cache_creation
    const cacheCreation = countOr(
      a[ATTR.genAiUsageCacheCreationInputTokens] ?? a[ATTR.genAiUsageCacheWriteInputTokens],
      undefined,
    );
    if (cacheCreation !== undefined) metrics.cache_creation_input_tokens = cacheCreation;
    const completedAt = hrTimeToIso(span.endTime);
    const error =
      stringOrUndefined(a[ATTR.resultError]) ?? (failedSpan ? (span.status.message ?? 'failed') : null);
    changes.finalResult = this.#redact(changes, {
      success,
      result: stringOrUndefined(a[ATTR.resultText]) ?? null,
      error: success ? (error ?? null) : (error ?? 'failed'),
      metrics,
      completed_at: completedAt,
      trace_id: span.spanContext().traceId,
    });
    this.#patch(changes, {
      ...taskFields(a),
      trace_id: span.spanContext().traceId,
      status: success ? 'completed' : 'failed',
      started_at: hrTimeToIso(span.startTime),
      completed_at: completedAt,
      model_provider: providerOf(a),
      assigned_agent: stringOrUndefined(a[ATTR.genAiAgentName]),
      agent_type: stringOrUndefined(a[ATTR.agentType]),
      model: stringOrUndefined(a[ATTR.genAiResponseModel]) ?? stringOrUndefined(a[ATTR.genAiRequestModel]),
      // ended by the interrupted-task check (src/ops/interrupted-tasks.ts), not by its run: a later run may resume it
      interrupted_at: !success && error?.startsWith('interrupted:') ? completedAt : undefined,
    });
    changes.ended = true;
  }
}

function inputOf(a: Attributes): TaskInput {
  const parsed = parseJsonAttribute(a[ATTR.inputSourceMetadata] ?? '{}');
  const sourceMetadata =
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as SourceMetadata) : {};
  const input = { message: String(a[ATTR.inputMessage]), source_metadata: sourceMetadata };
  JSON.stringify(input); // throws here (too deep, a BigInt) rather than at every write retry
  return input;
}

function providerOf(a: Attributes): string | undefined {
  return stringOrUndefined(a[ATTR.genAiProviderName]) ?? stringOrUndefined(a[ATTR.genAiSystem]);
}

function taskFields(a: Attributes): MetadataPatch {
  const fields: MetadataPatch = {
    source: stringOrUndefined(a[ATTR.taskSource]),
    provider: stringOrUndefined(a[ATTR.taskProvider]),
    created_at: stringOrUndefined(a[ATTR.taskCreatedAt]),
    conversation_id: stringOrUndefined(a[ATTR.genAiConversationId]),
  };
  // who holds the task now (the web process while queued, the worker while running), and which run this is
  const owner = a[ATTR.taskOwner];
  if (typeof owner === 'string') {
    const parsed = parseJsonAttribute(owner);
    if (isOwner(parsed)) fields.owner = parsed;
  }
  const attempt = a[ATTR.taskAttempt];
  if (typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 0) fields.attempts = attempt;
  return fields;
}

function isOwner(value: unknown): value is TaskOwner {
  if (value === null || typeof value !== 'object') return false;
  const o = value as Record<string, unknown>;
  return typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.started_at === 'string';
}

// A stage field's name for its attribute key: the same few keys come with every webhook, and a name sliced anew each
// time had to be looked up in V8's string table at every store into the line (half of this mapping's time). The
// names are remembered for the first keys seen, and only for keys of a field name's usual length: keys also come from
// clients (OTLP ingest), and 512 keys of a megabyte each held a gigabyte (a key and its name) for the process's life.
// null: the key is not a stage field.
const STAGE_FIELD_NAMES = new Map<string, string | null>();
const MAX_STAGE_FIELD_NAMES = 512;
const MAX_REMEMBERED_KEY_LENGTH = 128;

function stageFieldName(key: string): string | null {
  let name = STAGE_FIELD_NAMES.get(key);
  if (name !== undefined) return name;
  name = key.startsWith(ATTR.stageFieldPrefix) ? key.slice(ATTR.stageFieldPrefix.length) : null;
  if (STAGE_FIELD_NAMES.size < MAX_STAGE_FIELD_NAMES && key.length <= MAX_REMEMBERED_KEY_LENGTH)
    STAGE_FIELD_NAMES.set(key, name);
  return name;
}

function contentOf(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === undefined || body === null) return '';
  try {
    return JSON.stringify(body);
  } catch {
    return String(body); // not JSON-able (a cycle): still readable text
  }
}

// JSON nested deeper than this stays text: JSON.stringify recurses, and a line of 100,000 brackets overflowed the stack
const MAX_JSON_DEPTH = 64;

function parseJsonAttribute(value: AttributeValue | unknown): unknown {
  if (typeof value !== 'string') return value;
  if (jsonDepthOver(value, MAX_JSON_DEPTH)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value; // not JSON after all: keep the text as it came
  }
}

/** whether brackets outside strings nest deeper than `max` (a scan, no recursion) */
function jsonDepthOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A token count: a whole number from 0 to 2^53 - 1 (OTLP's int64 past that is no longer exact in JSON). */
function countOr<T>(value: unknown, fallback: T): number | T {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : fallback;
}

/** A cost or a duration: finite and not negative. */
function amountOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
