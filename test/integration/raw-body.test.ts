// readRawBody against a real HTTP server and client on loopback: an oversized body is read to its end (and thrown
// away) before the 413 is given, so a client that is still sending reads the answer instead of a connection reset.
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskLogsError } from '../../src/contract/errors.ts';
import { readRawBody } from '../../src/http/raw-body.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';

const LIMIT = 64 * 1024;
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

// A server whose handler reads with readRawBody and tells the test each time a chunk arrives, with a way to ask
// later whether readRawBody has given its answer yet.
async function startServer(onChunk: (received: number, settled: () => boolean) => void): Promise<string> {
  server = createServer((req: IncomingMessage, res) => {
    let settled = false;
    let received = 0;
    const reading = readRawBody(req, LIMIT);
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      onChunk(received, () => settled);
    });
    reading.then(
      (body) => {
        settled = true;
        res.end(`ok ${body.length}`);
      },
      (error: unknown) => {
        settled = true;
        const code = error instanceof TaskLogsError ? error.code : 'other';
        res.writeHead(code === 'PAYLOAD_TOO_LARGE' ? 413 : 400, { connection: 'close' });
        res.end(code);
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('readRawBody', () => {
  it('keeps a body within the limit whole', async () => {
    const url = await startServer(() => undefined);
    const res = await freshFetch(url, { method: 'POST', body: Buffer.alloc(LIMIT, 'x') });
    expect(await res.text()).toBe(`ok ${LIMIT}`);
  });

  it('answers an oversized chunked body only once the client has sent all of it, and the client reads the 413', async () => {
    // resolved one turn of the event loop after the server read past the limit, with whether it had answered by then
    let passedLimit: ((answered: boolean) => void) | undefined;
    const overLimit = new Promise<boolean>((resolve) => {
      passedLimit = resolve;
    });
    const url = new URL(
      await startServer((received, settled) => {
        if (received > LIMIT && passedLimit !== undefined) {
          const tell = passedLimit;
          passedLimit = undefined;
          setImmediate(() => tell(settled()));
        }
      }),
    );
    const req = request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
    });
    const answered = once(req, 'response') as Promise<[IncomingMessage]>;
    req.write(Buffer.alloc(LIMIT + 1, 'a'));
    expect(await overLimit).toBe(false); // past the limit, still reading: the rest is sent only now
    for (let i = 0; i < 8; i++) req.write(Buffer.alloc(LIMIT, 'b'));
    req.end();
    const [res] = await answered;
    let text = '';
    for await (const chunk of res) text += String(chunk);
    expect({ status: res.statusCode, text }).toEqual({ status: 413, text: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers a declared length over the limit with 413 once it has read it', async () => {
    const url = await startServer(() => undefined);
    const over = await freshFetch(url, { method: 'POST', body: Buffer.alloc(LIMIT * 4, 'x') });
    expect({ status: over.status, text: await over.text() }).toEqual({
      status: 413,
      text: 'PAYLOAD_TOO_LARGE',
    });
  });
});
