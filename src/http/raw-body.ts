// The request body as raw bytes, read once with a size limit: signatures are checked over exactly these bytes. The
// limit holds whatever the transfer encoding (a declared length, or chunks counted as they arrive); past it nothing
// more is kept and the error answer closes the connection. A client that hangs up mid-body is not a server error.
import type { IncomingMessage } from 'node:http';
import { TaskLogsError } from '../contract/errors.ts';

export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  if (req.destroyed && !req.complete) return Promise.reject(clientGone()); // hung up before we started reading
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | undefined) => {
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
      if (size > limit) {
        settle(tooLarge(limit));
        discardRest(req);
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = () => settle(undefined);
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

// The rest of an oversized body is read and thrown away, up to this much, so the client (still sending) reads the
// 413 instead of a connection reset; a sender that goes on past it is cut off.
const DISCARD_LIMIT = 64 * 1024 * 1024;

function discardRest(req: IncomingMessage): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT) req.destroy();
  });
  req.on('error', () => undefined); // a reset while discarding is the client's business
}

function clientGone(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

function tooLarge(limit: number): TaskLogsError {
  return new TaskLogsError('PAYLOAD_TOO_LARGE', `the body is larger than the ${limit} bytes allowed`);
}
