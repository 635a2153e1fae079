import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OTLP } from '../../src/ingest/otlp-schema.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const PROTO_TYPE = { 'content-type': 'application/x-protobuf' };

type Attr = { key: string; value?: unknown };
const str = (key: string, value: string): Attr => ({ key, value: { stringValue: value } });

function logRecord(taskId: string | undefined, content: string, extra: Record<string, unknown> = {}) {
  const attributes = [str('task.output.type', 'text')];
  if (taskId !== undefined) attributes.push(str('task.id', taskId));
  return {
    timeUnixNano: '1700000000123000000',
    body: { stringValue: content },
    attributes,
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    ...extra,
  };
}

const logs = (...records: unknown[]) => ({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] });

// each request on a connection of its own: a kept-alive one could be closed by the server's idle timeout just as a
// stalled test process sends on it (ECONNRESET at load 25-31; see fresh-fetch.ts)
async function post(url: string, path: string, body: Buffer | string, headers: Record<string, string>) {
  const response = await freshFetch(`${url}${path}`, { method: 'POST', headers, body });
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  };
}

function protoStatus(body: Buffer) {
  return OTLP.status.toObject(OTLP.status.decode(body)) as { code?: number; message?: string };
}

describe('OTLP ingest answers, by the OTLP/HTTP specification', () => {
  it('answers full success with an empty response, and partial success with counts and reasons', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const ok = await post(
      server.url,
      '/v1/logs',
      JSON.stringify(logs(logRecord('task-a', 'one'))),
      JSON_TYPE,
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString())).toEqual({});

    const mixed = logs(
      logRecord('task-a', 'two', { timeUnixNano: '1700000000124000000' }),
      logRecord(undefined, 'no task id'),
      logRecord('../escape', 'bad task id'),
      logRecord('task-a', 'far future', { timeUnixNano: '99999999999999999999999' }),
      logRecord('task-a', 'short id', { traceId: 'abcd' }),
    );
    const partial = await post(server.url, '/v1/logs', JSON.stringify(mixed), JSON_TYPE);
    expect(partial.status).toBe(200);
    const answer = JSON.parse(partial.body.toString());
    expect(answer.partialSuccess.rejectedLogRecords).toBe('4');
    expect(answer.partialSuccess.errorMessage).toMatchInlineSnapshot(
      `"items refused: 1 with no task.id attribute; 1 with a task.id that is not a string of 1-128 characters of [A-Za-z0-9._-] (or is "." or ".."); 1 with a time out of range; 1 with a trace id that is not hex of the right length"`,
    );
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-a')).agentOutput.map((line) => line.content)).toEqual([
      'one',
      'two',
    ]);

    // protobuf: the answer is an ExportTraceServiceResponse in protobuf
    const spans = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.alloc(3, 1),
                  spanId: Buffer.alloc(8, 2),
                  name: 'validation',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000100000000',
                  attributes: [str('task.id', 'task-a'), str('task.stage', 'validation')],
                },
              ],
            },
          ],
        },
      ],
    };
    const body = Buffer.from(OTLP.traceRequest.encode(OTLP.traceRequest.fromObject(spans)).finish());
    const proto = await post(server.url, '/v1/traces', body, PROTO_TYPE);
    expect(proto.status).toBe(200);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(OTLP.traceResponse.toObject(OTLP.traceResponse.decode(proto.body), { longs: Number })).toEqual({
      partialSuccess: {
        rejectedSpans: 1,
        errorMessage: 'items refused: 1 with a trace id that is not 16 bytes',
      },
    });
  });

  it('answers from the admission: an item taken and then not written is counted by the writer, not lost silently', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    writeFileSync(join(dir, 'task-blocked'), 'a file where the task folder would go');
    const answer = await post(
      server.url,
      '/v1/logs',
      JSON.stringify(logs(logRecord('task-blocked', 'x'), logRecord('task-fine', 'y'))),
      JSON_TYPE,
    );
    // the queue took both, so the answer is full success; the write failure shows in the writer's stats
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({});
    await server.telemetry.forceFlush();
    const stats = server.telemetry.writer!.stats();
    expect(stats.dropReasons.write_failed).toBe(1);
    expect(stats.written).toBe(1);
    expect(readTaskFolder(join(dir, 'task-fine')).agentOutput.map((line) => line.content)).toEqual(['y']);
  });

  it('takes gzip, deflate and zstd bodies', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const text = (content: string) => JSON.stringify(logs(logRecord('task-z', content)));
    const codings = [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['zstd', zstdCompressSync],
    ] as const;
    for (const [coding, compress] of codings) {
      const answer = await post(server.url, '/v1/logs', compress(text(coding)), {
        ...JSON_TYPE,
        'content-encoding': coding,
      });
      expect(answer.status).toBe(200);
    }
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-z')).agentOutput).toHaveLength(3);
  });

  it('answers a malformed request 400 with a google.rpc.Status in the request encoding, never a crash', async () => {
    const server = await testServer(await tempLogsDir());
    const json = await post(server.url, '/v1/logs', '{"resourceLogs": [', JSON_TYPE);
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toEqual({ code: 3, message: 'the body is not JSON' });
    const notList = await post(server.url, '/v1/logs', '{"resourceLogs": {}}', JSON_TYPE);
    expect(JSON.parse(notList.body.toString())).toEqual({ code: 3, message: 'resourceLogs is not a list' });

    const valid = Buffer.from(
      OTLP.logsRequest
        .encode(OTLP.logsRequest.fromObject(logs(logRecord('task-p', 'x', { traceId: undefined }))))
        .finish(),
    );
    const bodies = {
      truncated: valid.subarray(0, valid.length - 5),
      'wrong wire type': Buffer.from([0x09, 0x01, 0x02, 0x03]), // field 1 (a message) as a fixed64, cut short
      'huge length prefix': Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]),
      'invalid wire type': Buffer.from([0x0f]),
      'nested too deep': nestedAnyValue(5000),
    };
    for (const [what, body] of Object.entries(bodies)) {
      const answer = await post(server.url, '/v1/logs', body, PROTO_TYPE);
      expect(answer.status, what).toBe(400);
      expect(answer.headers.get('content-type')).toBe('application/x-protobuf');
      const status = protoStatus(answer.body);
      expect(status.code).toBe(3);
      expect(status.message).toMatch(/^the body is not a protobuf ExportLogsServiceRequest/);
    }
    // a known field with a wire type that does not match is skipped like an unknown field, as protobuf parsers do
    const skipped = await post(server.url, '/v1/logs', Buffer.from([0x08, 0x01]), PROTO_TYPE);
    expect(skipped.status).toBe(200);
    expect((await freshFetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers 413 when the body is over the limit after decompression, and 415 for other types and codings', async () => {
    const server = await testServer(await tempLogsDir(), { TASK_LOGS_OTLP_MAX_BODY_BYTES: '65536' });
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 32)); // 50 MB of spaces, about 50 KB gzipped
    const inflated = await post(server.url, '/v1/logs', bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect(JSON.parse(inflated.body.toString())).toEqual({
      code: 3,
      message: 'the body is larger than the 65536 bytes allowed after decompression',
    });
    const plain = await post(server.url, '/v1/logs', Buffer.alloc(70_000, 32), PROTO_TYPE);
    expect(plain.status).toBe(413);
    expect(protoStatus(plain.body).code).toBe(3);

    const text = await post(server.url, '/v1/logs', 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(JSON.parse(text.body.toString())).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const brotli = await post(server.url, '/v1/logs', 'x', { ...PROTO_TYPE, 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
    expect(protoStatus(brotli.body)).toEqual({ code: 3, message: 'unsupported Content-Encoding' });
    // OTLP/JSON is UTF-8 (RFC 8259): a body said to be another charset is refused, not read as UTF-8
    const utf16 = Buffer.from('\ufeff{"resourceLogs":[]}', 'utf16le');
    for (const charset of ['utf-16', '"UTF-16LE"', 'latin1']) {
      const other = await post(server.url, '/v1/logs', utf16, {
        'content-type': `application/json; charset=${charset}`,
      });
      expect(other.status).toBe(415);
      expect(JSON.parse(other.body.toString())).toEqual({
        code: 3,
        message: 'OTLP/JSON is UTF-8: send it without a charset or with charset=utf-8',
      });
    }
    for (const charset of ['utf-8', 'UTF-8', '"utf-8"', 'utf8']) {
      const utf8 = await post(server.url, '/v1/logs', '{"resourceLogs":[]}', {
        'content-type': `application/json; charset=${charset}`,
      });
      expect(utf8.status).toBe(200);
    }
  });

  it('answers 429 with Retry-After when too many requests are in flight', async () => {
    const server = await testServer(await tempLogsDir(), { TASK_LOGS_OTLP_MAX_REQUESTS: '1' });
    const { port } = new URL(server.url);
    // one request whose body never finishes holds the only slot
    const held = httpRequest({
      agent: false,
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/v1/logs',
      headers: { ...JSON_TYPE, 'content-length': '1000' },
    });
    held.on('error', () => undefined);
    held.write('{"resourceLogs":');
    const answered = new Promise<number>((resolve) => held.on('response', (r) => resolve(r.statusCode!)));
    // polled until the held request has its slot (a safety net of 60 s for a loaded machine, not a timing)
    await expect
      .poll(
        async () => {
          const answer = await post(server.url, '/v1/logs', JSON.stringify(logs()), JSON_TYPE);
          return { status: answer.status, retryAfter: answer.headers.get('retry-after') };
        },
        { timeout: 60_000 },
      )
      .toEqual({ status: 429, retryAfter: '1' });
    held.end(' '.repeat(1000 - 16));
    expect(await answered).toBe(400);
    const after = await post(server.url, '/v1/logs', JSON.stringify(logs()), JSON_TYPE);
    expect(after.status).toBe(200);
  });

  it('answers 503 with Retry-After to a body that does not fit beside the bodies still arriving', async () => {
    const server = await testServer(await tempLogsDir(), {
      TASK_LOGS_OTLP_MAX_BODY_BYTES: String(64 * 1024),
    });
    const { port } = new URL(server.url);
    const send = () => {
      const req = httpRequest({
        agent: false,
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/v1/logs',
        headers: JSON_TYPE,
      });
      req.on('error', () => undefined);
      const answered = new Promise<{ status: number; retryAfter: string | undefined }>((resolve) =>
        req.on('response', (r) => {
          r.resume();
          resolve({ status: r.statusCode!, retryAfter: r.headers['retry-after'] as string | undefined });
        }),
      );
      return { req, answered };
    };
    // a slow sender holds 40 KiB of its body and does not finish
    const slow = send();
    slow.req.write(`{"resourceLogs":[]${' '.repeat(40 * 1024)}`);
    // polled until the slow body holds its share (a safety net of 60 s for a loaded machine, not a timing)
    await expect
      .poll(
        async () => {
          const other = send();
          other.req.end(`{"resourceLogs":[]${' '.repeat(40 * 1024)}}`);
          return other.answered;
        },
        { timeout: 60_000 },
      )
      .toEqual({ status: 503, retryAfter: '1' });
    slow.req.end('}');
    expect((await slow.answered).status).toBe(200);
  });

  it('answers 503 with Retry-After when the writer has no room, and queues nothing of that request', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, { TASK_LOGS_MAX_QUEUE: '16' });
    const many = logs(
      ...Array.from({ length: 20 }, (_, i) =>
        logRecord('task-q', `line ${i}`, { timeUnixNano: `${1700000000000000000n + BigInt(i)}` }),
      ),
    );
    const full = await post(server.url, '/v1/logs', JSON.stringify(many), JSON_TYPE);
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(full.body.toString())).toEqual({
      code: 14,
      message: 'the task file writer is full; retry later',
    });
    const few = logs(logRecord('task-q', 'fits'));
    expect((await post(server.url, '/v1/logs', JSON.stringify(few), JSON_TYPE)).status).toBe(200);
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-q')).agentOutput.map((line) => line.content)).toEqual(['fits']);
  });

  it('answers 503 when the server writes no task files, and 401 without the token', async () => {
    const off = await testServer(await tempLogsDir(), { TASK_LOGS_ENABLED: 'false' });
    const answer = await post(off.url, '/v1/logs', JSON.stringify(logs()), JSON_TYPE);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body.toString())).toEqual({
      code: 14,
      message: 'this server writes no task files',
    });
    const guarded = await testServer(await tempLogsDir(), {
      TASK_LOGS_API_TOKEN: 'a-long-enough-test-token-123',
    });
    expect((await post(guarded.url, '/v1/logs', JSON.stringify(logs()), JSON_TYPE)).status).toBe(401);
    const withToken = await post(guarded.url, '/v1/logs', JSON.stringify(logs()), {
      ...JSON_TYPE,
      authorization: 'Bearer a-long-enough-test-token-123',
    });
    expect(withToken.status).toBe(200);
  });
});

