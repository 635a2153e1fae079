// The request body as raw bytes, read once with a size limit: signatures are checked over exactly these bytes.
import type { IncomingMessage } from 'node:http';
import { TaskLogsError } from '../contract/errors.ts';

export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume(); // drain the rest so the connection can answer
      throw tooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): TaskLogsError {
  return new TaskLogsError('PAYLOAD_TOO_LARGE', `the body is larger than the ${limit} bytes allowed`);
}
