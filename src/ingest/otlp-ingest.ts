// Hands decoded OTLP items to the task writer, the second front door to the same mapping as the SDK exporters:
// repeats of items a task already took are skipped (a Collector retries whole batches), the rest keep the order they
// came in (an SDK's export order, as the in-process exporters see it), and a request the writer has no room for is
// turned away whole, before anything of it is queued.
import type { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { LogRecordLike, SpanLike, TelemetryItem } from '../../exporters/telemetry-item.ts';
import type { PlainLogRecord, PlainSpan } from './otlp-decode.ts';
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

/** what the ingest needs of the writer */
export type IngestWriter = Pick<TaskFileWriter, 'pushAll' | 'stats'>;

export class OtlpIngest {
  readonly #writer: IngestWriter;
  readonly #maxQueue: number;
  readonly #seen: SeenItems;

  constructor(writer: IngestWriter, options: { maxQueue: number; seen?: SeenItems }) {
    this.#writer = writer;
    this.#maxQueue = options.maxQueue;
    this.#seen = options.seen ?? new SeenItems();
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
    if (fresh.length > 0 && this.#writer.stats().queued + fresh.length > this.#maxQueue) {
      for (const item of fresh) this.#seen.forget(item.taskId, item.key);
      return { kind: 'full' };
    }
    const items = fresh.map(toTelemetry);
    let settle!: () => void;
    const written = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const notQueued = items.length === 0 ? 0 : this.#writer.pushAll(items, () => settle());
    if (items.length === 0) settle();
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
    const record: LogRecordLike = {
      hrTime: item.time,
      attributes: item.attributes,
      body: item.body,
      spanContext:
        item.traceId !== undefined && item.spanId !== undefined
          ? { traceId: item.traceId, spanId: item.spanId, traceFlags: 1 }
          : undefined,
    };
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