describe('hostile OTLP values (issue 9) are refused item by item, never a crash', () => {
  it('refuses out-of-range times, null values, keys without values and deep nesting; keeps deep JSON as text', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    let deep: unknown = { stringValue: 'bottom' };
    for (let i = 0; i < 40; i++) deep = { kvlistValue: { values: [{ key: 'k', value: deep }] } };
    const brackets = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const records = logs(
      logRecord('task-h', 'nulls', {
        timeUnixNano: '1700000000000000001',
        attributes: [
          str('task.id', 'task-h'),
          str('task.output.type', 'tool_call'),
          { key: 'task.output.details', value: { arrayValue: { values: [null] } } },
          { key: 'no.value' },
          { key: 'null.value', value: null },
          str('task.tool.input', brackets),
        ],
      }),
      logRecord('task-h', 'deep', { body: deep }),
      logRecord('task-h', 'negative', { timeUnixNano: '-5' }),
    );
    const answer = await post(server.url, '/v1/logs', JSON.stringify(records), JSON_TYPE);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString()).partialSuccess).toEqual({
      rejectedLogRecords: '2',
      errorMessage: 'items refused: 1 with a value nested deeper than 32 levels; 1 with a time out of range',
    });
    const spans = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'c'.repeat(32),
                  spanId: 'd'.repeat(16),
                  name: 'validation',
                  startTimeUnixNano: '-1000000000000000000000',
                  endTimeUnixNano: '1700000000100000000',
                  attributes: [str('task.id', 'task-h'), str('task.stage', 'validation')],
                },
              ],
            },
          ],
        },
      ],
    };
    const span = await post(server.url, '/v1/traces', JSON.stringify(spans), JSON_TYPE);
    expect(JSON.parse(span.body.toString()).partialSuccess.rejectedSpans).toBe('1');
    await server.telemetry.forceFlush();
    const [line] = readTaskFolder(join(dir, 'task-h')).agentOutput;
    expect(line).toMatchObject({ type: 'tool_call', content: 'nulls', input: brackets });
    expect((await freshFetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.telemetry.writer?.stats().errors).toBe(0);
  });
});

