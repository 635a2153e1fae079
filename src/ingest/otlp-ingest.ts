// Hands decoded OTLP items to the task writer, the second front door to the same mapping as the SDK exporters:
// repeats of items a task already took are skipped (a Collector retries whole batches), the rest keep the order they
// came in (an SDK's export order, as the in-process exporters see it), and a request the writer has no room for is turned away whole, before anything of it is queued.
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
  | { readonly kind: 'taken'; readonly rejected: number; readonly message: string }
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

  async take(decoded: DecodedItems): Promise<TakeResult> {
    const refused = Object.values(decoded.refused).reduce((sum, n) => sum + n, 0);
    const fresh: (PlainSpan | PlainLogRecord)[] = [];
    for (const item of [...decoded.spans, ...decoded.logs]) {
      if (this.#seen.add(item.taskId, item.key)) fresh.push(item);
    }
    if (fresh.length > 0 && this.#writer.stats().queued + fresh.length > this.#maxQueue) {
      for (const item of fresh) this.#seen.forget(item.taskId, item.key);
      return { kind: 'full' };
    }
    const items = fresh.map(toTelemetry);
    // the writer answers how many it lost (queue full, write failed, invalid): reported, not retried (a retry could
    // write lines twice); the reasons, with paths in them, stay in the server's log
    const failed = await new Promise<number>((resolve) =>
      this.#writer.pushAll(items, (_error, outcome) => resolve(outcome.rejected)),
    );
    const reasons = Object.entries(decoded.refused).map(([reason, n]) => `${n} with ${reason}`);
    if (failed > 0) reasons.push(`${failed} not written (the server's log says why)`);
    return {
      kind: 'taken',
      rejected: refused + failed,
      message: reasons.length === 0 ? '' : `items refused: ${reasons.join('; ')}`,
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
