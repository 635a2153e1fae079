import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { hubSignature } from '../../src/intake/signatures.ts';
import { checksumTree, plantCanary } from '../helpers/canary.ts';
import { fakeProvider } from '../helpers/fake-provider.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { recordUnhandledRejections } from '../helpers/unhandled-rejections.ts';
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

const LIMIT = 64 * 1024;

async function setUp(env: Record<string, string> = {}) {
  const root = await tempLogsDir();
  const logs = join(root, 'logs');
  const canary = plantCanary(join(root, 'canary'));
  const provider = await fakeProvider();
  const server = await testServer(logs, {
    ...fakeProviderEnv(provider.url),
    WEBHOOK_MAX_BODY_BYTES: String(LIMIT),
    ...env,
  });
  const before = checksumTree(canary);
  const taskFolders = () => readdirSync(logs).filter((name) => name.startsWith('task-'));
  /** after each hostile input: still healthy, nothing outside the root changed */
  const expectUnharmed = async () => {
    expect((await freshFetch(`${server.url}/healthz`)).status).toBe(200);
    await server.telemetry.forceFlush();
    expect(checksumTree(canary)).toBe(before);
  };
  const rejections = async () =>
    (await (await freshFetch(`${server.url}/api/webhooks/rejections`)).json()) as {
      counts: Record<string, Record<string, number>>;
    };
  return { root, logs, server, provider, taskFolders, expectUnharmed, rejections };
}

/** A 4xx JSON error that names no file path of ours. */
function expectCleanRefusal(status: number, text: string, root: string) {
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body.error.code).toMatch(/^[A-Z_]+$/);
  expect(text).not.toContain(root);
  expect(text).not.toContain(process.cwd());
  expect(text).not.toMatch(/\/(tmp|home|root|work|usr|proc|etc)\//);
  expect(text).not.toMatch(/\bat .*\.ts:\d+/); // no stack
}

function signedGithub(payload: unknown, headers: Record<string, string> = {}): RequestInit {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': `d-${Math.random().toString(36).slice(2)}`,
      'x-hub-signature-256': hubSignature(SECRETS.GITHUB_WEBHOOK_SECRET, body),
      ...headers,
    },
    body,
  };
}

function signedJira(payload: unknown): RequestInit {
  const body = JSON.stringify(payload);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': hubSignature(SECRETS.JIRA_WEBHOOK_SECRET, body),
    },
    body,
  };
}

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

