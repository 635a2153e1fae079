// POST /v1/traces and /v1/logs: the OTLP/HTTP ingest of the central mode, by the OTLP specification. Protobuf or JSON,
// gzip/deflate/zstd or not; answers in the request's encoding. Every request is bounded: body size after
// decompression, requests in flight (429), room in the writer's queue (503), all with Retry-After.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { BUSY, type DecodeOutcome } from '../ingest/decode-job.ts';
import { DecodePool } from '../ingest/decode-pool.ts';
import { exportAnswer, type OtlpAnswer, RPC_CODE, statusAnswer } from '../ingest/otlp-answer.ts';
import { contentCoding } from '../ingest/otlp-body.ts';
import type { Encoding, Signal } from '../ingest/otlp-decode.ts';
import { OtlpIngest } from '../ingest/otlp-ingest.ts';
import { BodyBudget } from './body-budget.ts';
import { readRawBody } from './raw-body.ts';
import { strictRouter } from './strict-router.ts';
import { leaveUnread } from './unread-body.ts';

export interface OtlpRouteOptions {
  /** body bytes allowed after decompression */
  maxBodyBytes?: number;
  /** ingest requests handled at once; more get 429 */
  maxRequests?: number;
  /** the writer's queue bound (items); a request that does not fit gets 503 */
  maxQueue?: number;
}

const RETRY_AFTER_SECONDS = '1';
// one decoding worker per process, started on the first large body
const pool = new DecodePool();

/** the decode worker's heap, for the memory figures of the benchmark */
export const decodeWorkerHeap = () => pool.heap();

