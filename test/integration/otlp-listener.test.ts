// The separate OTLP ingest listener (OTLP_INGEST_PORT): its own token, only the two OTLP routes, the same ingest as
// the API listener (limits, dedupe memory), and the same start-up refusals.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { rawRequest } from '../helpers/raw-request.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const API_TOKEN = 'api-token-for-the-operators-1';
const INGEST_TOKEN = 'ingest-token-for-the-collector-2';
const JSON_TYPE = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ ...JSON_TYPE, authorization: `Bearer ${token}` });

const logs = (taskId: string, content: string, time = '1700000000123000000') =>
  JSON.stringify({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: time,
                body: { stringValue: content },
                attributes: [
                  { key: 'task.id', value: { stringValue: taskId } },
                  { key: 'task.output.type', value: { stringValue: 'text' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });

async function post(base: string, path: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await freshFetch(`${base}${path}`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.text() };
}

describe('the separate OTLP ingest listener (OTLP_INGEST_PORT)', () => {
  it('takes the ingest token only, the API port the API token only, and both write through one ingest', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, {
      TASK_LOGS_API_TOKEN: API_TOKEN,
      OTLP_INGEST_TOKEN: INGEST_TOKEN,
      OTLP_INGEST_PORT: '0',
      HOST: '127.0.0.1',
    });
    const ingest = server.ingest!.url;
    expect(new URL(ingest).port).not.toBe(new URL(server.url).port);

    expect((await post(ingest, '/v1/logs', logs('task-l', 'one'), bearer(INGEST_TOKEN))).status).toBe(200);
    const withApiToken = await post(ingest, '/v1/logs', logs('task-l', 'x'), bearer(API_TOKEN));
    expect(withApiToken.status).toBe(401);
    expect(JSON.parse(withApiToken.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await post(ingest, '/v1/traces', logs('task-l', 'x'), JSON_TYPE)).status).toBe(401);

    // the API listener's OTLP routes keep the API token, and the ingest token opens nothing there
    expect((await post(server.url, '/v1/logs', logs('task-l', 'x'), bearer(INGEST_TOKEN))).status).toBe(401);
    const second = logs('task-l', 'two', '1700000000124000000');
    expect((await post(server.url, '/v1/logs', second, bearer(API_TOKEN))).status).toBe(200);
    expect((await freshFetch(`${server.url}/api/tasks`, { headers: bearer(INGEST_TOKEN) })).status).toBe(401);

    // one memory of items taken: the same record through the other listener is not written again
    expect((await post(ingest, '/v1/logs', second, bearer(INGEST_TOKEN))).status).toBe(200);
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, 'task-l')).agentOutput.map((line) => line.content)).toEqual([
      'one',
      'two',
    ]);
  });

  it('serves nothing but the two OTLP routes, matched on the raw path', async () => {
    const server = await testServer(await tempLogsDir(), {
      TASK_LOGS_API_TOKEN: API_TOKEN,
      OTLP_INGEST_TOKEN: INGEST_TOKEN,
      OTLP_INGEST_PORT: '0',
      HOST: '127.0.0.1',
    });
    const ingest = server.ingest!.url;
    const auth = { authorization: `Bearer ${INGEST_TOKEN}` };
    const notHere: [string, string][] = [
      ['GET', '/healthz'],
      ['GET', '/api/tasks'],
      ['GET', '/'],
      ['GET', '/assets/app.js'],
      ['POST', '/webhooks/github'],
      ['POST', '/v1/metrics'],
      ['POST', '/v1/logs/'],
      ['POST', '/v1//logs'],
      ['POST', '//v1/logs'],
      ['POST', '/V1/logs'],
      ['POST', '/%761/logs'],
      ['POST', '/v1%2flogs'],
      ['POST', '/healthz/../v1/logs'],
    ];
    for (const [method, path] of notHere) {
      const answer = await rawRequest(ingest, method, path, {
        headers: { ...JSON_TYPE, ...auth },
        ...(method === 'POST' ? { body: logs('task-x', 'x') } : {}),
      });
      expect({ method, path, status: answer.status }).toEqual({ method, path, status: 404 });
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    // nothing is public here: without the token even /healthz is refused
    expect((await rawRequest(ingest, 'GET', '/healthz')).status).toBe(401);
    expect((await rawRequest(ingest, 'GET', '/v1/logs', { headers: auth })).status).toBe(405);
  });

  it('has the same body limits as the API listener: 413 for a large body and for a gzip bomb', async () => {
    const server = await testServer(await tempLogsDir(), {
      OTLP_INGEST_PORT: '0',
      TASK_LOGS_OTLP_MAX_BODY_BYTES: '65536',
    });
    const ingest = server.ingest!.url;
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 32));
    const inflated = await post(ingest, '/v1/logs', bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect(JSON.parse(inflated.body)).toEqual({
      code: 3,
      message: 'the body is larger than the 65536 bytes allowed after decompression',
    });
    const plain = await post(ingest, '/v1/logs', Buffer.alloc(70_000, 32), JSON_TYPE);
    expect(plain.status).toBe(413);
    // no token anywhere: loopback only, and the ingest needs none
    expect((await post(ingest, '/v1/logs', logs('task-n', 'ok'), JSON_TYPE)).status).toBe(200);
  });

  it('falls back to the API token when OTLP_INGEST_TOKEN is unset', async () => {
    const server = await testServer(await tempLogsDir(), {
      TASK_LOGS_API_TOKEN: API_TOKEN,
      OTLP_INGEST_PORT: '0',
      HOST: '127.0.0.1',
    });
    expect((await post(server.ingest!.url, '/v1/logs', logs('t-f', 'x'), bearer(API_TOKEN))).status).toBe(
      200,
    );
    expect((await post(server.ingest!.url, '/v1/logs', logs('t-f', 'x'), JSON_TYPE)).status).toBe(401);
  });

  it('refuses a network address without a token, and settings that need OTLP_INGEST_PORT without it', async () => {
    const dir = await tempLogsDir();
    const open = loadConfig({
      env: { TASK_LOGS_DIR: dir, PORT: '0', OTLP_INGEST_PORT: '0', OTLP_INGEST_HOST: '0.0.0.0' },
    });
    await expect(startServer(open, { log: () => undefined })).rejects.toThrow(
      'OTLP_INGEST_HOST="0.0.0.0" would open the OTLP ingest to the network without a token',
    );
    expect(() => loadConfig({ env: { TASK_LOGS_DIR: dir, OTLP_INGEST_TOKEN: INGEST_TOKEN } })).toThrow(
      'OTLP_INGEST_TOKEN and OTLP_INGEST_HOST are for the separate ingest listener',
    );
    expect(() => loadConfig({ env: { TASK_LOGS_DIR: dir, PORT: '4318', OTLP_INGEST_PORT: '4318' } })).toThrow(
      'OTLP_INGEST_PORT=4318 is also PORT',
    );
  });
});
