// How numbers, times and sources are shown, and links to where a task came from (built only from checked parts).
export function cost(value) {
  if (typeof value !== 'number') return '–';
  return value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`;
}

export function tokens(value) {
  if (typeof value !== 'number') return '–';
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  return value.toLocaleString('en');
}

export function count(value) {
  return typeof value === 'number' ? value.toLocaleString('en') : '–';
}

export function seconds(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (value < 0.01) return `${(value * 1000).toFixed(1)} ms`;
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(1)} s`;
  const minutes = Math.floor(value / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(value % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function millis(value) {
  return seconds(typeof value === 'number' ? value / 1000 : value);
}

/** a task's duration: the result's, or for a running task the time since it started */
export function taskSeconds(row, now = Date.now()) {
  if (typeof row.duration_seconds === 'number') return row.duration_seconds;
  if (row.status === 'running' && row.started_at) return (now - Date.parse(row.started_at)) / 1000;
  return undefined;
}

export function when(iso) {
  if (typeof iso !== 'string') return '–';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

export function percent(part, whole) {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}

const GITHUB_REPO = /^[\w.-]{1,100}\/[\w.-]{1,100}$/;
const JIRA_KEY = /^[A-Z][A-Z0-9_]{0,30}-\d{1,12}$/;
const SLACK_ID = /^[A-Z0-9]{1,32}$/;
const SLACK_TS = /^\d{1,12}\.\d{1,8}$/;

/** { label, href? } for where a task came from; href only from parts that match what each provider issues */
export function sourceLink(provider, source, settings = {}) {
  const meta = source ?? {};
  if (provider === 'github' && typeof meta.repo === 'string' && GITHUB_REPO.test(meta.repo)) {
    const number =
      Number.isSafeInteger(meta.issue_number) && meta.issue_number > 0 ? meta.issue_number : undefined;
    return {
      label: number === undefined ? meta.repo : `${meta.repo}#${number}`,
      href: `https://github.com/${meta.repo}${number === undefined ? '' : `/issues/${number}`}`,
    };
  }
  if (provider === 'jira' && typeof meta.issue_key === 'string' && JIRA_KEY.test(meta.issue_key)) {
    const base = typeof settings.jira_base_url === 'string' ? httpsBase(settings.jira_base_url) : undefined;
    return { label: meta.issue_key, href: base ? `${base}/browse/${meta.issue_key}` : undefined };
  }
  if (provider === 'slack' && typeof meta.channel === 'string' && SLACK_ID.test(meta.channel)) {
    const team = typeof meta.team === 'string' && SLACK_ID.test(meta.team) ? meta.team : undefined;
    const ts =
      typeof meta.thread_ts === 'string' && SLACK_TS.test(meta.thread_ts) ? meta.thread_ts : undefined;
    const href =
      team && ts
        ? `https://app.slack.com/client/${team}/${meta.channel}/thread/${meta.channel}-${ts}`
        : `https://slack.com/app_redirect?channel=${meta.channel}`;
    return { label: ts ? `#${meta.channel} thread ${ts}` : `#${meta.channel}`, href };
  }
  return { label: provider ?? 'unknown' };
}

function httpsBase(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:'
      ? url.origin + url.pathname.replace(/\/$/, '')
      : undefined;
  } catch {
    return undefined;
  }
}
