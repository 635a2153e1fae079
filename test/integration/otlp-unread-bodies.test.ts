// An OTLP request answered before its body is read (413 from its declared length, 429, 503) must leave the connection
// in a state both sides agree on: either the server drains the body (bounded by the body limit) and the connection
// goes on serving, or the answer says Connection: close and the server closes it. A body it neither reads nor
// refuses to read would swallow the client's next request on that connection, or keep the server draining gigabytes.
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const LIMIT = 64 * 1024;

/** a raw connection: what the server sent so far, and whether it closed */
async function openConnection(base: string) {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('error', () => undefined); // a reset after the server closed is expected
  const closed = once(socket, 'close');
  /** resolves once `count` whole answers (status line to the end of the body) arrived */
  const answers = async (count: number) => {
    for (;;) {
      const found = [...text.matchAll(/HTTP\/1\.1 (\d+)[^\r]*\r\n([\s\S]*?)\r\n\r\n/g)];
      const complete = found.filter((m) => {
        const length = Number(/content-length: (\d+)/i.exec(m[2]!)?.[1] ?? 0);
        return text.length >= m.index + m[0].length + length;
      });
      if (complete.length >= count)
        return complete.map((m) => ({ status: Number(m[1]), headers: m[2]!.toLowerCase() }));
      await Promise.race([once(socket, 'data'), closed]);
      if (socket.destroyed && [...text.matchAll(/HTTP\/1\.1 /g)].length < count)
        throw new Error(`closed after ${JSON.stringify(text.slice(0, 300))}`);
    }
  };
  return { socket, closed, answers };
}

const head = (length: number) =>
  `POST /v1/logs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('OTLP answers given before the body is read', () => {
  it('a body declared far past the limit: 413 with Connection: close, and the connection is closed, not drained', async () => {
    const server = await testServer(await tempLogsDir(), { TASK_LOGS_OTLP_MAX_BODY_BYTES: String(LIMIT) });
    const conn = await openConnection(server.url);
    conn.socket.write(head(200 * 1024 * 1024));
    const [answer] = await conn.answers(1);
    expect(answer!.status).toBe(413);
    expect(answer!.headers).toContain('connection: close');
    await conn.closed; // without a byte of the body sent
  });

  it('429 before the body is read: a body within the limit is drained and the connection serves the next request', async () => {
    const server = await testServer(await tempLogsDir(), { TASK_LOGS_OTLP_MAX_REQUESTS: '1' });
    const held = await holdTheOnlySlot(server.url);
    const conn = await openConnection(server.url);
    const body = `{"resourceLogs":[]}${' '.repeat(100 * 1024)}`;
    conn.socket.write(`${head(body.length)}${body.slice(0, 1000)}`);
    const [first] = await conn.answers(1);
    expect(first!.status).toBe(429);
    expect(first!.headers).not.toContain('connection: close');
    conn.socket.write(body.slice(1000));
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
    expect((await conn.answers(2)).map((a) => a.status)).toEqual([429, 200]);
    held.socket.destroy();
  });

  it('429 before the body is read: a body declared past the limit, or of unknown length, closes the connection', async () => {
    const server = await testServer(await tempLogsDir(), {
      TASK_LOGS_OTLP_MAX_REQUESTS: '1',
      TASK_LOGS_OTLP_MAX_BODY_BYTES: String(LIMIT),
    });
    const held = await holdTheOnlySlot(server.url);
    for (const headers of [
      head(LIMIT + 1),
      'POST /v1/logs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    ]) {
      const conn = await openConnection(server.url);
      conn.socket.write(headers);
      const [first] = await conn.answers(1);
      expect(first!.status).toBe(429);
      expect(first!.headers).toContain('connection: close');
      await conn.closed;
    }
    held.socket.destroy();
  });
});

/** a request whose body never finishes, holding the only request slot (polled until a whole request gets 429) */
async function holdTheOnlySlot(base: string) {
  const held = await openConnection(base);
  held.socket.write(`${head(1000)}{"resourceLogs":`);
  const tiny = '{"resourceLogs":[]}';
  for (;;) {
    const probe = await openConnection(base);
    probe.socket.write(`${head(tiny.length)}${tiny}`);
    const [answer] = await probe.answers(1);
    probe.socket.destroy();
    if (answer!.status === 429) return held;
  }
}

describe('any answer given before the body is read', () => {
  const post = (path: string, type: string, length: number, extra = '') =>
    `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${extra}\r\n`;

  it('a body past the limit that nobody reads (401, 415, 404) closes the connection instead of draining it', async () => {
    const server = await testServer(await tempLogsDir(), {
      TASK_LOGS_API_TOKEN: 'a-token-of-sixteen-chars-or-more',
      TASK_LOGS_OTLP_MAX_BODY_BYTES: String(LIMIT),
    });
    const auth = 'Authorization: Bearer a-token-of-sixteen-chars-or-more\r\n';
    for (const [request, status] of [
      [post('/v1/logs', 'application/json', 200 * 1024 * 1024), 401],
      [post('/v1/logs', 'text/plain', 200 * 1024 * 1024, auth), 415],
      [post('/v1/logs', 'application/json; charset=latin1', 200 * 1024 * 1024, auth), 415],
      [post('/nowhere', 'application/json', 200 * 1024 * 1024, auth), 404],
    ] as const) {
      const conn = await openConnection(server.url);
      conn.socket.write(request);
      const [answer] = await conn.answers(1);
      expect(answer!.status, request).toBe(status);
      expect(answer!.headers, request).toContain('connection: close');
      await conn.closed; // without a byte of the body sent
    }
  });

  it('a small body that nobody reads is drained and the connection serves the next request', async () => {
    const server = await testServer(await tempLogsDir(), {
      TASK_LOGS_API_TOKEN: 'a-token-of-sixteen-chars-or-more',
    });
    const conn = await openConnection(server.url);
    const body = `{"resourceLogs":[]}${' '.repeat(1000)}`;
    conn.socket.write(`${post('/v1/logs', 'application/json', body.length)}${body.slice(0, 10)}`);
    const [first] = await conn.answers(1);
    expect(first!.status).toBe(401);
    expect(first!.headers).not.toContain('connection: close');
    const auth = 'Authorization: Bearer a-token-of-sixteen-chars-or-more\r\n';
    const read = '{"resourceLogs":[]}';
    conn.socket.write(`${body.slice(10)}${post('/v1/logs', 'application/json', read.length, auth)}${read}`);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
    const answers = await conn.answers(3);
    expect(answers.map((a) => a.status)).toEqual([401, 200, 200]);
    for (const answer of answers) expect(answer.headers).not.toContain('connection: close');
  });
});
