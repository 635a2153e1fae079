import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { OUTPUT_TYPES, WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { postAck } from '../../src/intake/intake.ts';
import type { MemoryQueue } from '../../src/queue/memory-queue.ts';
import { ageDeliveryClaims } from '../helpers/delivery-claims.ts';
import { fakeProvider } from '../helpers/fake-provider.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import {
  fakeProviderEnv,
  githubComment,
  githubRequest,
  jiraComment,
  jiraRequest,
  SECRETS,
  slackMention,
  slackRequest,
} from '../helpers/webhook-requests.ts';

const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function setUp(answer?: Parameters<typeof fakeProvider>[0]) {
  const dir = await tempLogsDir();
  const provider = await fakeProvider(answer);
  const server = await testServer(dir, {
    ...fakeProviderEnv(provider.url),
    WEBHOOK_MAX_BODY_BYTES: String(64 * 1024),
  });
  const taskFolders = () => readdirSync(dir).filter((name) => name.startsWith('task-'));
  const waitDone = async (taskId: string) => {
    await expect
      .poll(() => readTaskFolder(join(dir, taskId)).metadata?.status, { timeout: 60_000, interval: 20 })
      .toMatch(/completed|failed/);
    await server.telemetry.forceFlush();
    return readTaskFolder(join(dir, taskId));
  };
  return { dir, provider, server, taskFolders, waitDone };
}

function expectCompleteTask(files: ReturnType<typeof readTaskFolder>, provider: string) {
  expect(files.metadata).toMatchObject({
    source: 'webhook',
    provider,
    status: 'completed',
    created_at: expect.stringMatching(ISO_Z),
    started_at: expect.stringMatching(ISO_Z),
  });
  expect(files.webhookFlow.map((l) => l.stage)).toEqual([...WEBHOOK_STAGES]);
  expect(files.webhookFlow.find((l) => l.stage === 'validation')).toMatchObject({ status: 'passed' });
  expect(files.webhookFlow.find((l) => l.stage === 'command_matching')).toMatchObject({ matched: true });
  expect(files.agentOutput[0]!.content).toMatch(/^\[REPLAY\]/);
  expect(new Set(files.agentOutput.map((l) => l.type))).toEqual(
    new Set(OUTPUT_TYPES.filter((t) => t !== 'error')),
  );
  expect(files.finalResult).toMatchObject({ success: true, error: null, metrics: { cost_usd: 0.0734 } });
  const traces = new Set([...files.webhookFlow, ...files.agentOutput].map((l) => l.trace_id));
  expect(traces.size).toBe(1);
}