export function otlpRoutes(writer: TaskFileWriter | undefined, options: OtlpRouteOptions = {}): Router {
  const router = strictRouter('/v1');
  const maxBodyBytes = options.maxBodyBytes ?? 20 * 1024 * 1024;
  const maxRequests = options.maxRequests ?? 16;
  const ingest =
    writer === undefined ? undefined : new OtlpIngest(writer, { maxQueue: options.maxQueue ?? 65_536 });
  // bytes held by requests in flight (raw, then decompressed), released once their items are written (after the
  // answer): this, not the request count alone, bounds the memory a flood of large requests can take
  const byteBudget = maxBodyBytes;
  let inFlight = 0;
  let bytesInFlight = 0;
  // bodies still arriving: a slow sender holds what it sent so far, so those bytes share a budget of their own
  const arriving = new BodyBudget(byteBudget);

  const handle = (signal: Signal) => async (ctx: Context) => {
    const encoding = encodingOf(ctx.get('Content-Type'));
    if (encoding === undefined) {
      throw new TaskLogsError(
        'UNSUPPORTED_MEDIA_TYPE',
        'send OTLP as application/x-protobuf or application/json',
      );
    }
    if (encoding === 'json' && !isUtf8(ctx.get('Content-Type'))) {
      return answer(
        ctx,
        statusAnswer(
          415,
          encoding,
          RPC_CODE.invalidArgument,
          'OTLP/JSON is UTF-8: send it without a charset or with charset=utf-8',
        ),
      );
    }
    const coding = contentCoding(ctx.get('Content-Encoding'));
    if (coding === undefined) {
      return answer(
        ctx,
        statusAnswer(415, encoding, RPC_CODE.invalidArgument, 'unsupported Content-Encoding'),
      );
    }
    if (ingest === undefined) {
      leaveUnread(ctx, maxBodyBytes);
      return answer(
        ctx,
        statusAnswer(503, encoding, RPC_CODE.unavailable, 'this server writes no task files'),
      );
    }
    if (!ingest.hasRoom()) {
      // the writer's queue (or the ingest's share of it) is full: turned away before the body is read or decoded
      leaveUnread(ctx, maxBodyBytes);
      ctx.set('Retry-After', RETRY_AFTER_SECONDS);
      return answer(
        ctx,
        statusAnswer(503, encoding, RPC_CODE.unavailable, 'the task file writer is full; retry later'),
      );
    }
    if (inFlight >= maxRequests || bytesInFlight >= byteBudget) {
      leaveUnread(ctx, maxBodyBytes);
      ctx.set('Retry-After', RETRY_AFTER_SECONDS);
      return answer(
        ctx,
        statusAnswer(429, encoding, RPC_CODE.resourceExhausted, 'too many ingest requests at once'),
      );
    }
    inFlight++;
    let held = 0;
    let unwritten: Promise<void> | undefined;
    const hold = (bytes: number) => {
      bytesInFlight += bytes - held;
      held = bytes;
    };
    try {
      let raw: Buffer;
      try {
        raw = await readRawBody(ctx.req, maxBodyBytes, arriving);
      } catch (error) {
        if (error instanceof TaskLogsError && error.code === 'PAYLOAD_TOO_LARGE') {
          // declared too large even to throw away: the rest is not read, so the connection ends with the answer
          if (!ctx.req.complete) ctx.set('Connection', 'close');
          return answer(ctx, statusAnswer(413, encoding, RPC_CODE.invalidArgument, error.message));
        }
        if (error instanceof TaskLogsError && error.code === 'QUEUE_UNAVAILABLE') {
          ctx.set('Retry-After', RETRY_AFTER_SECONDS);
          return answer(ctx, statusAnswer(503, encoding, RPC_CODE.unavailable, error.message));
        }
        throw error;
      }
      hold(raw.byteLength);
      // over the budget with others in flight: turned away whole before it is parsed (one request alone always fits)
      const admit = (size: number) => {
        hold(size);
        return bytesInFlight <= byteBudget || bytesInFlight === held;
      };
      let outcome: DecodeOutcome;
      try {
        outcome = await pool.decode({ signal, encoding, coding, body: raw, limit: maxBodyBytes }, admit);
      } catch (error) {
        ctx.app.emit('error', error, ctx); // the decode worker died: logged, and the client may retry
        outcome = BUSY;
      }
      if (!outcome.ok) {
        if ('busy' in outcome) {
          ctx.set('Retry-After', RETRY_AFTER_SECONDS);
          return answer(ctx, statusAnswer(503, encoding, RPC_CODE.unavailable, outcome.message));
        }
        const status = 'tooLarge' in outcome ? 413 : 400;
        return answer(ctx, statusAnswer(status, encoding, RPC_CODE.invalidArgument, outcome.message));
      }
      const result = ingest.take(outcome);
      if (result.kind === 'full') {
        ctx.set('Retry-After', RETRY_AFTER_SECONDS);
        return answer(
          ctx,
          statusAnswer(503, encoding, RPC_CODE.unavailable, 'the task file writer is full; retry later'),
        );
      }
      // answered now; the bytes stay held until the items are written, so unwritten items stay within the budget
      unwritten = result.written;
      return answer(ctx, exportAnswer(signal, encoding, result.rejected, result.message));
    } finally {
      inFlight--;
      if (unwritten === undefined) hold(0);
      else void unwritten.then(() => hold(0));
    }
  };
  router.post('/traces', handle('traces'));
  router.post('/logs', handle('logs'));
  return router;
}

function encodingOf(header: string): Encoding | undefined {
  const type = header.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

// JSON is UTF-8 (RFC 8259); a charset parameter naming anything else would be decoded wrongly, so it is refused
function isUtf8(header: string): boolean {
  for (const param of header.split(';').slice(1)) {
    const [name, value] = param.split('=', 2).map((part) => part.trim().toLowerCase());
    if (name !== 'charset') continue;
    const charset = value?.replace(/^"(.*)"$/, '$1');
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}

function answer(ctx: Context, reply: OtlpAnswer): void {
  ctx.status = reply.status;
  ctx.body = reply.body;
  ctx.set('Content-Type', reply.type); // exactly the request's type, no charset (OTLP/HTTP)
}
