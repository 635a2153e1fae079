// StageSpan: one webhook processing stage (received, validation, ...) as a span; its fields become its 02 line.
import { type Attributes, type Span, SpanStatusCode, type TimeInput } from '@opentelemetry/api';
import { ATTR } from '../contract/attributes.ts';

/** Stage fields, flattened into the stage's line in 02-webhook-flow.jsonl. Objects are stored as JSON text. */
export type StageFields = Record<string, string | number | boolean | null | undefined | object>;

// A field's attribute key (stage.field.<name>): the same few names come with every stage, and a key made anew each
// time was a string of garbage per field (~20 per webhook) that V8 then had to look up in its string table at the
// store. Keys are remembered for the first names seen, and only for names of a field name's usual length (fields
// also come from services using the recorder: a bounded cache, as task-changes.ts's for the way back).
const FIELD_KEYS = new Map<string, string>();
const MAX_FIELD_KEYS = 512;
const MAX_REMEMBERED_NAME_LENGTH = 128;

export function stageFieldKey(name: string): string {
  let key = FIELD_KEYS.get(name);
  if (key !== undefined) return key;
  key = ATTR.stageFieldPrefix + name;
  if (FIELD_KEYS.size < MAX_FIELD_KEYS && name.length <= MAX_REMEMBERED_NAME_LENGTH)
    FIELD_KEYS.set(name, key);
  return key;
}

export function stageAttributes(fields: StageFields | undefined, into: Attributes = {}): Attributes {
  if (fields === undefined) return into;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    into[stageFieldKey(key)] =
      typeof value === 'object'
        ? (JSON.stringify(value) ?? String(value))
        : (value as string | number | boolean);
  }
  return into;
}

export class StageSpan {
  readonly name: string;
  readonly span: Span;
  readonly #beforeEnd: ((stage: StageSpan) => void) | undefined;
  #ended = false;
  // what the line's fields say last (a field set to null or undefined is not written, so it does not count): the
  // span's status follows them when it ends, since an ERROR status cannot be taken back once set
  #status: unknown;
  #error: unknown;
  #detail: unknown;
  /** fail() gave the span its status itself */
  #failed = false;

  constructor(name: string, span: Span, beforeEnd?: (stage: StageSpan) => void, fields?: StageFields) {
    this.name = name;
    this.span = span;
    this.#beforeEnd = beforeEnd;
    if (fields !== undefined) this.#note(fields);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Adds fields to the stage's line. A stage whose fields say `status: 'failed'` when it ends is an error span too (a
   * trace viewer shows the stage failed), with `error`, else `detail`, as its message: the line stays as the fields
   * say.
   */
  set(fields: StageFields): this {
    if (this.#ended) return this;
    this.span.setAttributes(stageAttributes(fields));
    this.#note(fields);
    return this;
  }

  /** Ends the stage as failed: its line says `"status":"failed"` and the reason. */
  fail(error: unknown, fields?: StageFields): void {
    if (this.#ended) return;
    const message = error instanceof Error ? error.message : String(error);
    this.set({ status: 'failed', error: message, ...fields });
    if (error instanceof Error) this.span.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    this.#failed = true;
    this.end();
  }

  /** Ends the stage (idempotent), now or at the given time. */
  end(fields?: StageFields, endTime?: TimeInput): void {
    if (this.#ended) return;
    if (fields !== undefined) this.set(fields);
    if (this.#status === 'failed' && !this.#failed) {
      const message =
        typeof this.#error === 'string'
          ? this.#error
          : typeof this.#detail === 'string'
            ? this.#detail
            : undefined;
      this.span.setStatus(
        message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message },
      );
    }
    this.#beforeEnd?.(this);
    this.#ended = true;
    this.span.end(endTime);
  }

  #note(fields: StageFields): void {
    if (fields.status !== undefined && fields.status !== null) this.#status = fields.status;
    if (fields.error !== undefined && fields.error !== null) this.#error = fields.error;
    if (fields.detail !== undefined && fields.detail !== null) this.#detail = fields.detail;
  }
}