describe('a signed GitHub issue_comment with @agent review', () => {
  it('answers 202 with the task id, reacts on the comment, and ends as a complete task folder', async () => {
    const { server, provider, waitDone } = await setUp();
    const request = githubRequest(githubComment());
    const response = await freshFetch(`${server.url}/webhooks/github`, request);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { task_id: string; status: string };
    expect(answer).toMatchObject({ task_id: expect.stringMatching(/^task-[0-9a-z]{24}$/), status: 'queued' });

    const files = await waitDone(answer.task_id);
    expectCompleteTask(files, 'github');
    expect(files.metadata).toMatchObject({
      task_id: answer.task_id,
      assigned_agent: 'brain',
      agent_type: 'planning',
    });
    expect(files.input).toEqual({
      message: '@agent review the retry logic',
      source_metadata: {
        provider: 'github',
        event_type: 'issue_comment.created',
        webhook_id: request.delivery,
        repo: 'owner/repo',
        issue_number: 42,
        comment_id: 1001,
        sender: 'octocat',
        url: 'https://github.com/owner/repo/issues/42#issuecomment-1001',
      },
    });
    expect(files.webhookFlow.find((l) => l.stage === 'immediate_response')).toMatchObject({
      action: 'reaction',
      status: 'sent',
    });
    expect(provider.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/repos/owner/repo/issues/comments/1001/reactions',
        body: { content: 'eyes' },
        headers: expect.objectContaining({ authorization: 'Bearer gh-token' }),
      }),
    ]);

    // GitHub redelivers with the same delivery id: the same task, not a second one
    const again = await freshFetch(
      `${server.url}/webhooks/github`,
      githubRequest(githubComment(), { delivery: request.delivery }),
    );
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ task_id: answer.task_id, status: 'duplicate' });
  });

  it('makes the task anew on a redelivery whose task was claimed and never written (its process killed)', async () => {
    // walk9: kill -9 mid-burst left deliveries claimed by tasks whose folders the writer never wrote; every
    // redelivery answered 200 duplicate with an id the API does not know
    const { dir, server, waitDone } = await setUp();
    const request = githubRequest(githubComment());
    const first = (await (await freshFetch(`${server.url}/webhooks/github`, request)).json()) as {
      task_id: string;
    };
    await waitDone(first.task_id);
    const redeliver = async () => {
      const response = await freshFetch(`${server.url}/webhooks/github`, request);
      return { code: response.status, ...((await response.json()) as { task_id: string; status: string }) };
    };
    // no folder, but claimed within the last minute: it may still be in a writer's queue, so a duplicate
    rmSync(join(dir, first.task_id), { recursive: true });
    expect(await redeliver()).toEqual({ code: 200, task_id: first.task_id, status: 'duplicate' });
    // a minute later still no folder: its process died before writing it, and the redelivery makes the task
    ageDeliveryClaims(dir, 3_600_000);
    const again = await redeliver();
    expect(again).toMatchObject({ code: 202, status: 'queued' });
    expect(again.task_id).not.toBe(first.task_id);
    expectCompleteTask(await waitDone(again.task_id), 'github');
    // which is the delivery's task from now on
    expect(await redeliver()).toEqual({ code: 200, task_id: again.task_id, status: 'duplicate' });
    // a task retention deleted (its tombstone is there) stays the delivery's task
    rmSync(join(dir, again.task_id), { recursive: true });
    mkdirSync(join(dir, '.gone~'), { recursive: true });
    writeFileSync(join(dir, '.gone~', again.task_id), '');
    ageDeliveryClaims(dir, 3_600_000);
    expect(await redeliver()).toEqual({ code: 200, task_id: again.task_id, status: 'duplicate' });
  });

  it('keeps a redelivery a duplicate while the in-process queue still holds its job, folder or not', async () => {
    // review9: the in-process queue had no holdsJob, so in a live process whose writer could not write the task's
    // folder for a minute, a redelivery made a second task and ran the agent twice (Redis asks the queue: b4ab733)
    const dir = await tempLogsDir();
    const provider = await fakeProvider();
    const gate = join(dir, '..', `${basename(dir)}-gate`);
    execFileSync('mkfifo', [gate]);
    // the agent runs until the test writes to the gate: its job is held while the test looks
    const server = await testServer(dir, {
      ...fakeProviderEnv(provider.url),
      AGENT_RUNNER: 'command',
      AGENT_COMMAND: `cat ${gate}`,
      WORKER_CONCURRENCY: '1',
    });
    // opens the gate once per held job, each time waiting (in the thread pool) for that run's reader, until the queue
    // holds none; also when the test fails, or closing the server would wait for the agents for ever
    const queue = server.queue as MemoryQueue;
    const held = () => queue.size.running + queue.size.waiting;
    const release = async () => {
      while (held() > 0) {
        const before = held();
        await writeFile(gate, 'done\n');
        await expect.poll(held, { timeout: 60_000 }).toBeLessThan(before);
      }
    };
    onTestFinished(release);
    const send = async (request: RequestInit) => {
      const response = await freshFetch(`${server.url}/webhooks/github`, request);
      return { code: response.status, ...((await response.json()) as { task_id: string; status: string }) };
    };
    const request = githubRequest(githubComment('@agent review the held one'));
    const first = await send(request);
    expect(first).toMatchObject({ code: 202 });
    const waiting = await send(githubRequest(githubComment('@agent review the one behind it')));
    await expect
      .poll(() => readTaskFolder(join(dir, first.task_id)).metadata?.status, { timeout: 60_000 })
      .toBe('running');
    expect(await server.queue.holdsJob!(first.task_id)).toBe(true); // running
    expect(await server.queue.holdsJob!(waiting.task_id)).toBe(true); // waiting behind it
    expect(await server.queue.holdsJob!('task-never-queued')).toBe(false);
    // its folder gone (a writer that could not write it) and its claim an hour old: the job is still here
    await server.telemetry.forceFlush();
    rmSync(join(dir, first.task_id), { recursive: true });
    ageDeliveryClaims(dir, 3_600_000);
    expect(await send(request)).toEqual({ code: 200, task_id: first.task_id, status: 'duplicate' });
    // both jobs end; then the queue holds neither
    await release();
    expect(await server.queue.holdsJob!(first.task_id)).toBe(false);
    expect(await server.queue.holdsJob!(waiting.task_id)).toBe(false);
  });

  it('still runs the task when the reaction fails, and records the failure', async () => {
    const { server, waitDone } = await setUp(() => ({ status: 500, body: { message: 'boom' } }));
    const response = await freshFetch(`${server.url}/webhooks/github`, githubRequest(githubComment()));
    const { task_id } = (await response.json()) as { task_id: string };
    const files = await waitDone(task_id);
    expect(files.metadata?.status).toBe('completed');
    expect(files.webhookFlow.find((l) => l.stage === 'immediate_response')).toMatchObject({
      action: 'reaction',
      status: 'failed',
      detail: expect.stringContaining('HTTP 500'),
    });
  });

  it("records why the provider's API could not be reached, not only that the fetch failed", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const ack = await postAck('reaction', `http://127.0.0.1:${port}/reactions`, {}, { content: 'eyes' });
    expect(ack).toEqual({ action: 'reaction', status: 'failed', detail: 'fetch failed: ECONNREFUSED' });
  });
});

