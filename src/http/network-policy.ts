// Fail closed on the network: without TASK_LOGS_API_TOKEN the server may listen on loopback only, and a webhook
// receiver with no secret is on only then (with the development secret). Each receiver says how it is verified.
import { isIPv4 } from 'node:net';
import { type Config, withSecrets } from '../config.ts';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { devSecret, devSecretPath } from '../intake/dev-secret.ts';

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** Refuses a network bind without a token, with one line that says how to fix it. */
export function checkBind(config: Config, bound: string = config.host): void {
  if (config.apiToken !== undefined || isLoopback(bound)) return;
  throw new TaskLogsError(
    'CONFIG_INVALID',
    `HOST=${quote(bound)} would open the API and the OTLP ingest to the network without a token: ` +
      'set TASK_LOGS_API_TOKEN (16+ characters), or listen on loopback only (HOST=127.0.0.1)',
  );
}

/** The same refusal for the separate OTLP ingest listener (OTLP_INGEST_PORT), whose token may be its own. */
export function checkIngestBind(config: Config, bound?: string): void {
  const listener = config.ingest.listener;
  if (listener === undefined) return;
  const host = bound ?? listener.host;
  if (listener.token !== undefined || isLoopback(host)) return;
  throw new TaskLogsError(
    'CONFIG_INVALID',
    `OTLP_INGEST_HOST=${quote(host)} would open the OTLP ingest to the network without a token: ` +
      'set OTLP_INGEST_TOKEN or TASK_LOGS_API_TOKEN (16+ characters), or listen on loopback only (OTLP_INGEST_HOST=127.0.0.1)',
  );
}

type Provider = 'github' | 'slack' | 'jira';
const SETTING: Record<Provider, string> = {
  github: 'GITHUB_WEBHOOK_SECRET',
  slack: 'SLACK_SIGNING_SECRET',
  jira: 'JIRA_WEBHOOK_SECRET',
};
const HEADER: Record<Provider, string> = {
  github: 'X-Hub-Signature-256 (HMAC-SHA256)',
  slack: 'X-Slack-Signature v0 (HMAC-SHA256, timestamp within 5 minutes)',
  jira: 'X-Hub-Signature (HMAC-SHA256)',
};

/**
 * The webhook settings with each receiver's secret decided: its own, the development secret on a loopback-only
 * server, or none (that receiver answers 503). Also one line per receiver for the start-up log.
 */
export function webhookSecrets(config: Config): { config: Config; lines: string[] } {
  const own: Record<Provider, string | undefined> = {
    github: config.webhooks.github.secret,
    slack: config.webhooks.slack.signingSecret,
    jira: config.webhooks.jira.secret,
  };
  const loopbackOnly = isLoopback(config.host);
  const missing = (Object.keys(own) as Provider[]).filter((p) => own[p] === undefined);
  const dev = loopbackOnly && missing.length > 0 ? devSecret(config.logsDir) : undefined;
  const secrets = { ...own };
  const lines: string[] = [];
  for (const provider of Object.keys(own) as Provider[]) {
    const route = `POST /webhooks/${provider}`;
    if (own[provider] !== undefined) {
      lines.push(`webhooks: ${route} on, verified by ${HEADER[provider]} with ${SETTING[provider]}`);
    } else if (dev !== undefined) {
      secrets[provider] = dev;
      lines.push(
        `webhooks: ${route} on, verified by ${HEADER[provider]}: no ${SETTING[provider]}, so a development secret is used (${devSecretPath(config.logsDir)}; loopback only)`,
      );
    } else {
      lines.push(`webhooks: ${route} off (answers 503): set ${SETTING[provider]} to turn it on`);
    }
  }
  const w = config.webhooks;
  const webhooks = {
    ...w,
    github: { ...w.github, ...(secrets.github ? { secret: secrets.github } : {}) },
    slack: { ...w.slack, ...(secrets.slack ? { signingSecret: secrets.slack } : {}) },
    jira: { ...w.jira, ...(secrets.jira ? { secret: secrets.jira } : {}) },
  };
  // the development secret is a secret like any configured one: redacted wherever it would appear
  return { config: withSecrets({ ...config, webhooks }, [dev]), lines };
}
