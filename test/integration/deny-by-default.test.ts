import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksumTree, plantCanary } from '../helpers/canary.ts';
import { rawRequest } from '../helpers/raw-request.ts';
import { testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { recordUnhandledRejections } from '../helpers/unhandled-rejections.ts';
import { SECRETS } from '../helpers/webhook-requests.ts';

const TOKEN = 'a-long-enough-test-token-123';

const LOG_LINE = JSON.stringify({
  resourceLogs: [
    {
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: '1700000000123000000',
              body: { stringValue: 'forged line' },
              attributes: [
                { key: 'task.id', value: { stringValue: 'task-forged' } },
                { key: 'task.output.type', value: { stringValue: 'text' } },
              ],
            },
          ],
        },
      ],
    },
  ],
});

// every request in this file runs with a handler that records promise rejections nobody handled
const unhandled = recordUnhandledRejections();

describe('with a token set, no spelling of a private route answers without it', () => {
  const PRIVATE: [string, string][] = [
    ['GET', '/api/tasks'],
    ['GET', '/API/tasks'],
    ['GET', '/Api/Tasks'],
    ['GET', '/api/tasks/'],
    ['GET', '//api/tasks'],
    ['GET', '/api//tasks'],
    ['GET', '/%61pi/tasks'],
    ['GET', '/%41PI/tasks'],
    ['GET', '/api%2ftasks'],
    ['GET', '/api%2Ftasks'],
    ['GET', '/./api/tasks'],
    ['GET', '/healthz/../api/tasks'],
    ['GET', '/healthz/%2e%2e/api/tasks'],
    ['GET', '/webhooks/../api/tasks'],
    ['GET', '/webhooks/github/../../api/tasks'],
    ['GET', '/assets/..%2fapi/tasks'],
    ['GET', '/api/tasks?x=/healthz'],
    ['GET', '/api/tasks;/healthz'],
    ['GET', '/api/tasks#/healthz'],
    ['GET', 'http://127.0.0.1/api/tasks'],
    ['GET', '/api/openapi.json'],
    ['GET', '/api/webhooks/rejections'],
    ['GET', '/api/webhooks/rejections/'],
    ['HEAD', '/api/tasks'],
    ['OPTIONS', '/api/tasks'],
    ['POST', '/api/tasks'],
    ['DELETE', '/api/tasks'],
    ['TRACE', '/api/tasks'],
    ['PROPFIND', '/api/tasks'],
    ['GET', '/api/tasks/task-x/logs/metadata'],
    ['GET', '/API/TASKS/task-x/logs/metadata'],
    ['POST', '/v1/logs'],
    ['POST', '/V1/logs'],
    ['POST', '/v1/LOGS'],
    ['POST', '/v1/logs/'],
    ['POST', '//v1/logs'],
    ['POST', '/v1//logs'],
    ['POST', '/%761/logs'],
    ['POST', '/v1%2flogs'],
    ['POST', '/V1/traces'],
    ['POST', '/healthz/../v1/logs'],
    ['GET', '/dashboard-not-yet-written'],
    ['GET', '*'],
  ];
  it.each(PRIVATE)('%s %s gets 401 JSON and writes nothing', async (method, path) => {
    const root = await tempLogsDir();
    const dir = join(root, 'logs');
    const canary = plantCanary(join(root, 'canary'));
    const before = checksumTree(canary);
    const server = await testServer(dir, { TASK_LOGS_API_TOKEN: TOKEN, HOST: '127.0.0.1', ...SECRETS });
    const response = await rawRequest(server.url, method, path, {
      headers: { 'content-type': 'application/json' },
      body: method === 'GET' || method === 'HEAD' ? undefined : LOG_LINE,
    });
    expect(response.status).toBe(401);
    if (method !== 'HEAD') {
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect(response.body).not.toContain(root);
    }
    await server.telemetry.forceFlush();
    expect(readdirSync(dir).filter((name) => name.startsWith('task-'))).toEqual([]);
    expect((await rawRequest(server.url, 'GET', '/healthz')).status).toBe(200);
    expect(checksumTree(canary)).toBe(before);
  });
});

describe('routes have one spelling; anything else is a 404 or a 405, never a 500', () => {
  const AUTH = { authorization: `Bearer ${TOKEN}` };
  it.each([
    ['GET', '/API/tasks', 404],
    ['GET', '/api/tasks/', 404],
    ['GET', '//api/tasks', 404],
    ['GET', '/api//tasks', 404],
    ['GET', '/%61pi/tasks', 404],
    ['GET', '/api%2ftasks', 404],
    ['GET', '/./api/tasks', 404],
    ['GET', '/healthz/../api/tasks', 404],
    ['GET', '/Healthz', 404],
    ['GET', '/healthz/', 404],
    ['POST', '/V1/logs', 404],
    ['POST', '/v1/logs/', 404],
    ['GET', '/nothing-here', 404],
    ['GET', '*', 404],
    ['TRACE', '/api/tasks', 405],
    ['PROPFIND', '/api/tasks', 405],
    ['DELETE', '/api/tasks', 405],
    ['PUT', '/api/tasks/task-x/logs/metadata', 405],
    ['PATCH', '/healthz', 405],
    ['TRACE', '/healthz', 405],
    ['GET', '/v1/logs', 405],
    ['MKCOL', '/v1/traces', 405],
    ['GET', '/webhooks/github', 405],
    ['SEARCH', '/webhooks/jira', 405],
    ['TRACE', '/nothing-here', 404],
  ])('with the token, %s %s gets %i JSON', async (method, path, status) => {
    const server = await testServer(await tempLogsDir(), { TASK_LOGS_API_TOKEN: TOKEN, HOST: '127.0.0.1' });
    const response = await rawRequest(server.url, method, path, { headers: AUTH });
    expect(response.status).toBe(status);
    const body = JSON.parse(response.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(status === 404 ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED');
    if (status === 405) expect(response.headers.allow).toMatch(/^[A-Z, ]+$/);
    expect((await rawRequest(server.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('OPTIONS lists the methods of a known path', async () => {
    const server = await testServer(await tempLogsDir());
    const response = await rawRequest(server.url, 'OPTIONS', '/api/tasks');
    expect(response.status).toBe(204);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  it.each([
    'FOO /api/tasks HTTP/1.1',
    'GET /api/tasks HTTP/9.9',
    'GET /api/ta sks HTTP/1.1',
    `GET /api/tasks HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}`,
    'GET /api/tasks HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2',
    'GET /api/tasks HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2',
  ])('a request the HTTP parser refuses gets a JSON 4xx: %j', async (head) => {
    const { connect } = await import('node:net');
    const server = await testServer(await tempLogsDir());
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    socket.write(`${head}\r\nHost: x\r\n\r\n`);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    await new Promise((resolve) => socket.on('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: { code: 'REQUEST_INVALID' },
    });
    expect((await rawRequest(server.url, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('after all the requests above', () => {
  it('no promise rejection went unhandled', () => {
    expect(unhandled).toEqual([]);
  });
});
