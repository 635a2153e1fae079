// Signed sample deliveries for each provider, the way GitHub, Slack and Jira send them.
import { randomUUID } from 'node:crypto';
import { hubSignature, slackSignature } from '../../src/intake/signatures.ts';

export const SECRETS = {
  GITHUB_WEBHOOK_SECRET: 'github-test-secret-0123456789',
  SLACK_SIGNING_SECRET: 'slack-test-secret-0123456789',
  JIRA_WEBHOOK_SECRET: 'jira-test-secret-0123456789',
};

/** The settings for a server whose three providers are the fake one at `providerUrl`, with the replay agent. */
export function fakeProviderEnv(providerUrl: string): Record<string, string> {
  return {
    ...SECRETS,
    AGENT_RUNNER: 'replay',
    AGENT_REPLAY_DELAY_MS: '0',
    GITHUB_API_URL: providerUrl,
    GITHUB_TOKEN: 'gh-token',
    SLACK_API_URL: providerUrl,
    SLACK_BOT_TOKEN: 'xoxb-token',
    JIRA_BASE_URL: providerUrl,
    JIRA_EMAIL: 'bot@example.com',
    JIRA_API_TOKEN: 'jira-token',
  };
}

export function githubComment(
  body = '@agent review the retry logic',
  overrides: Record<string, unknown> = {},
) {
  return {
    action: 'created',
    issue: { number: 42, title: 'Retries', html_url: 'https://github.com/owner/repo/issues/42' },
    comment: { id: 1001, body, html_url: 'https://github.com/owner/repo/issues/42#issuecomment-1001' },
    repository: { full_name: 'owner/repo' },
    sender: { login: 'octocat', type: 'User' },
    ...overrides,
  };
}

export function githubRequest(
  payload: unknown,
  options: { event?: string; delivery?: string; secret?: string; signature?: string | null } = {},
): RequestInit & { delivery: string } {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const delivery = options.delivery ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': options.event ?? 'issue_comment',
    'x-github-delivery': delivery,
  };
  const signature =
    options.signature === undefined
      ? hubSignature(options.secret ?? SECRETS.GITHUB_WEBHOOK_SECRET, body)
      : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return { method: 'POST', headers, body, delivery };
}

export function slackMention(
  text = '<@U0AGENT> review the deploy script',
  eventId = `Ev${Date.now()}${Math.floor(Math.random() * 1e6)}`,
) {
  return {
    type: 'event_callback',
    team_id: 'T012345',
    event_id: eventId,
    event: { type: 'app_mention', user: 'U777', text, channel: 'C0DEPLOY', ts: '1700000000.000100' },
  };
}

export function slackRequest(
  body: string,
  options: {
    contentType?: string;
    timestamp?: number;
    secret?: string;
    headers?: Record<string, string>;
  } = {},
): RequestInit {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(options.secret ?? SECRETS.SLACK_SIGNING_SECRET, timestamp, body),
      ...options.headers,
    },
    body,
  };
}

export function jiraComment(body = '@agent plan the migration to the new queue') {
  return {
    webhookEvent: 'comment_created',
    timestamp: Date.now(),
    issue: { id: '10001', key: 'OPS-7', fields: { summary: 'Queue migration', project: { key: 'OPS' } } },
    comment: { id: '20002', body },
    user: { displayName: 'Ada' },
  };
}

export function jiraRequest(
  payload: unknown,
  options: { identifier?: string; secret?: string } = {},
): RequestInit {
  const body = JSON.stringify(payload);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-atlassian-webhook-identifier': options.identifier ?? randomUUID(),
      'x-hub-signature': hubSignature(options.secret ?? SECRETS.JIRA_WEBHOOK_SECRET, body),
    },
    body,
  };
}