const HOSTILE: [string, 'github' | 'slack' | 'jira', () => RequestInit][] = [
  // provider values that would change an API URL the bot token is sent to
  [
    'full_name "../.."',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: '../..' } })),
  ],
  [
    'full_name "owner/.."',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: 'owner/..' } })),
  ],
  [
    'full_name "../../x"',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: '../../x' } })),
  ],
  [
    'full_name "owner/repo/../../orgs"',
    'github',
    () =>
      signedGithub(githubComment('@agent review', { repository: { full_name: 'owner/repo/../../orgs' } })),
  ],
  [
    'full_name "-owner/repo"',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: '-owner/repo' } })),
  ],
  [
    'full_name "owner/re po"',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: 'owner/re po' } })),
  ],
  [
    'full_name "owner/repo?x=1"',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: 'owner/repo?x=1' } })),
  ],
  [
    'full_name "owner/%2e%2e"',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: 'owner/%2e%2e' } })),
  ],
  [
    'full_name as an object',
    'github',
    () => signedGithub(githubComment('@agent review', { repository: { full_name: { a: 1 } } })),
  ],
  [
    'comment.id "1/../../x"',
    'github',
    () => signedGithub({ ...githubComment(), comment: { id: '1/../../x', body: '@agent review' } }),
  ],
  [
    'comment.id -1',
    'github',
    () => signedGithub({ ...githubComment(), comment: { id: -1, body: '@agent review' } }),
  ],
  [
    'comment.id 1.5',
    'github',
    () => signedGithub({ ...githubComment(), comment: { id: 1.5, body: '@agent review' } }),
  ],
  [
    'comment.id 1e300',
    'github',
    () => signedGithub({ ...githubComment(), comment: { id: 1e300, body: '@agent review' } }),
  ],
  [
    'issue number "../1"',
    'github',
    () =>
      signedGithub(
        {
          action: 'opened',
          issue: { number: '../1', title: '@agent plan' },
          repository: { full_name: 'o/r' },
          sender: { type: 'User' },
        },
        { 'x-github-event': 'issues' },
      ),
  ],
  [
    'issue number missing on an issue',
    'github',
    () =>
      signedGithub(
        {
          action: 'opened',
          issue: { title: '@agent plan' },
          repository: { full_name: 'o/r' },
          sender: { type: 'User' },
        },
        { 'x-github-event': 'issues' },
      ),
  ],
  [
    'issue number 0',
    'github',
    () =>
      signedGithub(
        {
          action: 'opened',
          pull_request: { number: 0, title: '@agent plan' },
          repository: { full_name: 'o/r' },
          sender: { type: 'User' },
        },
        { 'x-github-event': 'pull_request' },
      ),
  ],
  [
    'Jira key "OPS-7/../../x"',
    'jira',
    () => signedJira({ ...jiraComment(), issue: { key: 'OPS-7/../../x', fields: {} } }),
  ],
  [
    'Jira key "../OPS-7"',
    'jira',
    () => signedJira({ ...jiraComment(), issue: { key: '../OPS-7', fields: {} } }),
  ],
  ['Jira key "OPS-07"', 'jira', () => signedJira({ ...jiraComment(), issue: { key: 'OPS-07', fields: {} } })],
  [
    'Jira project key "../x"',
    'jira',
    () => signedJira({ ...jiraComment(), issue: { key: 'OPS-7', fields: { project: { key: '../x' } } } }),
  ],
  [
    'Slack channel "../x"',
    'slack',
    () =>
      slackRequest(
        JSON.stringify({ ...slackMention(), event: { ...slackMention().event, channel: '../x' } }),
      ),
  ],
  [
    'Slack channel missing',
    'slack',
    () =>
      slackRequest(
        JSON.stringify({ ...slackMention(), event: { ...slackMention().event, channel: undefined } }),
      ),
  ],
  [
    'Slack ts "1/../../x"',
    'slack',
    () =>
      slackRequest(
        JSON.stringify({ ...slackMention(), event: { ...slackMention().event, ts: '1/../../x' } }),
      ),
  ],
  ['Slack team "T1?x"', 'slack', () => slackRequest(JSON.stringify({ ...slackMention(), team_id: 'T1?x' }))],
  [
    'Slack slash channel_id "../x"',
    'slack',
    () =>
      slackRequest('command=%2Fagent&text=review&trigger_id=t.1&channel_id=..%2Fx', {
        contentType: 'application/x-www-form-urlencoded',
      }),
  ],
  // bodies
  ['a body of 400 KB of nested brackets', 'github', () => signedGithub(deep(200_000))],
  ['a JSON array', 'github', () => signedGithub('[1,2,3]')],
  ['JSON null', 'github', () => signedGithub('null')],
  ['a JSON string', 'github', () => signedGithub('"@agent review"')],
  ['invalid UTF-8', 'github', () => signedGithub(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'))],
  ['a body past the limit', 'github', () => signedGithub(githubComment('x'.repeat(LIMIT + 10)))],
  ['a body past the limit, to Jira', 'jira', () => signedJira(jiraComment('x'.repeat(LIMIT + 10)))],
  [
    '__proto__ keys',
    'github',
    () =>
      signedGithub(
        '{"__proto__":{"polluted":1},"action":"created","repository":{"__proto__":{"full_name":"o/r"}}}',
      ),
  ],
  // headers
  [
    'X-GitHub-Delivery "../../etc"',
    'github',
    () => signedGithub(githubComment(), { 'x-github-delivery': '../../etc' }),
  ],
  [
    'X-GitHub-Delivery of 10 KB',
    'github',
    () => signedGithub(githubComment(), { 'x-github-delivery': 'a'.repeat(10_000) }),
  ],
  ['X-GitHub-Event "../x"', 'github', () => signedGithub(githubComment(), { 'x-github-event': '../x' })],
  ['no signature', 'github', () => githubRequest(githubComment(), { signature: null })],
  ['sha1 signature', 'github', () => githubRequest(githubComment(), { signature: `sha1=${'a'.repeat(40)}` })],
  [
    'a signature over another body',
    'github',
    () => ({ ...signedGithub(githubComment()), body: JSON.stringify(githubComment('@agent fix')) }),
  ],
  [
    'Jira unsigned',
    'jira',
    () => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jiraComment()),
    }),
  ],
  ['Jira with another secret', 'jira', () => jiraRequest(jiraComment(), { secret: 'guessed-secret-000' })],
  [
    'Slack with a stale timestamp',
    'slack',
    () => slackRequest(JSON.stringify(slackMention()), { timestamp: 1 }),
  ],
  [
    'Slack with a future timestamp',
    'slack',
    () => slackRequest(JSON.stringify(slackMention()), { timestamp: 9_999_999_999 }),
  ],
  [
    'Slack with a timestamp that is not a number',
    'slack',
    () => ({
      ...slackRequest(JSON.stringify(slackMention())),
      headers: { 'x-slack-request-timestamp': 'abc', 'x-slack-signature': 'v0=00' },
    }),
  ],
];