describe('a signed Slack app_mention', () => {
  it('becomes a complete task, acknowledged in the thread; a Slack retry is a duplicate', async () => {
    const { server, provider, waitDone } = await setUp(() => ({ status: 200, body: { ok: true } }));
    const body = JSON.stringify(slackMention());
    const response = await freshFetch(`${server.url}/webhooks/slack`, slackRequest(body));
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as { task_id: string };
    const files = await waitDone(task_id);
    expectCompleteTask(files, 'slack');
    expect(files.input?.source_metadata).toMatchObject({
      provider: 'slack',
      team: 'T012345',
      channel: 'C0DEPLOY',
      user: 'U777',
    });
    expect(files.input?.message).toBe('@agent review the deploy script');
    expect(provider.requests[0]).toMatchObject({
      path: '/chat.postMessage',
      body: { channel: 'C0DEPLOY', thread_ts: '1700000000.000100', text: `:eyes: On it: task ${task_id}` },
    });
    const retry = await freshFetch(
      `${server.url}/webhooks/slack`,
      slackRequest(body, { headers: { 'x-slack-retry-num': '1' } }),
    );
    expect(await retry.json()).toEqual({ task_id, status: 'duplicate' });
  });

  it('answers url_verification with the challenge, and a slash command with an ephemeral reply', async () => {
    const { server, waitDone } = await setUp();
    const challenge = await freshFetch(
      `${server.url}/webhooks/slack`,
      slackRequest(JSON.stringify({ type: 'url_verification', challenge: 'c-123' })),
    );
    expect(await challenge.json()).toEqual({ challenge: 'c-123' });
    const form = new URLSearchParams({
      command: '/agent',
      text: 'explain the retry logic',
      team_id: 'T1',
      channel_id: 'C1',
      user_id: 'U1',
      trigger_id: '123.456.abc',
    }).toString();
    const slash = await freshFetch(
      `${server.url}/webhooks/slack`,
      slackRequest(form, { contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(slash.status).toBe(200);
    const reply = (await slash.json()) as { task_id: string };
    expect(reply).toMatchObject({
      response_type: 'ephemeral',
      status: 'queued',
      text: `On it: task ${reply.task_id}`,
    });
    const files = await waitDone(reply.task_id);
    expect(files.metadata).toMatchObject({ status: 'completed', agent_type: 'qa' });
  });
});

describe('a signed Jira comment_created', () => {
  it('becomes a complete task with the issue key and project, acknowledged by a comment', async () => {
    const { server, provider, waitDone } = await setUp();
    const response = await freshFetch(`${server.url}/webhooks/jira`, jiraRequest(jiraComment()));
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as { task_id: string };
    const files = await waitDone(task_id);
    expectCompleteTask(files, 'jira');
    expect(files.input?.source_metadata).toMatchObject({
      provider: 'jira',
      issue_key: 'OPS-7',
      project: 'OPS',
      event_type: 'comment_created',
    });
    expect(provider.requests[0]).toMatchObject({
      path: '/rest/api/2/issue/OPS-7/comment',
      body: { body: `On it: task ${task_id}` },
      headers: expect.objectContaining({
        authorization: `Basic ${Buffer.from('bot@example.com:jira-token').toString('base64')}`,
      }),
    });
  });
});

describe('bad webhook requests', () => {
  it.each([
    [
      'a wrong signature',
      () => githubRequest(githubComment(), { secret: 'not-the-secret' }),
      401,
      'signature_invalid',
    ],
    ['no signature', () => githubRequest(githubComment(), { signature: null }), 401, 'signature_missing'],
    [
      'a signature of the wrong length',
      () => githubRequest(githubComment(), { signature: 'sha256=abcd' }),
      401,
      'signature_invalid',
    ],
    [
      'a signature that is not hex',
      () => githubRequest(githubComment(), { signature: `sha256=${'z'.repeat(64)}` }),
      401,
      'signature_invalid',
    ],
    ['malformed JSON', () => githubRequest('{"action": "created",'), 400, 'malformed'],
    ['an oversized body', () => githubRequest(githubComment('x'.repeat(70 * 1024))), 413, 'body_too_large'],
    ['an unknown event', () => githubRequest(githubComment(), { event: 'star' }), 200, 'event_not_handled'],
    ['a comment with no command', () => githubRequest(githubComment('looks good to me')), 200, 'no_command'],
    [
      'a comment from a bot',
      () => githubRequest(githubComment('@agent review', { sender: { login: 'ci', type: 'Bot' } })),
      200,
      'bot_sender',
    ],
  ])('GitHub: %s gets its 4xx or ignored answer, and no task', async (_name, make, status, reason) => {
    const { server, taskFolders } = await setUp();
    const response = await freshFetch(`${server.url}/webhooks/github`, make());
    expect(response.status).toBe(status);
    const body = (await response.json()) as Record<string, unknown>;
    if (status >= 400) expect(body).toHaveProperty('error.code');
    else expect(body).toMatchObject({ status: 'ignored' });
    await server.telemetry.forceFlush();
    expect(taskFolders()).toEqual([]);
    const rejections = (await (await freshFetch(`${server.url}/api/webhooks/rejections`)).json()) as {
      counts: Record<string, Record<string, number>>;
      recent: { reason: string; status: number }[];
    };
    expect(rejections.counts.github).toEqual({ [reason]: 1 });
    expect(rejections.recent[0]).toMatchObject({ reason, status });
  });

  it('Slack: a stale timestamp or a wrong signature is refused', async () => {
    const { server, taskFolders } = await setUp();
    const body = JSON.stringify(slackMention());
    const stale = await freshFetch(
      `${server.url}/webhooks/slack`,
      slackRequest(body, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
    );
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: { message: string } }).error.message).toContain(
      'timestamp_stale',
    );
    const wrong = await freshFetch(
      `${server.url}/webhooks/slack`,
      slackRequest(body, { secret: 'wrong-secret-123' }),
    );
    expect(wrong.status).toBe(401);
    expect(taskFolders()).toEqual([]);
  });

  it('Jira: a wrong signature is refused when a secret is set', async () => {
    const { server, taskFolders } = await setUp();
    const response = await freshFetch(
      `${server.url}/webhooks/jira`,
      jiraRequest(jiraComment(), { secret: 'wrong-secret-123' }),
    );
    expect(response.status).toBe(401);
    expect(taskFolders()).toEqual([]);
  });

  it('an unauthenticated flood is counted in memory and writes nothing to disk', async () => {
    const { dir, server, taskFolders } = await setUp();
    const before = readdirSync(dir).sort();
    await Promise.all(
      Array.from({ length: 300 }, () =>
        freshFetch(
          `${server.url}/webhooks/github`,
          githubRequest(githubComment(), { secret: 'nope-nope-nope' }),
        ),
      ),
    );
    await server.telemetry.forceFlush();
    expect(taskFolders()).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(before);
    const rejections = (await (await freshFetch(`${server.url}/api/webhooks/rejections`)).json()) as {
      counts: Record<string, Record<string, number>>;
      recent: unknown[];
    };
    expect(rejections.counts.github?.signature_invalid).toBe(300);
    expect(rejections.recent).toHaveLength(100);
  });
});

describe('with TASK_LOGS_ENABLED=false', () => {
  it('still takes webhooks and runs the agent, writing no task folder', async () => {
    const dir = await tempLogsDir();
    const server = await testServer(dir, {
      ...SECRETS,
      TASK_LOGS_ENABLED: 'false',
      AGENT_RUNNER: 'replay',
      AGENT_REPLAY_DELAY_MS: '0',
    });
    const response = await freshFetch(`${server.url}/webhooks/github`, githubRequest(githubComment()));
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as { task_id: string };
    expect(task_id).toMatch(/^task-/);
    await expect
      .poll(() => (server.queue as unknown as { size: { waiting: number; running: number } }).size, {
        timeout: 60_000,
      })
      .toEqual({ waiting: 0, running: 0 });
    expect(readdirSync(dir).filter((name) => name.startsWith('task-'))).toEqual([]);
    expect(await (await freshFetch(`${server.url}/healthz`)).json()).toEqual({
      status: 'ok',
      logging: false,
    });
  });

  it('answers a redelivery of a task claimed an hour ago as a duplicate: no folder is what files off look like', async () => {
    // cd48198 makes a task anew when a claim over a minute old has no folder (its process was killed before writing
    // it); with the files off no task has a folder, so every later redelivery ran the agent again (review9)
    const dir = await tempLogsDir();
    const server = await testServer(dir, { ...SECRETS, TASK_LOGS_ENABLED: 'false', AGENT_RUNNER: 'replay' });
    const request = githubRequest(githubComment());
    const first = await freshFetch(`${server.url}/webhooks/github`, request);
    expect(first.status).toBe(202);
    const { task_id } = (await first.json()) as { task_id: string };
    ageDeliveryClaims(dir, 3_600_000);
    const again = await freshFetch(`${server.url}/webhooks/github`, request);
    expect({ code: again.status, ...((await again.json()) as object) }).toEqual({
      code: 200,
      task_id,
      status: 'duplicate',
    });
  });
});
