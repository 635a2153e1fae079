// The conversation a webhook belongs to, from its source metadata: the GitHub issue or pull request, the Jira issue,
// or the Slack thread. Tasks with the same id are one conversation on the dashboard and in search.
import type { SourceMetadata } from '../contract/task-files.ts';

const GITHUB_REPO = /^[\w.-]{1,100}\/[\w.-]{1,100}$/;
const JIRA_KEY = /^[A-Z][A-Z0-9_]{0,30}-\d{1,12}$/;
const SLACK_ID = /^[A-Z0-9]{1,32}$/;
const SLACK_TS = /^\d{1,12}\.\d{1,8}$/;

/** github:owner/repo#42, jira:PROJ-7, slack:C123/1700000000.000100; undefined when the parts are missing or odd */
export function conversationIdOf(provider: string, source: SourceMetadata): string | undefined {
  if (provider === 'github') {
    const { repo, issue_number: number } = source;
    if (typeof repo !== 'string' || !GITHUB_REPO.test(repo)) return undefined;
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) return undefined;
    return `github:${repo}#${number}`;
  }
  if (provider === 'jira') {
    const key = source.issue_key;
    return typeof key === 'string' && JIRA_KEY.test(key) ? `jira:${key}` : undefined;
  }
  if (provider === 'slack') {
    const { channel, thread_ts: ts } = source;
    if (typeof channel !== 'string' || !SLACK_ID.test(channel)) return undefined;
    if (typeof ts !== 'string' || !SLACK_TS.test(ts)) return undefined;
    return `slack:${channel}/${ts}`;
  }
  return undefined;
}
