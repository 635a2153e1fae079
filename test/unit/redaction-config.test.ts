import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeMetadata } from '../../exporters/metadata-merge.ts';
import { loadConfig } from '../../src/config.ts';
import { redactorFor } from '../../src/instrumentation/redactor-for-config.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

async function redactionFile(content: unknown): Promise<string> {
  const path = join(await tempLogsDir(), 'redaction.json');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('TASK_LOGS_REDACTION and TASK_LOGS_REDACTION_FILE', () => {
  it('redaction is on by default and off with TASK_LOGS_REDACTION=false', () => {
    expect(loadConfig({ env: {} }).redaction.enabled).toBe(true);
    expect(redactorFor(loadConfig({ env: {} }))).toBeDefined();
    expect(redactorFor(loadConfig({ env: { TASK_LOGS_REDACTION: 'false' } }))).toBeUndefined();
  });

  it("adds an operator's rules, allow-list entries and stopwords", async () => {
    const path = await redactionFile({
      rules: [{ id: 'acme-token', regex: '(?i)acme_[a-z0-9]{16}', keywords: ['acme_'] }],
      allow: ['^ghp_0{36}$'],
      stopwords: ['exampleonly'],
    });
    const redactor = redactorFor(loadConfig({ env: { TASK_LOGS_REDACTION_FILE: path } }))!;
    expect(redactor.redact('key ACME_0123456789abcdef here')).toBe('key [REDACTED:acme-token] here');
    expect(redactor.redact(`allowed ghp_${'0'.repeat(36)}`)).toBe(`allowed ghp_${'0'.repeat(36)}`);
    const stop = 'sk_live_exampleonly0123456789ABCDEF';
    expect(redactor.redact(`stripe ${stop}`)).toBe(`stripe ${stop}`);
  });

  it('stops start-up naming a rule whose regex does not compile', async () => {
    const path = await redactionFile({ rules: [{ id: 'broken', regex: 'acme_(unclosed' }] });
    expect(() => loadConfig({ env: { TASK_LOGS_REDACTION_FILE: path } })).toThrow(
      /TASK_LOGS_REDACTION_FILE .*redaction\.json.*: rule "broken": regex "acme_\(unclosed" does not compile/,
    );
  });

  it('stops start-up on a file that is not JSON, or has fields it does not know', async () => {
    const notJson = await redactionFile('{ rules: ');
    expect(() => loadConfig({ env: { TASK_LOGS_REDACTION_FILE: notJson } })).toThrow(
      /cannot be read as JSON/,
    );
    const unknown = await redactionFile({ rulez: [] });
    expect(() => loadConfig({ env: { TASK_LOGS_REDACTION_FILE: unknown } })).toThrow(/rulez/);
    const missing = join(await tempLogsDir(), 'nope.json');
    expect(() => loadConfig({ env: { TASK_LOGS_REDACTION_FILE: missing } })).toThrow(/nope\.json/);
  });

  it("redacts this server's own secrets from its settings", () => {
    const secret = 'whsec-0123456789abcdefXYZ';
    const redactor = redactorFor(loadConfig({ env: { GITHUB_WEBHOOK_SECRET: secret } }))!;
    expect(redactor.redact(`the secret is ${secret}.`)).toBe('the secret is [REDACTED:configured-secret].');
  });
});

describe('metadata.redactions', () => {
  it('adds the counts of each update to those already written, rule by rule', () => {
    const first = mergeMetadata({ status: 'running' }, { redactions: { 'github-pat': 2 } });
    const second = mergeMetadata(first, { redactions: { 'github-pat': 1, jwt: 3 } });
    expect(second.redactions).toEqual({ 'github-pat': 3, jwt: 3 });
    expect(mergeMetadata(second, { status: 'completed' }).redactions).toEqual({ 'github-pat': 3, jwt: 3 });
  });
});
