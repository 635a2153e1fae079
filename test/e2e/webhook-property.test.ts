import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.ts';
import { hubSignature, slackSignature } from '../../src/intake/signatures.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { recordUnhandledRejections } from '../helpers/unhandled-rejections.ts';
import { githubComment, jiraComment, SECRETS, slackMention } from '../helpers/webhook-requests.ts';

// header values fetch will send: visible ASCII
const headerValue = fc.stringMatching(/^[\x21-\x7e]{0,60}$/);
const anyValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, '../..', 'owner/../..', '%2e%2e', '-1', 1e308, -0, '\u0000', '__proto__'),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid payload of the provider with one field at a hostile path replaced by a generated value. */
function mutated(provider: 'github' | 'slack' | 'jira') {
  const base: Record<string, unknown> =
    provider === 'github'
      ? githubComment('@agent review the retry logic')
      : provider === 'slack'
        ? slackMention()
        : jiraComment();
  const paths: string[][] =
    provider === 'github'
      ? [
          ['repository', 'full_name'],
          ['issue', 'number'],
          ['comment', 'id'],
          ['comment', 'body'],
          ['action'],
          ['sender'],
        ]
      : provider === 'slack'
        ? [
            ['event', 'channel'],
            ['event', 'ts'],
            ['team_id'],
            ['event_id'],
            ['event', 'text'],
            ['type'],
            ['event'],
          ]
        : [['issue', 'key'], ['issue', 'fields'], ['webhookEvent'], ['comment', 'body'], ['issue']];
  return fc.record({ path: fc.constantFrom(...paths), value: anyValue }).map(({ path, value }) => {
    const copy = structuredClone(base);
    let node = copy;
    for (const key of path.slice(0, -1)) {
      if (node[key] === null || typeof node[key] !== 'object') node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
    return JSON.stringify(copy);
  });
}

const webhook = fc.constantFrom('github' as const, 'slack' as const, 'jira' as const).chain((provider) =>
  fc.record({
    provider: fc.constant(provider),
    body: fc.oneof(mutated(provider), fc.json({ maxDepth: 4 }), fc.string({ maxLength: 200 })),
    signed: fc.boolean(),
    event: fc.oneof(fc.constantFrom('issue_comment', 'issues', 'pull_request', 'ping'), headerValue),
    delivery: headerValue,
    contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', ''),
    timestamp: fc.oneof(fc.constant(undefined), headerValue),
  }),
);

describe('generated webhook requests', () => {
  let server: RunningServer;
  const unhandled = recordUnhandledRejections();

  it('always answer 2xx or 4xx JSON, never 5xx, and no promise rejection goes unhandled', async () => {
    server = await testServer(await tempLogsDir(), {
      ...SECRETS,
      AGENT_RUNNER: 'replay',
      AGENT_REPLAY_DELAY_MS: '0',
      WEBHOOK_MAX_BODY_BYTES: String(64 * 1024),
    });
    await fc.assert(
      fc.asyncProperty(webhook, async (w) => {
        const headers: Record<string, string> = {};
        if (w.contentType) headers['content-type'] = w.contentType;
        if (w.provider === 'github') {
          headers['x-github-event'] = w.event;
          headers['x-github-delivery'] = w.delivery;
          if (w.signed) headers['x-hub-signature-256'] = hubSignature(SECRETS.GITHUB_WEBHOOK_SECRET, w.body);
        } else if (w.provider === 'jira') {
          headers['x-atlassian-webhook-identifier'] = w.delivery;
          if (w.signed) headers['x-hub-signature'] = hubSignature(SECRETS.JIRA_WEBHOOK_SECRET, w.body);
        } else {
          const timestamp = w.signed ? String(Math.floor(Date.now() / 1000)) : (w.timestamp ?? '');
          headers['x-slack-request-timestamp'] = timestamp;
          headers['x-slack-signature'] = slackSignature(SECRETS.SLACK_SIGNING_SECRET, timestamp, w.body);
        }
        const response = await freshFetch(`${server.url}/webhooks/${w.provider}`, {
          method: 'POST',
          headers,
          body: w.body,
        });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(500);
        expect(() => JSON.parse(text)).not.toThrow();
      }),
      { numRuns: 150 },
    );
    expect((await freshFetch(`${server.url}/healthz`)).status).toBe(200);
    await server.telemetry.forceFlush();
    expect(unhandled).toEqual([]);
  });
});
