// The webhook receivers are public and read the whole body before its signature can be checked: the bodies they hold
// at once share one budget (WEBHOOK_MAX_BODY_BYTES), so many slow senders cannot grow the process without bound.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const LIMIT = 64 * 1024;
const PART = 40 * 1024; // two of these do not fit in one limit

/** A POST whose headers promise `length` bytes; `send` writes part of the body, `answer` reads the reply. */
async function openPost(base: string, length: number) {
  const url = new URL(base);
  const socket: Socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = once(socket, 'close');
  socket.write(
    'POST /webhooks/github HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n' +
      `X-GitHub-Event: issues\r\nX-GitHub-Delivery: d-${length}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
  );
  return {
    send: (bytes: number) => socket.write(Buffer.alloc(bytes, 'a')),
    answer: async () => {
      await ended;
      const [head = '', body = ''] = text.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), head, body };
    },
  };
}

describe('webhook bodies held at once', () => {
  it('answers 503 with Retry-After to a body that does not fit next to one being received, and keeps the first', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, {
      GITHUB_WEBHOOK_SECRET: 'a-webhook-secret-for-the-test',
      WEBHOOK_MAX_BODY_BYTES: String(LIMIT),
    });
    // a slow sender holds PART bytes and has not finished
    const slow = await openPost(server.url, PART + 1);
    slow.send(PART);
    // a second body of PART bytes does not fit next to it: thrown away as it arrives, then a 503 (the first may
    // not have been read when the second comes in: tried again after a round trip, which lets the server read it)
    let second = { status: 0, head: '', body: '' };
    for (let attempt = 0; attempt < 20 && second.status !== 503; attempt++) {
      expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
      const other = await openPost(server.url, PART);
      other.send(PART);
      second = await other.answer();
    }
    expect(second.status).toBe(503);
    expect(second.head).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(JSON.parse(second.body).error.code).toBe('QUEUE_UNAVAILABLE');
    // the first body is whole: it reaches the signature check (and is refused there, unsigned)
    slow.send(1);
    expect((await slow.answer()).status).toBe(401);
    // its bytes are given back: a body of the same size is read again
    const after = await openPost(server.url, PART);
    after.send(PART);
    expect((await after.answer()).status).toBe(401);
  });
});
