// GitHub deliveries: issue_comment, issues, pull_request and pull_request_review_comment events. The command is
// looked for in the comment (or the issue or pull request body); the acknowledgement is an "eyes" reaction.
import type { Config } from '../config.ts';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { type AckResult, type Delivery, postAck } from './intake.ts';
import { num, obj, parseJsonObject, str } from './payload.ts';
import { isGithubFullName, isPositiveId } from './provider-grammar.ts';

export type GithubParse =
  | { kind: 'delivery'; delivery: Delivery }
  | { kind: 'ignored'; reason: string; eventType: string };

const ACTIONS: Record<string, string[]> = {
  issue_comment: ['created', 'edited'],
  issues: ['opened', 'edited', 'reopened'],
  pull_request: ['opened', 'edited', 'reopened'],
  pull_request_review_comment: ['created', 'edited'],
};

export function parseGithub(
  headers: { event?: string; delivery?: string },
  body: Buffer,
  github: Config['webhooks']['github'],
): GithubParse | { kind: 'pong' } {
  const event = headers.event ?? '';
  if (event === 'ping') return { kind: 'pong' };
  if (!/^[a-z_]{1,64}$/.test(event)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `X-GitHub-Event ${quote(event)} is missing or not an event name`,
    );
  }
  const deliveryId = headers.delivery ?? '';
  if (!/^[A-Za-z0-9-]{1,100}$/.test(deliveryId)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `X-GitHub-Delivery ${quote(deliveryId)} is missing or malformed`,
    );
  }
  const payload = parseJsonObject(body);
  const action = typeof payload.action === 'string' ? payload.action : '';
  const eventType = action ? `${event}.${action}` : event;
  if (!(event in ACTIONS)) return { kind: 'ignored', reason: 'event_not_handled', eventType };
  if (!ACTIONS[event]!.includes(action)) return { kind: 'ignored', reason: 'action_not_handled', eventType };

  const repository = obj(payload.repository);
  const sender = obj(payload.sender);
  if (sender.type === 'Bot') return { kind: 'ignored', reason: 'bot_sender', eventType }; // no loops with our own replies
  // every value below may go into a GitHub API URL with the bot token attached: each is checked first
  const repo = str(repository.full_name);
  if (!repo || !isGithubFullName(repo)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `repository.full_name ${quote(repo ?? repository.full_name)} is missing or not "owner/name"`,
    );
  }
  const issue = obj(payload.issue);
  const pull = obj(payload.pull_request);
  const comment = obj(payload.comment);
  const item = event === 'issues' ? issue : event === 'pull_request' ? pull : undefined;
  const rawNumber = issue.number ?? pull.number;
  if ((rawNumber !== undefined || item !== undefined) && !isPositiveId(rawNumber)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `the issue number ${quote(rawNumber)} is not a positive whole number`,
    );
  }
  const number = rawNumber === undefined ? null : (rawNumber as number);
  let text: string | undefined;
  let reactionPath: string;
  let url: string | undefined;
  if (event === 'issue_comment' || event === 'pull_request_review_comment') {
    text = str(comment.body);
    url = str(comment.html_url);
    const commentId = comment.id;
    if (!isPositiveId(commentId)) {
      throw new TaskLogsError(
        'REQUEST_INVALID',
        `comment.id ${quote(commentId)} is not a positive whole number`,
      );
    }
    reactionPath =
      event === 'issue_comment'
        ? `/repos/${repo}/issues/comments/${commentId}/reactions`
        : `/repos/${repo}/pulls/comments/${commentId}/reactions`;
  } else {
    text = [str(item?.title), str(item?.body)].filter(Boolean).join('\n\n');
    url = str(item?.html_url);
    reactionPath = `/repos/${repo}/issues/${number}/reactions`;
  }
  const delivery: Delivery = {
    provider: 'github',
    deliveryId,
    eventType,
    text: text ?? '',
    sourceMetadata: {
      provider: 'github',
      event_type: eventType,
      webhook_id: deliveryId,
      repo,
      issue_number: number,
      ...(num(comment.id) !== undefined ? { comment_id: num(comment.id) } : {}),
      ...(str(sender.login) ? { sender: str(sender.login) } : {}),
      ...(url ? { url } : {}),
    },
    context: `GitHub ${eventType} on ${repo}${number === null ? '' : `#${number}`}${url ? ` (${url})` : ''}`,
    acknowledge: (): Promise<AckResult> => {
      if (!github.token)
        return Promise.resolve({ action: 'reaction', status: 'skipped', detail: 'no GITHUB_TOKEN' });
      return postAck(
        'reaction',
        `${github.apiUrl.replace(/\/$/, '')}${reactionPath}`,
        {
          authorization: `Bearer ${github.token}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'task-logs',
        },
        { content: 'eyes' },
      );
    },
  };
  return { kind: 'delivery', delivery };
}
