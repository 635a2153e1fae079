import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { ageDeliveryClaims } from '../helpers/delivery-claims.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { startRedis } from '../helpers/redis.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';

const ROOT = resolve(import.meta.dirname, '../..');

describe('split mode: web process and worker process over a real Redis', () => {
  it('runs a webhook task in the worker process: one trace, one folder, all five files', async () => {
    const redisUrl = await startRedis();
    if (redisUrl === undefined) return;
    const dir = await tempLogsDir();
    const env = {
      ...SECRETS,
      REDIS_URL: redisUrl,
      TASK_QUEUE_NAME: `test-${process.pid}`,
      AGENT_RUNNER: 'replay',
      AGENT_REPLAY_DELAY_MS: '5',
    };
    const server = await testServer(dir, env);
    expect(server.queue.kind).toBe('redis');
    const worker = spawn(process.execPath, ['src/worker-main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env, TASK_LOGS_DIR: dir, TASK_LOGS_FLUSH_MS: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    worker.stderr!.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    onTestFinished(async () => {
      if (worker.exitCode === null) {
        worker.kill('SIGTERM');
        await once(worker, 'exit');
      }
    });
    await expect.poll(() => out, { timeout: 60_000 }).toContain('task-logs worker: queue');
    expect(out).toContain('replay runner');

    const response = await freshFetch(`${server.url}/webhooks/github`, githubRequest(githubComment()));
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as { task_id: string };
    await expect
      .poll(() => readTaskFolder(join(dir, task_id)).metadata?.status, { timeout: 60_000, interval: 50 })
      .toBe('completed');
    // the worker can pop the job and finish before this (web) process has flushed its queue_push line, which is
    // written when the push has returned: on a loaded machine that flush came after the completed status (seen once)
    await expect
      .poll(() => readTaskFolder(join(dir, task_id)).webhookFlow.map((l) => l.stage), {
        timeout: 60_000,
        interval: 50,
      })
      .toEqual([...WEBHOOK_STAGES]);
    const files = readTaskFolder(join(dir, task_id));
    expect(files.webhookFlow.at(-1)).toMatchObject({ stage: 'queue_push', queue: 'redis' });
    // a queue that may run a job again marks each run (#10: retries visible)
    expect(files.agentOutput[0]!.content).toBe('[SYSTEM] attempt 1 of 2');
    expect(files.agentOutput[1]!.content).toMatch(/^\[REPLAY\]/);
    expect(files.metadata).toMatchObject({ attempts: 1 });
    expect(files.finalResult).toMatchObject({ success: true });
    expect(files.metadata).toMatchObject({ source: 'webhook', provider: 'github', assigned_agent: 'brain' });
    const traces = new Set([...files.webhookFlow, ...files.agentOutput].map((l) => l.trace_id));
    expect([...traces]).toEqual([files.metadata!.trace_id]);

    worker.kill('SIGTERM');
    const [code] = await once(worker, 'exit');
    expect(code).toBe(0);
  });

  it('answers a redelivery as a duplicate while Redis holds the job of a task that has no folder yet', async () => {
    // a web process killed before its writer wrote the folder, its job waiting in a backlog (review9 on cd48198:
    // the redelivery made a second task, and both jobs would run the agent)
    const redisUrl = await startRedis();
    if (redisUrl === undefined) return;
    const dir = await tempLogsDir();
    const server = await testServer(dir, {
      ...SECRETS,
      REDIS_URL: redisUrl,
      TASK_QUEUE_NAME: `backlog-${process.pid}`,
      AGENT_RUNNER: 'replay',
    });
    const request = githubRequest(githubComment());
    const first = await freshFetch(`${server.url}/webhooks/github`, request);
    expect(first.status).toBe(202);
    const { task_id } = (await first.json()) as { task_id: string };
    await server.telemetry.forceFlush();
    // no worker runs here: the job waits in Redis; the folder is gone and the claim is an hour old
    rmSync(join(dir, task_id), { recursive: true });
    ageDeliveryClaims(dir, 3_600_000);
    const again = await freshFetch(`${server.url}/webhooks/github`, request);
    expect({ code: again.status, ...((await again.json()) as object) }).toEqual({
      code: 200,
      task_id,
      status: 'duplicate',
    });
  });

  it('answers 503 when Redis is down, and lets the same delivery through again later', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, {
      ...SECRETS,
      REDIS_URL: 'redis://127.0.0.1:1',
      AGENT_RUNNER: 'replay',
    });
    const request = () => githubRequest(githubComment(), { delivery: 'delivery-redis-down' });
    const first = await freshFetch(`${server.url}/webhooks/github`, request());
    expect(first.status).toBe(503);
    expect(await first.json()).toMatchObject({ error: { code: 'QUEUE_UNAVAILABLE' } });
    const second = await freshFetch(`${server.url}/webhooks/github`, request());
    expect(second.status).toBe(503); // not "duplicate": the failed delivery did not keep its claim
  });
});
