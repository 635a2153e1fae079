import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TASK_FILES } from '../../src/contract/task-files.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { recordSampleTask, SAMPLE_INPUT } from '../helpers/sample-task.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

async function serverWithTask(lines = 0) {
  const dir = await tempLogsDir();
  const server = await testServer(dir);
  await recordSampleTask(server.telemetry.tasks, { taskId: 'task-abc123', lines });
  await server.telemetry.forceFlush();
  return { dir, server, api: `${server.url}/api/tasks/task-abc123/logs` };
}

describe("the seed's six endpoints", () => {
  it('serve each file of a complete task as written', async () => {
    const { dir, api } = await serverWithTask();
    const files = readTaskFolder(join(dir, 'task-abc123'));
    expect((await getJson(`${api}/metadata`)).body).toEqual(files.metadata);
    expect((await getJson(`${api}/input`)).body).toEqual(SAMPLE_INPUT);
    expect((await getJson(`${api}/webhook-flow`)).body).toEqual(files.webhookFlow);
    expect((await getJson(`${api}/agent-output`)).body).toEqual(files.agentOutput);
    expect((await getJson(`${api}/final-result`)).body).toEqual(files.finalResult);
    expect((await getJson(`${api}/full`)).body).toEqual({
      task_id: 'task-abc123',
      metadata: files.metadata,
      input: files.input,
      webhook_flow: files.webhookFlow,
      agent_output: files.agentOutput,
      final_result: files.finalResult,
    });
  });

  it('give the raw JSONL with ?format=jsonl or Accept: application/x-ndjson', async () => {
    const { dir, api } = await serverWithTask();
    const raw = readFileSync(join(dir, 'task-abc123', '03-agent-output.jsonl'), 'utf8');
    const byQuery = await freshFetch(`${api}/agent-output?format=jsonl`);
    expect(byQuery.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(await byQuery.text()).toBe(raw);
    const byAccept = await freshFetch(`${api}/agent-output`, { headers: { Accept: 'application/x-ndjson' } });
    expect(await byAccept.text()).toBe(raw);
  });

  it('page with after and limit, and resume from X-Next-After to the end', async () => {
    const { api } = await serverWithTask(25);
    const all = (await getJson(`${api}/agent-output`)).body as unknown[];
    expect(all).toHaveLength(31);
    const seen: unknown[] = [];
    let after = 0;
    for (let page = 0; page < 10; page++) {
      const { body, headers } = await getJson(`${api}/agent-output?after=${after}&limit=10`);
      seen.push(...(body as unknown[]));
      const next = Number(headers.get('x-next-after'));
      if ((body as unknown[]).length < 10) {
        expect(headers.get('link')).toBeNull();
        break;
      }
      expect(headers.get('link')).toBe(
        `</api/tasks/task-abc123/logs/agent-output?after=${next}&limit=10>; rel="next"`,
      );
      after = next;
    }
    expect(seen).toEqual(all);
  });

  it('serve a running task: /full has null for files not yet written, final-result is a 404', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    const task = server.telemetry.tasks.start({ taskId: 'task-running', source: 'api' });
    const run = task.startAgent({ name: 'brain' });
    run.text('working');
    await server.telemetry.forceFlush();
    const api = `${server.url}/api/tasks/task-running/logs`;
    const full = (await getJson(`${api}/full`)).body as Record<string, unknown>;
    expect(full).toMatchObject({
      input: null,
      webhook_flow: [],
      final_result: null,
      metadata: { status: 'running' },
    });
    expect(full.agent_output).toHaveLength(1);
    expect(await getJson(`${api}/final-result`)).toMatchObject({
      status: 404,
      body: {
        error: { code: 'FILE_NOT_FOUND', message: 'task "task-running" has no 04-final-result.json yet' },
      },
    });
    run.finish({ result: 'ok' });
  });

  it('answer unknown tasks, routes and methods with JSON errors', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir);
    expect(await getJson(`${server.url}/api/tasks/task-nope/logs/metadata`)).toMatchObject({
      status: 404,
      body: { error: { code: 'TASK_NOT_FOUND', message: 'task "task-nope" not found' } },
    });
    expect(await getJson(`${server.url}/api/nothing-here`)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    expect(
      await getJson(`${server.url}/api/tasks/task-nope/logs/metadata`, { method: 'POST' }),
    ).toMatchObject({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED' } },
    });
    expect(await getJson(`${server.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it.each([
    ['limit above 1000', '?limit=1001', 'limit: expected a number of lines, at most 1000'],
    ['limit 0', '?limit=0', 'limit: expected a number of lines, at least 1'],
    ['a negative after', '?after=-1', 'after: expected a line number, at least 0'],
    ['a word for after', '?after=ten', 'after: expected a line number'],
    ['an unknown format', '?format=xml', 'format: Invalid option'],
  ])('refuse %s with a 400 saying what is wrong', async (_name, query, message) => {
    const { api } = await serverWithTask();
    const { status, body } = await getJson(`${api}/agent-output${query}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: 'REQUEST_INVALID' } });
    expect((body as { error: { message: string } }).error.message).toContain(message);
  });

  it.each([
    ['a negative limit', '?limit=-1', 'invalid query: limit: expected a number of lines, at least 1'],
    ['a fractional limit', '?limit=2.5', 'invalid query: limit: expected a number of lines'],
    [
      'an after past the safe integers',
      '?after=99999999999999999999',
      'invalid query: after: expected a line number, at most 9007199254740991',
    ],
  ])('refuse %s with one reason, not two that disagree', async (_name, query, message) => {
    const { api } = await serverWithTask();
    const { status, body } = await getJson(`${api}/agent-output${query}`);
    expect(status).toBe(400);
    expect((body as { error: { message: string } }).error.message).toBe(message);
  });
});

