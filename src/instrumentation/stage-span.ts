// StageSpan: one webhook processing stage (received, validation, ...) as a span; its fields become its 02 line.
import { type Attributes, type Span, SpanStatusCode, type TimeInput } from '@opentelemetry/api';
import { ATTR } from '../contract/attributes.ts';

/** Stage fields, flattened into the stage's line in 02-webhook-flow.jsonl. Objects are stored as JSON text. */
export type StageFields = Record<string, string | number | boolean | null | undefined | object>;

export function stageAttributes(fields: StageFields | undefined, into: Attributes = {}): Attributes {
  if (fields === undefined) return into;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    into[ATTR.stageFieldPrefix + key] =
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

  constructor(name: string, span: Span, beforeEnd?: (stage: StageSpan) => void) {
    this.name = name;
    this.span = span;
    this.#beforeEnd = beforeEnd;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Adds fields to the stage's line. Fields that say `status: 'failed'` make the span an error span too (a trace
   * viewer shows the stage failed), with `error` as its message when there is one: the line stays as the fields say.
   */
  set(fields: StageFields): this {
    if (this.#ended) return this;
    this.span.setAttributes(stageAttributes(fields));
    if (fields.status === 'failed')
      this.span.setStatus(
        typeof fields.error === 'string'
          ? { code: SpanStatusCode.ERROR, message: fields.error }
          : { code: SpanStatusCode.ERROR },
      );
    return this;
  }

  /** Ends the stage as failed: its line says `"status":"failed"` and the reason. */
  fail(error: unknown, fields?: StageFields): void {
    if (this.#ended) return;
    const message = error instanceof Error ? error.message : String(error);
    this.set({ status: 'failed', error: message, ...fields });
    if (error instanceof Error) this.span.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    this.end();
  }

  /** Ends the stage (idempotent), now or at the given time. */
  end(fields?: StageFields, endTime?: TimeInput): void {
    if (this.#ended) return;
    if (fields !== undefined) this.set(fields);
    this.#beforeEnd?.(this);
    this.#ended = true;
    this.span.end(endTime);
  }
}