describe('attribute keys of any length (walk8: 20 MiB of keys held the event loop ~1.3 s)', () => {
  it('refuses an item with a key longer than 4,096 characters, in attributes or a key-value body, JSON or protobuf', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const long = 'k'.repeat(4097);
    const records = logs(
      logRecord('task-keys', 'long attribute key', {
        attributes: [str('task.id', 'task-keys'), str('task.output.type', 'text'), str(long, 'v')],
      }),
      logRecord('task-keys', 'long body key', { body: { kvlistValue: { values: [str(long, 'v')] } } }),
      logRecord('task-keys', 'kept', {
        attributes: [
          str('task.id', 'task-keys'),
          str('task.output.type', 'text'),
          str('k'.repeat(4096), 'v'),
        ],
      }),
    );
    const json = await post(server.url, '/v1/logs', JSON.stringify(records), JSON_TYPE);
    expect(JSON.parse(json.body.toString()).partialSuccess).toEqual({
      rejectedLogRecords: '2',
      errorMessage: 'items refused: 2 with an attribute key longer than 4096 characters',
    });
    // the same records without the hex ids, which protobuf's fromObject would read as base64
    const noIds = JSON.parse(JSON.stringify(records), (key, value) =>
      key === 'traceId' || key === 'spanId' ? undefined : value,
    );
    const body = Buffer.from(OTLP.logsRequest.encode(OTLP.logsRequest.fromObject(noIds)).finish());
    const proto = await post(server.url, '/v1/logs', body, PROTO_TYPE);
    expect(proto.status).toBe(200);
    const answer = OTLP.logsResponse.toObject(OTLP.logsResponse.decode(proto.body), { longs: Number });
    expect(answer.partialSuccess).toEqual({
      rejectedLogRecords: 2,
      errorMessage: 'items refused: 2 with an attribute key longer than 4096 characters',
    });
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-keys')).agentOutput.map((line) => line.content)).toEqual([
      'kept',
      'kept',
    ]);
  });
});

