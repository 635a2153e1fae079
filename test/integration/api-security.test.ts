import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

/** Sends a path exactly as given (fetch would normalise the dots away before they reach the server). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SECRET = '{"secret":"outside the logs folder"}';

describe('requests that try to read outside TASK_LOGS_DIR', () => {
  it.each([
    '/api/tasks/../logs/metadata',
    '/api/tasks/..%2f..%2fsecret/logs/metadata',
    '/api/tasks/%2e%2e/logs/metadata',
    '/api/tasks/%252e%252e%252fsecret/logs/metadata',
    '/api/tasks/..%252f..%252fsecret/logs/full',
    '/api/tasks/%2e%2e%2f%2e%2e%2fsecret/logs/input',
    '/api/tasks/task%00x/logs/metadata',
    '/api/tasks/%E2%80%AEtask/logs/metadata',
    '/api/tasks/%/logs/metadata',
    `/api/tasks/${'x'.repeat(500)}/logs/metadata`,
  ])('%s gets a 4xx JSON error and no file', async (path) => {
    const root = await tempLogsDir();
    await writeFile(join(root, 'secret'), SECRET); // one level above the logs folder
    const server = await testServer(join(root, 'tasks'));
    const { status, body } = await rawGet(server.url, path);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(body).not.toContain('outside the logs folder');
    expect(JSON.parse(body)).toHaveProperty('error.code');
  });

  it('does not follow symlinks planted in a task folder, or a task folder that is a symlink', async () => {
    const root = await tempLogsDir();
    const outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.json'), SECRET);
    await writeFile(join(outside, 'secret.jsonl'), `${SECRET}\n`);
    const logs = join(root, 'tasks');
    const server = await testServer(logs);
    await recordSampleTask(server.telemetry.tasks, { taskId: 'task-real' });
    await server.telemetry.forceFlush();
    const folder = join(logs, 'task-planted');
    await mkdir(folder);
    await symlink(join(outside, 'secret.json'), join(folder, 'metadata.json'));
    await symlink(join(outside, 'secret.json'), join(folder, '04-final-result.json'));
    await symlink(join(outside, 'secret.jsonl'), join(folder, '03-agent-output.jsonl'));
    await symlink(outside, join(logs, 'task-linked'));

    const api = `${server.url}/api/tasks`;
    expect((await getJson(`${api}/task-planted/logs/metadata`)).status).toBe(404);
    expect((await getJson(`${api}/task-planted/logs/final-result`)).status).toBe(404);
    expect((await getJson(`${api}/task-planted/logs/agent-output`)).body).toEqual([]);
    const full = await freshFetch(`${api}/task-planted/logs/full`).then((r) => r.text());
    expect(full).not.toContain('outside the logs folder');
    expect(await getJson(`${api}/task-linked/logs/metadata`)).toMatchObject({
      status: 404,
      body: { error: { code: 'TASK_NOT_FOUND' } },
    });
    expect((await getJson(`${api}/task-real/logs/metadata`)).status).toBe(200);
  });
});

describe('the API token', () => {
  it('is required on every /api route when TASK_LOGS_API_TOKEN is set, compared in constant time', async () => {
    const dir = await tempLogsDir();
    const token = 'a-long-enough-test-token-123';
    const server = await testServer(dir, { TASK_LOGS_API_TOKEN: token });
    expect(server.server.address()).toMatchObject({ address: '0.0.0.0' });
    const url = `${server.url}/api/tasks`;
    const missing = await getJson(url);
    expect(missing).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED', message: 'this API needs "Authorization: Bearer <token>"' } },
    });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="task-logs"');
    for (const header of [`Bearer ${token}x`, 'Bearer x', `Basic ${token}`, `Bearer`, token]) {
      expect((await getJson(url, { headers: { Authorization: header } })).status).toBe(401);
    }
    expect((await getJson(`${server.url}/api/openapi.json`)).status).toBe(401);
    expect((await getJson(url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
  });

  it('without a token, the server listens on loopback only', async () => {
    const server = await testServer(await tempLogsDir());
    expect(server.server.address()).toMatchObject({ address: '127.0.0.1' });
    expect((await getJson(`${server.url}/api/tasks`)).status).toBe(200);
  });

  it('refuses to start with a short token, without printing it', async () => {
    const { loadConfig } = await import('../../src/config.ts');
    expect(() => loadConfig({ env: { TASK_LOGS_API_TOKEN: 'short' } })).toThrowErrorMatchingInlineSnapshot(`
      [TaskLogsError: invalid settings:
        TASK_LOGS_API_TOKEN=(hidden): expected a token of at least 16 characters]
    `);
  });

  it('refuses a token with a space in it, which no Bearer header could carry, without printing it', async () => {
    const { loadConfig } = await import('../../src/config.ts');
    for (const name of ['TASK_LOGS_API_TOKEN', 'OTLP_INGEST_TOKEN']) {
      const env = { [name]: 'correct horse battery staple', OTLP_INGEST_PORT: '4318' };
      expect(() => loadConfig({ env })).toThrow(`${name}=(hidden): expected a token without spaces`);
    }
  });
});
