// The request body as raw bytes, read once with a size limit: signatures are checked over exactly these bytes. The
// limit holds whatever the transfer encoding (a declared length, or chunks counted as they arrive); past it nothing
// more is kept. The rest of an oversized body is read and thrown away (up to DISCARD_LIMIT more bytes) before the
// 413 is answered, so a client still sending reads the answer instead of a connection reset; a sender that goes on
// past that is cut off. A client that hangs up mid-body is not a server error. With a budget shared by several
// requests, a body that does not fit next to the others is thrown away the same way and answered 503 (body-budget.ts).
import type { IncomingMessage } from 'node:http';
import { TaskLogsError } from '../contract/errors.ts';
import type { BodyBudget } from './body-budget.ts';

const DISCARD_LIMIT = 64 * 1024 * 1024;

export function readRawBody(req: IncomingMessage, limit: number, budget?: BodyBudget): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  // too much even to throw away: answered at once, and the error answer closes the connection
  if (Number.isFinite(declared) && declared > limit + DISCARD_LIMIT) return Promise.reject(tooLarge(limit));
  if (req.destroyed && !req.complete) return Promise.reject(clientGone()); // hung up before we started reading
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let kept = 0; // bytes of chunks, taken from the budget
    let over = Number.isFinite(declared) && declared > limit;
    let busy = false; // no room in the budget: thrown away like an oversized body, then a 503
    const drop = () => {
      chunks.length = 0;
      budget?.release(kept);
      kept = 0;
    };
    const settle = (error: Error | undefined) => {
      budget?.release(kept);
      kept = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error === undefined) resolve(Buffer.concat(chunks, size));
      else {
        chunks.length = 0;
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (!over && size > limit) {
        over = true;
        drop();
      }
      if (!over && budget !== undefined && !budget.take(kept, chunk.length)) {
        over = true;
        busy = true;
        drop();
      }
      if (!over) {
        chunks.push(chunk);
        kept += chunk.length;
      } else if (size > limit + DISCARD_LIMIT) {
        req.on('error', () => undefined); // the reset that follows is the client's business
        settle(busy ? bodiesBusy() : tooLarge(limit));
        req.destroy();
      }
    };
    const onEnd = () => settle(busy ? bodiesBusy() : over ? tooLarge(limit) : undefined);
    const onError = (error: Error) => settle(error);
    const onClose = () => {
      if (!req.complete) settle(clientGone());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function clientGone(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

function bodiesBusy(): TaskLogsError {
  return Object.assign(
    new TaskLogsError('QUEUE_UNAVAILABLE', 'too many request bodies are being received at once; retry later'),
    { retryAfterSeconds: 1, reason: 'busy' },
  );
}

function tooLarge(limit: number): TaskLogsError {
  return new TaskLogsError('PAYLOAD_TOO_LARGE', `the body is larger than the ${limit} bytes allowed`);
}