describe('items with a task.id that the mapping has no place for (fix9: answered 200 and written nowhere)', () => {
  it('refuses a log record without or with an unknown task.output.type, and a span with an unknown stage or status, JSON and protobuf', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const typed = (type: Attr | undefined, content: string, time: string) =>
      logRecord('task-place', content, {
        timeUnixNano: time,
        attributes: [str('task.id', 'task-place'), ...(type === undefined ? [] : [type])],
      });
    const records = logs(
      typed(undefined, 'no type', '1700000000000000001'),
      typed(str('task.output.type', '<script>'), 'unknown type', '1700000000000000002'),
      typed({ key: 'task.output.type', value: { intValue: '5' } }, 'a number', '1700000000000000003'),
      typed(str('task.output.type', 'text'), 'kept', '1700000000000000004'),
    );
    const span = (id: string, attributes: Attr[]) => ({
      traceId: 'c'.repeat(32),
      spanId: id.repeat(16),
      name: 'x',
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000100000000',
      attributes: [str('task.id', 'task-place'), ...attributes],
    });
    const spans = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                span('1', [str('task.stage', 'bogus')]),
                span('2', [str('task.status', 'exploded')]),
                span('3', [str('task.stage', 'validation')]),
                span('4', []), // the task root: task.id only, by the contract written nowhere and not refused
              ],
            },
          ],
        },
      ],
    };
    const logReason =
      'items refused: 1 with no task.output.type attribute; 2 with a task.output.type that is not one of system, thinking, text, tool_call, tool_result, final, error';
    const spanReason =
      'items refused: 1 with a task.stage that is not one of received, validation, command_matching, immediate_response, task_created, queue_push; 1 with a task.status that is not one of queued, running, completed, failed, rejected';

    const jsonLogs = await post(server.url, '/v1/logs', JSON.stringify(records), JSON_TYPE);
    expect(JSON.parse(jsonLogs.body.toString()).partialSuccess).toEqual({
      rejectedLogRecords: '3',
      errorMessage: logReason,
    });
    const jsonSpans = await post(server.url, '/v1/traces', JSON.stringify(spans), JSON_TYPE);
    expect(JSON.parse(jsonSpans.body.toString()).partialSuccess).toEqual({
      rejectedSpans: '2',
      errorMessage: spanReason,
    });

    // protobuf: the same items for another task (so that nothing is a repeat), the hex ids as bytes (fromObject
    // would read a string as base64)
    const again = (value: unknown) =>
      JSON.parse(JSON.stringify(value).replaceAll('task-place', 'task-place-pb'), (key, v) =>
        key === 'traceId' || key === 'spanId' ? (typeof v === 'string' ? Buffer.from(v, 'hex') : v) : v,
      );
    const logsBody = Buffer.from(
      OTLP.logsRequest.encode(OTLP.logsRequest.fromObject(again(records))).finish(),
    );
    const protoLogs = await post(server.url, '/v1/logs', logsBody, PROTO_TYPE);
    expect(OTLP.logsResponse.toObject(OTLP.logsResponse.decode(protoLogs.body), { longs: Number })).toEqual({
      partialSuccess: { rejectedLogRecords: 3, errorMessage: logReason },
    });
    const spansBody = Buffer.from(
      OTLP.traceRequest.encode(OTLP.traceRequest.fromObject(again(spans))).finish(),
    );
    const protoSpans = await post(server.url, '/v1/traces', spansBody, PROTO_TYPE);
    expect(
      OTLP.traceResponse.toObject(OTLP.traceResponse.decode(protoSpans.body), { longs: Number }),
    ).toEqual({
      partialSuccess: { rejectedSpans: 2, errorMessage: spanReason },
    });

    await server.telemetry.forceFlush();
    for (const task of ['task-place', 'task-place-pb']) {
      const folder = readTaskFolder(join(dir, task));
      expect(folder.agentOutput.map((line) => line.content)).toEqual(['kept']);
      expect(folder.webhookFlow.map((line) => line.stage)).toEqual(['validation']);
    }
    // nothing was taken that the writer then ignored
    expect(server.telemetry.writer!.stats().ignored).toBe(1 * 2); // the two task roots
  });
});