// every test in this file runs with a handler that records promise rejections nobody handled; the last test checks it
const unhandled = recordUnhandledRejections();

describe('hostile webhook requests', () => {
  it.each(HOSTILE)(
    '%s: a 4xx JSON refusal without a path, no task, no provider call',
    async (_name, provider, make) => {
      const { root, server, provider: api, taskFolders, expectUnharmed } = await setUp();
      const response = await freshFetch(`${server.url}/webhooks/${provider}`, make());
      expectCleanRefusal(response.status, await response.text(), root);
      await expectUnharmed();
      expect(taskFolders()).toEqual([]);
      expect(api.requests).toEqual([]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it('a chunked 30 MB webhook gets 413, is counted, and the server carries on', async () => {
    const { root, server, expectUnharmed, rejections, taskFolders } = await setUp({
      WEBHOOK_MAX_BODY_BYTES: String(25 * 1024 * 1024),
    });
    const url = new URL(`${server.url}/webhooks/github`);
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
            'x-github-event': 'issue_comment',
            'x-github-delivery': 'chunked-1',
            'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject); // the server must let the sender read its answer, not reset the connection
      let sent = 0;
      const pump = () => {
        while (sent < 30 && !req.destroyed) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expectCleanRefusal(answer.status, answer.text, root);
    expect((await rejections()).counts.github).toEqual({ body_too_large: 1 });
    await expectUnharmed();
    expect(taskFolders()).toEqual([]);
  });

  it('a client that hangs up mid-body is not logged as an unexpected error', async () => {
    const logged: unknown[] = [];
    const dir = await tempLogsDir();
    const { loadConfig } = await import('../../src/config.ts');
    const { startServer } = await import('../../src/http/server.ts');
    const server = await startServer(loadConfig({ env: { ...SECRETS, TASK_LOGS_DIR: dir, PORT: '0' } }), {
      log: () => undefined,
      logError: (error) => logged.push(error),
    });
    onTestFinished(() => server.close());
    const url = new URL(server.url);
    for (const path of ['/webhooks/github', '/webhooks/jira', '/v1/logs']) {
      const closed = new Promise<void>((resolve) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': '100000',
            'x-github-event': 'ping',
            // the server's 100 Continue says it has the request, so the hang-up comes mid-body
            expect: '100-continue',
          },
        });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.on('continue', () => {
          req.write('{"partial":', () => setImmediate(() => req.destroy()));
        });
        req.flushHeaders();
      });
      await closed;
    }
    await expect.poll(async () => (await freshFetch(`${server.url}/healthz`)).status).toBe(200);
    const rejections = (await (await freshFetch(`${server.url}/api/webhooks/rejections`)).json()) as {
      counts: Record<string, Record<string, number>>;
    };
    await expect
      .poll(async () => {
        const r = (await (
          await freshFetch(`${server.url}/api/webhooks/rejections`)
        ).json()) as typeof rejections;
        return (r.counts.github?.client_gone ?? 0) + (r.counts.jira?.client_gone ?? 0);
      })
      .toBe(2);
    expect(logged).toEqual([]);
  });
});

