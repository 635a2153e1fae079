// Jira deliveries: jira:issue_created, jira:issue_updated and comment_created. The command is looked for in the
// comment (or the issue's summary and description); the acknowledgement is a comment on the issue.

import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { type AckResult, type Delivery, postAck } from './intake.ts';
import { obj, parseJsonObject, str } from './payload.ts';
import { JIRA_ISSUE_KEY, JIRA_PROJECT_KEY } from './provider-grammar.ts';

export type JiraParse =
  | { kind: 'delivery'; delivery: Delivery }
  | { kind: 'ignored'; reason: string; eventType: string };

const EVENTS = new Set(['jira:issue_created', 'jira:issue_updated', 'comment_created']);

export function parseJira(
  headers: { identifier?: string },
  body: Buffer,
  jira: Config['webhooks']['jira'],
): JiraParse {
  const payload = parseJsonObject(body);
  const eventType = str(payload.webhookEvent) ?? 'unknown';
  if (!EVENTS.has(eventType))
    return { kind: 'ignored', reason: 'event_not_handled', eventType: eventType.slice(0, 64) };
  const issue = obj(payload.issue);
  const fields = obj(issue.fields);
  const key = str(issue.key);
  // the key goes into the comment URL with the bot's credentials attached: checked before use
  if (!key || !JIRA_ISSUE_KEY.test(key)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `issue.key ${quote(key ?? issue.key)} is missing or not a Jira issue key`,
    );
  }
  const project = str(obj(fields.project).key) ?? key.split('-')[0]!;
  if (!JIRA_PROJECT_KEY.test(project)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `issue.fields.project.key ${quote(project)} is not a Jira project key`,
    );
  }
  const comment = obj(payload.comment);
  const text =
    eventType === 'comment_created'
      ? (str(comment.body) ?? '')
      : [str(fields.summary), str(fields.description)].filter(Boolean).join('\n\n');
  // Jira retries a delivery with the same X-Atlassian-Webhook-Identifier; without it, the body identifies it
  const deliveryId =
    headers.identifier && /^[\w.-]{1,128}$/.test(headers.identifier)
      ? headers.identifier
      : `sha256-${createHash('sha256').update(body).digest('hex').slice(0, 32)}`;
  const delivery: Delivery = {
    provider: 'jira',
    deliveryId,
    eventType,
    text,
    sourceMetadata: {
      provider: 'jira',
      event_type: eventType,
      webhook_id: deliveryId,
      repo: project,
      issue_number: null,
      issue_key: key,
      project,
      ...(str(comment.id) ? { comment_id: str(comment.id) } : {}),
      ...(str(obj(payload.user).displayName) ? { user: str(obj(payload.user).displayName) } : {}),
    },
    context: `Jira ${eventType} on ${key} (project ${project})`,
    acknowledge: (taskId): Promise<AckResult> => {
      if (!jira.baseUrl || !jira.email || !jira.apiToken) {
        return Promise.resolve({
          action: 'comment',
          status: 'skipped',
          detail: 'no JIRA_BASE_URL, JIRA_EMAIL and JIRA_API_TOKEN',
        });
      }
      const auth = Buffer.from(`${jira.email}:${jira.apiToken}`).toString('base64');
      return postAck(
        'comment',
        `${jira.baseUrl.replace(/\/$/, '')}/rest/api/2/issue/${encodeURIComponent(key)}/comment`,
        { authorization: `Basic ${auth}`, accept: 'application/json' },
        { body: `On it: task ${taskId}` },
      );
    },
  };
  return { kind: 'delivery', delivery };
}
