// Hands decoded OTLP items to the task writer, the second front door to the same mapping as the SDK exporters:
// repeats of items a task already took are skipped (a Collector retries whole batches), the rest keep the order they
// came in (an SDK's export order, as the in-process exporters see it), and a request the writer has no room for is
// turned away whole, before anything of it is queued.
import type { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { LogRecordLike, SpanLike, TelemetryItem } from '../../exporters/telemetry-item.ts';
import type { PlainLogRecord, PlainSpan } from './otlp-decode.ts';
import { unpackBody } from './packed-bodies.ts';
import { SeenItems } from './seen-items.ts';

export interface DecodedItems {
  readonly spans: readonly PlainSpan[];
  readonly logs: readonly PlainLogRecord[];
  readonly refused: Readonly<Record<string, number>>;
}

export type TakeResult =
  | {
      readonly kind: 'taken';
      /** items refused: at the door (decoding) and by the writer's queue; what the answer reports */
      readonly rejected: number;
      readonly message: string;
      /** settles when the items taken are written or lost (lost ones are counted in the writer's stats and logged) */
      readonly written: Promise<void>;
    }
  | { readonly kind: 'full' };

// the OTLP ingest may fill a quarter of the writer's queue: a flood from a Collector leaves room for the tasks this
// process runs itself, and the decoded items waiting in memory stay a bounded, small part of the heap
const INGEST_SHARE = 4;

/** what the ingest needs of the writer */
export type IngestWriter = Pick<TaskFileWriter, 'pushAll' | 'stats'>;

export class OtlpIngest {
  readonly #writer: IngestWriter;
  readonly #maxQueue: number;
  /** items the ingest may have waiting for the writer at once */
  readonly #share: number;
  #unwritten = 0;
  readonly #seen: SeenItems;

  constructor(writer: IngestWriter, options: { maxQueue: number; seen?: SeenItems }) {
    this.#writer = writer;
    this.#maxQueue = options.maxQueue;
    this.#share = Math.max(16, Math.floor(options.maxQueue / INGEST_SHARE));
    this.#seen = options.seen ?? new SeenItems();
  }

  /** false when the ingest's share of the writer's queue, or the queue itself, is full (checked before decoding) */
  hasRoom(): boolean {
    return this.#unwritten < this.#share && this.#writer.stats().queued < this.#maxQueue;
  }

  /**
   * Queues the items for the writer and answers at once, from the admission: what the queue refused is reported
   * now; what it took is then written or, if a write fails, counted in the writer's stats (write_failed) and logged
   * with its reason. The answer does not wait for the disk (as a Collector answers once its queue has the data).
   */
  take(decoded: DecodedItems): TakeResult {
    let refused = 0;
    for (const n of Object.values(decoded.refused)) refused += n;
    const fresh: (PlainSpan | PlainLogRecord)[] = [];
    for (const item of decoded.spans) if (this.#seen.add(item.taskId, item.key)) fresh.push(item);
    for (const item of decoded.logs) if (this.#seen.add(item.taskId, item.key)) fresh.push(item);
    // room: in the writer's queue, and within the ingest's share of it (the process's own tasks keep the rest; a
    // request larger than the share alone is let in when nothing else of the ingest waits, so it can ever fit)
    if (
      fresh.length > 0 &&
      ((this.#unwritten > 0 && this.#unwritten + fresh.length > this.#share) ||
        this.#writer.stats().queued + fresh.length > this.#maxQueue)
    ) {
      for (const item of fresh) this.#seen.forget(item.taskId, item.key);
      return { kind: 'full' };
    }
    const items = fresh.map(toTelemetry);
    let settle!: () => void;
    const written = new Promise<void>((resolve) => {
      settle = resolve;
    });
    let notQueued = 0;
    if (items.length === 0) settle();
    else {
      let taken = 0;
      notQueued = this.#writer.pushAll(items, () => {
        this.#unwritten -= taken;
        settle();
      });
      taken = items.length - notQueued;
      this.#unwritten += taken;
    }
    const reasons = Object.entries(decoded.refused).map(([reason, n]) => `${n} with ${reason}`);
    if (notQueued > 0) reasons.push(`${notQueued} not queued (the writer is full or shutting down)`);
    return {
      kind: 'taken',
      rejected: refused + notQueued,
      message: reasons.length === 0 ? '' : `items refused: ${reasons.join('; ')}`,
      written,
    };
  }
}

function toTelemetry(item: PlainSpan | PlainLogRecord): TelemetryItem {
  if ('time' in item) {
    const spanContext =
      item.traceId !== undefined && item.spanId !== undefined
        ? { traceId: item.traceId, spanId: item.spanId, traceFlags: 1 }
        : undefined;
    const body = item.body;
    if (body instanceof Uint8Array) {
      // text packed as bytes by the decode worker: made a string when the writer maps the record (packed-bodies.ts)
      const packed: LogRecordLike = {
        hrTime: item.time,
        attributes: item.attributes,
        get body() {
          return unpackBody(body);
        },
        spanContext,
      };
      return packed;
    }
    const record: LogRecordLike = { hrTime: item.time, attributes: item.attributes, body, spanContext };
    return record;
  }
  const context = { traceId: item.traceId, spanId: item.spanId, traceFlags: 1 };
  const span: SpanLike = {
    name: item.name,
    attributes: item.attributes,
    startTime: item.start,
    endTime: item.end,
    status:
      item.statusMessage === undefined
        ? { code: item.statusCode }
        : { code: item.statusCode, message: item.statusMessage },
    spanContext: () => context,
  };
  return span;
}