describe('dedupe on the signed body', () => {
  it('the same signed GitHub body with a new X-GitHub-Delivery is the same task', async () => {
    const { server, taskFolders } = await setUp();
    const body = JSON.stringify(githubComment());
    const send = (delivery: string) =>
      freshFetch(`${server.url}/webhooks/github`, signedGithub(body, { 'x-github-delivery': delivery }));
    const first = await send('delivery-1');
    expect(first.status).toBe(202);
    const { task_id } = (await first.json()) as { task_id: string };
    for (const delivery of ['delivery-2', 'delivery-3', 'delivery-1']) {
      const again = await send(delivery);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ task_id, status: 'duplicate' });
    }
    await server.telemetry.forceFlush();
    expect(taskFolders()).toEqual([task_id]);
  });

  it('the same signed Jira body with a new X-Atlassian-Webhook-Identifier is the same task', async () => {
    const { server, taskFolders } = await setUp();
    const payload = jiraComment();
    const first = await freshFetch(
      `${server.url}/webhooks/jira`,
      jiraRequest(payload, { identifier: 'id-1' }),
    );
    expect(first.status).toBe(202);
    const { task_id } = (await first.json()) as { task_id: string };
    const again = await freshFetch(
      `${server.url}/webhooks/jira`,
      jiraRequest(payload, { identifier: 'id-2' }),
    );
    expect(await again.json()).toEqual({ task_id, status: 'duplicate' });
    await server.telemetry.forceFlush();
    expect(taskFolders()).toEqual([task_id]);
  });

  it('a different signed body is a new task', async () => {
    const { server } = await setUp();
    const a = await freshFetch(
      `${server.url}/webhooks/github`,
      signedGithub(githubComment('@agent review a')),
    );
    const b = await freshFetch(
      `${server.url}/webhooks/github`,
      signedGithub(githubComment('@agent review b')),
    );
    expect([a.status, b.status]).toEqual([202, 202]);
  });
});

describe('intake bounds', () => {
  it('a prompt too large for the queue is refused with 413 before any folder, and counted', async () => {
    const { root, server, taskFolders, rejections } = await setUp({
      WEBHOOK_MAX_BODY_BYTES: String(4 * 1024 * 1024),
    });
    const payload = {
      webhookEvent: 'jira:issue_created',
      issue: { key: 'OPS-8', fields: { summary: '@agent plan', description: 'x'.repeat(1_100_000) } },
    };
    const response = await freshFetch(`${server.url}/webhooks/jira`, signedJira(payload));
    expect(response.status).toBe(413);
    expectCleanRefusal(response.status, await response.text(), root);
    await server.telemetry.forceFlush();
    expect(taskFolders()).toEqual([]);
    expect((await rejections()).counts.jira).toEqual({ prompt_too_large: 1 });
  });

  it('a full in-process queue answers 503 with Retry-After, leaves no folder, and takes the delivery again later', async () => {
    const dir = await tempLogsDir();
    const { loadConfig } = await import('../../src/config.ts');
    const { startServer } = await import('../../src/http/server.ts');
    const { MemoryQueue } = await import('../../src/queue/memory-queue.ts');
    const release: (() => void)[] = [];
    let finished = false;
    const queue = new MemoryQueue({
      concurrency: 1,
      maxWaiting: 1,
      handler: () => (finished ? Promise.resolve() : new Promise<void>((resolve) => release.push(resolve))),
    });
    const server = await startServer(loadConfig({ env: { ...SECRETS, TASK_LOGS_DIR: dir, PORT: '0' } }), {
      log: () => undefined,
      queue,
    });
    onTestFinished(async () => {
      finished = true;
      for (const done of release) done();
      await server.close();
    });
    const send = (n: number, delivery = `full-${n}`) =>
      freshFetch(
        `${server.url}/webhooks/github`,
        githubRequest(githubComment(`@agent review ${n}`), { delivery }),
      );
    expect((await send(1)).status).toBe(202); // running
    expect((await send(2)).status).toBe(202); // waiting
    const full = await send(3);
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await full.json()).toMatchObject({ error: { code: 'QUEUE_UNAVAILABLE' } });
    await server.telemetry.forceFlush();
    expect(readdirSync(dir).filter((n) => n.startsWith('task-'))).toHaveLength(2);
    release.shift()!();
    await expect.poll(() => queue.size.waiting).toBe(0);
    const later = await send(3);
    expect(later.status).toBe(202);
    const { task_id } = (await later.json()) as { task_id: string };
    await server.telemetry.forceFlush();
    expect(readTaskFolder(join(dir, task_id)).metadata?.status).toBe('queued');
  });
});

describe('after all the hostile inputs above', () => {
  it('no promise rejection went unhandled', () => {
    expect(unhandled).toEqual([]);
  });
});