describe('keys named __proto__, constructor and prototype (fix9)', () => {
  it('are kept as plain data in attributes, key-value bodies, details and stage fields, JSON and protobuf, and set no prototype', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const kv = (...pairs: Attr[]) => ({ kvlistValue: { values: pairs } });
    const odd = [
      { key: '__proto__', value: kv(str('polluted', 'yes')) },
      str('constructor', 'c'),
      str('prototype', 'p'),
    ];
    const records = (task: string) =>
      logs(
        logRecord(task, 'body', { timeUnixNano: '1700000000000000001', body: kv(...odd) }),
        logRecord(task, 'details', {
          timeUnixNano: '1700000000000000002',
          attributes: [
            str('task.id', task),
            str('task.output.type', 'text'),
            str('task.output.details', '{"__proto__":{"x":1},"constructor":"c","toString":"t"}'),
          ],
        }),
        // its task.id and type only in an attribute named __proto__: as a prototype they would be found
        logRecord(undefined, 'hidden', {
          timeUnixNano: '1700000000000000003',
          attributes: [
            { key: '__proto__', value: kv(str('task.id', task), str('task.output.type', 'text')) },
          ],
        }),
      );
    const spans = (task: string) => ({
      resourceSpans: [
        {
          resource: { attributes: odd },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'c'.repeat(32),
                  spanId: 'd'.repeat(16),
                  name: 'validation',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000100000000',
                  attributes: [
                    str('task.id', task),
                    str('task.stage', 'validation'),
                    str('task.stage.__proto__', 'x'),
                    str('task.stage.constructor', 'c'),
                    ...odd,
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const refused = { errorMessage: 'items refused: 1 with no task.id attribute' };
    const json = await post(server.url, '/v1/logs', JSON.stringify(records('task-proto')), JSON_TYPE);
    expect(JSON.parse(json.body.toString()).partialSuccess).toEqual({ rejectedLogRecords: '1', ...refused });
    const jsonSpans = await post(server.url, '/v1/traces', JSON.stringify(spans('task-proto')), JSON_TYPE);
    expect(JSON.parse(jsonSpans.body.toString())).toEqual({});

    const protobuf = (value: unknown) =>
      JSON.parse(JSON.stringify(value), (key, v) =>
        (key === 'traceId' || key === 'spanId') && typeof v === 'string' ? Buffer.from(v, 'hex') : v,
      );
    const logsBody = OTLP.logsRequest.encode(OTLP.logsRequest.fromObject(protobuf(records('task-proto-pb'))));
    const proto = await post(server.url, '/v1/logs', Buffer.from(logsBody.finish()), PROTO_TYPE);
    expect(OTLP.logsResponse.toObject(OTLP.logsResponse.decode(proto.body), { longs: Number })).toEqual({
      partialSuccess: { rejectedLogRecords: 1, ...refused },
    });
    const spansBody = OTLP.traceRequest.encode(
      OTLP.traceRequest.fromObject(protobuf(spans('task-proto-pb'))),
    );
    const protoSpans = await post(server.url, '/v1/traces', Buffer.from(spansBody.finish()), PROTO_TYPE);
    expect(OTLP.traceResponse.toObject(OTLP.traceResponse.decode(protoSpans.body))).toEqual({});

    await server.telemetry.forceFlush();
    for (const task of ['task-proto', 'task-proto-pb']) {
      const folder = readTaskFolder(join(dir, task));
      const [body, details] = folder.agentOutput;
      expect(folder.agentOutput).toHaveLength(2);
      expect(body!.content).toBe('{"__proto__":{"polluted":"yes"},"constructor":"c","prototype":"p"}');
      expect(Object.keys(details!)).toEqual(
        expect.arrayContaining(['__proto__', 'constructor', 'toString', 'content']),
      );
      expect(JSON.stringify(Object.getOwnPropertyDescriptor(details, '__proto__')?.value)).toBe('{"x":1}');
      const [stage] = folder.webhookFlow;
      expect(Object.getOwnPropertyDescriptor(stage, '__proto__')?.value).toBe('x');
      expect(stage).toMatchObject({ stage: 'validation', constructor: 'c' });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('task.id');
  });
});

/** an ExportLogsServiceRequest whose one log record body nests `depth` array values */
function nestedAnyValue(depth: number): Buffer {
  let value = OTLP.logsRequest.lookupType('AnyValue').encode({ stringValue: 'x' }).finish();
  for (let i = 0; i < depth; i++) {
    const array = Buffer.concat([Buffer.from([0x0a]), varint(value.length), value]); // ArrayValue.values = 1
    value = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]); // AnyValue.array_value = 5
  }
  const record = Buffer.concat([Buffer.from([0x2a]), varint(value.length), value]); // LogRecord.body = 5
  const scope = Buffer.concat([Buffer.from([0x12]), varint(record.length), record]); // ScopeLogs.log_records = 2
  const resource = Buffer.concat([Buffer.from([0x12]), varint(scope.length), scope]); // ResourceLogs.scope_logs = 2
  return Buffer.concat([Buffer.from([0x0a]), varint(resource.length), resource]); // resource_logs = 1
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
