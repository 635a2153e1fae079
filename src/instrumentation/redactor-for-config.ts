// The process's redactor, built from the settings: gitleaks' rules, ours, the operator's file, and this server's own
// secret values. One per settings object, shared by the file writer, the OTLP export and the server's log.
import type { Config } from '../config.ts';
import { Redactor } from '../contract/redaction/redactor.ts';
import { buildRuleSet } from '../contract/redaction/rule-set.ts';
import { terminalSafe } from '../contract/terminal-safe.ts';

const built = new WeakMap<Config, Redactor>();

/** undefined when TASK_LOGS_REDACTION=false */
export function redactorFor(config: Config): Redactor | undefined {
  return config.redaction.enabled ? configuredRedactor(config) : undefined;
}

/** The redactor the settings describe, whether or not redaction is on (a scan of stored tasks uses it either way). */
export function configuredRedactor(config: Config): Redactor {
  let redactor = built.get(config);
  if (redactor === undefined) {
    const { github, slack, jira } = config.webhooks;
    redactor = new Redactor(
      buildRuleSet({
        extra: config.redaction.extra,
        values: [
          ...config.redaction.secrets,
          github.secret,
          github.token,
          slack.signingSecret,
          slack.botToken,
          jira.secret,
          jira.apiToken,
          config.apiToken,
        ],
      }),
    );
    built.set(config, redactor);
  }
  return redactor;
}

/**
 * A log function whose lines are redacted first (a line that names a secret must not print it), and whose characters
 * that could drive a terminal are escaped (a line can quote task content, a client's value or a damaged file).
 */
export function redactingLog(config: Config, log: (line: string) => void): (line: string) => void {
  const redactor = redactorFor(config);
  return redactor === undefined
    ? (line) => log(terminalSafe(line))
    : (line) => log(terminalSafe(redactor.redact(line)));
}