describe('a streamed answer that cannot finish', () => {
  it('is cut short, not left hanging, when its task is deleted while /full streams it', async () => {
    const { request } = await import('node:http');
    const { rm } = await import('node:fs/promises');
    const { dir, server, api } = await serverWithTask(30_000);
    // The server's writes on this connection are held (its socket corked) from the request on, as a client that
    // reads nothing holds them once the socket buffers are full, and let go once the task is deleted. The stream
    // reads ahead of what is sent by at most 16 chunks of 64 KiB, so with a bigger body the server is still in the
    // middle of it when the folder goes, whatever the load: the body cannot be sent whole before the delete (when
    // the client only paused after its first chunk, a server quicker than the delete had already sent it all).
    expect(statSync(join(dir, 'task-abc123', TASK_FILES.agentOutput)).size).toBeGreaterThan(2 * 16 * 65_536);
    let deleted = false;
    const outcome = await new Promise<{ complete: boolean; text: string }>((resolve, reject) => {
      server.server.once('request', (_req: IncomingMessage, res: ServerResponse) => {
        const socket = res.socket!;
        socket.cork();
        // the answer's body has started (the route found the task and handed its stream over): now the delete
        res.once('pipe', () => {
          rm(join(dir, 'task-abc123'), { recursive: true, force: true }).then(() => {
            deleted = true;
            socket.uncork();
          }, reject);
        });
      });
      const req = request(`${api}/full`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('close', () => resolve({ complete: res.complete, text }));
      });
      req.on('error', () => undefined); // the cut may surface here too; the 'close' above decides
      req.end();
    });
    expect(deleted).toBe(true);
    expect(outcome.text.startsWith('{"task_id":"task-abc123"')).toBe(true);
    expect(outcome.complete).toBe(false);
    expect(() => JSON.parse(outcome.text)).toThrow(); // a cut document, never one that looks whole
    expect((await getJson(`${server.url}/healthz`)).status).toBe(200);
  });
});
