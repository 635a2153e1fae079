// The grammars of provider values that end up in a provider API URL or request (repository names, issue and comment
// numbers, Jira keys, Slack channels and timestamps). A payload is untrusted even when signed by a misconfigured or
// compromised sender: a value outside its grammar is refused before any URL is built from it.

// GitHub: owner is 1-39 of [A-Za-z0-9-], not starting with "-"; repository 1-100 of [A-Za-z0-9._-], not "." or ".."
const GITHUB_OWNER = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
const GITHUB_REPO = /^[A-Za-z0-9._-]{1,100}$/;

export function isGithubFullName(value: string): boolean {
  const parts = value.split('/');
  if (parts.length !== 2) return false;
  const [owner, repo] = parts as [string, string];
  return GITHUB_OWNER.test(owner) && GITHUB_REPO.test(repo) && repo !== '.' && repo !== '..';
}

/** Issue, pull request and comment numbers: positive whole numbers JavaScript holds exactly. */
export function isPositiveId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

export const JIRA_ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,30}-[1-9]\d{0,9}$/;
export const JIRA_PROJECT_KEY = /^[A-Z][A-Z0-9_]{0,30}$/;

// Slack: channel ids start C (public), G (private) or D (direct), then upper-case letters and digits
export const SLACK_CHANNEL = /^[CGD][A-Z0-9]{1,30}$/;
export const SLACK_TS = /^\d{1,12}\.\d{1,9}$/;
export const SLACK_TEAM = /^T[A-Z0-9]{1,30}$/;
