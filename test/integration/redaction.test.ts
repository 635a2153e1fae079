import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandRunner } from '../../src/agent/command-runner.ts';
import { loadConfig } from '../../src/config.ts';
import { Redactor } from '../../src/contract/redaction/redactor.ts';
import { buildRuleSet } from '../../src/contract/redaction/rule-set.ts';
import { redactingLog } from '../../src/instrumentation/redactor-for-config.ts';
import { fakeCollector, stringsIn } from '../helpers/fake-collector.ts';
import { configuredSecrets, gitleaksCases, secretSamples } from '../helpers/secret-samples.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { withEnv } from '../helpers/with-env.ts';

interface SecretCase {
  name: string;
  text: string;
  /** raw secrets in the text; none may survive */
  secrets: string[];
}

// gitleaks' literal true positives (each secret as its own rule finds it), our kinds, and our own settings' values
function allCases(): SecretCase[] {
  const full = buildRuleSet();
  const cases: SecretCase[] = [];
  for (const [id, { tps }] of Object.entries(gitleaksCases().cases)) {
    const rule = full.rules.find((r) => r.id === id);
    if (rule === undefined) continue;
    const alone = new Redactor({ ...full, rules: [rule], values: [] });
    for (const tp of tps) {
      cases.push({ name: id, text: tp, secrets: alone.find(tp).map((f) => tp.slice(f.start, f.end)) });
    }
  }
  for (const s of secretSamples()) cases.push({ name: s.kind, text: s.text, secrets: [s.secret] });
  for (const [name, value] of Object.entries(configuredSecrets())) {
    cases.push({ name, text: `${name}=${value}`, secrets: [value] });
  }
  return cases;
}

const PLAIN = 'Analyzing src/queue.ts: the retry loop uses a fixed delay of one second between attempts.';

function leaks(strings: string[], cases: SecretCase[]): string[] {
  const found: string[] = [];
  for (const c of cases) {
    for (const secret of c.secrets)
      if (strings.some((s) => s.includes(secret))) found.push(`${c.name}: ${secret.slice(0, 40)}`);
  }
  return found;
}

describe('redaction on the way to the files and the OTLP export', () => {
  it('redacts every true positive in all five files and in the OTLP export, and keeps the rest', async () => {
    const cases = allCases();
    const collector = await fakeCollector();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      ...configuredSecrets(),
    };
    withEnv(env); // the OTLP exporters read the standard variables themselves
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, env);
    const joined = cases.map((c) => c.text).join('\n\n');
    const task = telemetry.tasks.start({
      taskId: 'task-secrets',
      source: 'webhook',
      provider: 'github',
      input: { message: joined, source_metadata: { provider: 'github', comment: cases.map((c) => c.text) } },
    });
    task.stage('received', { comment: joined }).end();
    task.recordStage('validation', { status: 'passed', header: cases.at(-1)!.text });
    task.stage('command_matching').fail(new Error(`could not match ${secretSamples()[0]!.text}`));
    const run = task.startAgent({ name: 'brain', model: `claude ${secretSamples()[0]!.text}` });
    run.text(PLAIN);
    for (const c of cases) {
      run.text(c.text);
      const callId = run.toolCall({ name: 'Bash', input: { command: c.text } });
      run.toolResult(callId, c.text);
    }
    run.finish({ success: false, result: joined, error: joined });
    await telemetry.forceFlush();

    const folder = join(dir, 'task-secrets');
    const files = readdirSync(folder).filter((f) => !f.startsWith('.'));
    expect(files.sort()).toEqual([
      '01-input.json',
      '02-webhook-flow.jsonl',
      '03-agent-output.jsonl',
      '04-final-result.json',
      'metadata.json',
    ]);
    for (const file of files) {
      const raw = readFileSync(join(folder, file), 'utf8');
      const values = file.endsWith('.jsonl')
        ? raw
            .trim()
            .split('\n')
            .flatMap((line) => stringsIn(JSON.parse(line)))
        : stringsIn(JSON.parse(raw));
      expect(leaks([raw, ...values], cases), file).toEqual([]);
      if (file !== 'metadata.json') expect(raw, file).toContain('[REDACTED:');
    }
    const read = readTaskFolder(folder);
    expect(read.agentOutput[0]).toMatchObject({ type: 'text', content: PLAIN });
    expect(read.agentOutput).toHaveLength(1 + cases.length * 3);
    expect(read.metadata?.model).toMatch(/^claude export GH_TOKEN=\[REDACTED:github-pat\]$/);
    const redactions = read.metadata?.redactions ?? {};
    const total = Object.values(redactions).reduce((a, b) => a + b, 0);
    expect(redactions['github-pat']).toBeGreaterThan(0);
    expect(redactions['configured-secret']).toBeGreaterThan(0);

    const bodies = collector.received.filter((r) => r.path === '/v1/traces' || r.path === '/v1/logs');
    expect(bodies.some((r) => r.path === '/v1/logs')).toBe(true);
    const exported = bodies.flatMap((r) => stringsIn(JSON.parse(r.body.toString())));
    expect(leaks([...bodies.map((r) => r.body.toString()), ...exported], cases)).toEqual([]);
    expect(exported.filter((s) => s.includes('[REDACTED:')).length).toBeGreaterThan(cases.length);
    expect(exported).toContain(PLAIN);
    console.log(
      `redaction: ${cases.length} secret samples, ${cases.reduce((n, c) => n + c.secrets.length, 0)} secrets; ` +
        `none in 5 files (${total} redactions counted in metadata.json) or ${bodies.length} OTLP bodies`,
    );
  });

  it('writes secrets as they are with TASK_LOGS_REDACTION=false', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, { TASK_LOGS_REDACTION: 'false' });
    const sample = secretSamples()[0]!;
    const run = telemetry.tasks.start({ taskId: 'task-plain' }).startAgent({ name: 'brain' });
    run.text(sample.text);
    run.finish({ result: 'done' });
    await telemetry.forceFlush();
    const read = readTaskFolder(join(dir, 'task-plain'));
    expect(read.agentOutput[0]?.content).toBe(sample.text);
    expect(read.metadata?.redactions).toBeUndefined();
  });
});

describe("the server's log", () => {
  it('redacts every true positive from the lines the server prints', () => {
    const cases = allCases();
    const printed: string[] = [];
    const log = redactingLog(loadConfig({ env: configuredSecrets() }), (line) => printed.push(line));
    for (const c of cases) log(`task task-x: the replay runner failed: Error: ${c.text}`);
    expect(printed).toHaveLength(cases.length);
    expect(leaks(printed, cases)).toEqual([]);
  });

  it.each(['true', 'false'])(
    'prints what could drive a terminal as escapes (redaction %s): a line can quote task content',
    (redaction) => {
      const printed: string[] = [];
      const log = redactingLog(loadConfig({ env: { TASK_LOGS_REDACTION: redaction } }), (line) =>
        printed.push(line),
      );
      log('failed: \x1b]0;pwned\x07 \x1b[2J \u202egnp.exe\r\x9b1m\tnext\nline');
      expect(printed).toEqual([
        'failed: \\u001b]0;pwned\\u0007 \\u001b[2J \\u202egnp.exe\\u000d\\u009b1m\tnext\nline',
      ]);
    },
  );
});

describe('the unit of redaction', () => {
  it('a secret written in two pieces by the agent still ends up redacted: the runner joins a line before emitting', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir);
    const sample = secretSamples()[0]!;
    const cut = sample.text.length - 10;
    // the agent writes the line in two pieces, a moment apart, so the pipe delivers them as two chunks
    const script = `process.stdout.write(${JSON.stringify(sample.text.slice(0, cut))});
      setTimeout(() => process.stdout.write(${JSON.stringify(`${sample.text.slice(cut)}\n`)}), 300);`;
    const runner = new CommandRunner({ argv: [process.execPath, '-e', script], timeoutSeconds: 30 });
    const run = telemetry.tasks.start({ taskId: 'task-split' }).startAgent({ name: 'brain' });
    await runner.run(run, { taskId: 'task-split', prompt: '' });
    await telemetry.forceFlush();
    const lines = readTaskFolder(join(dir, 'task-split')).agentOutput.filter((l) => l.type === 'text');
    expect(lines[0]?.content).toBe(sample.text.replace(sample.secret, '[REDACTED:github-pat]'));
  });

  it('a private key printed line by line (each line its own event) is redacted from BEGIN to END, in the files and over OTLP', async () => {
    const collector = await fakeCollector();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(env);
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, env);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trimEnd();
    const keyLines = pem.split('\n');
    const body = keyLines.slice(1, -1);
    // `cat id_rsa` through the command runner: one text event per line of the file, then more work after it
    // a BEGIN line quoted in a search result opens no block that swallows what follows
    const quoted = "src/fixtures.ts:12: const header = '-----BEGIN RSA PRIVATE KEY-----';";
    const printed = ['$ cat deploy/id_rsa', ...keyLines, 'the key is loaded', quoted, '3 files changed'];
    const script = `process.stdout.write(${JSON.stringify(`${printed.join('\n')}\n`)});`;
    const runner = new CommandRunner({ argv: [process.execPath, '-e', script], timeoutSeconds: 30 });
    const run = telemetry.tasks.start({ taskId: 'task-pem' }).startAgent({ name: 'brain' });
    await runner.run(run, { taskId: 'task-pem', prompt: '' });
    run.finish({ success: true, result: 'done' });
    await telemetry.forceFlush();

    const read = readTaskFolder(join(dir, 'task-pem'));
    const texts = read.agentOutput.filter((l) => l.type === 'text').map((l) => String(l.content));
    const raw = readFileSync(join(dir, 'task-pem', '03-agent-output.jsonl'), 'utf8');
    const exported = collector.received.map((r) => r.body.toString()).join('\n');
    for (const line of body) {
      expect(raw).not.toContain(line);
      expect(exported).not.toContain(line);
    }
    // the lines around the key are kept as they were, one event each
    expect(texts[0]).toBe('$ cat deploy/id_rsa');
    expect(texts).toContain('the key is loaded');
    expect(texts.slice(-2)).toEqual([
      "src/fixtures.ts:12: const header = '[REDACTED:private-key]",
      '3 files changed',
    ]);
    expect(texts.filter((t) => t.includes('[REDACTED:private-key]')).length).toBeGreaterThanOrEqual(2);
    expect(read.metadata?.redactions?.['private-key']).toBeGreaterThan(0);
  });

  it('a BEGIN line followed by a long run of spaces that is not key material is written at once, not after minutes of backtracking', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, {});
    const run = telemetry.tasks.start({ taskId: 'task-spaces' }).startAgent({ name: 'brain' });
    // agent output an attacker can shape: the key-line check once backtracked quadratically over this (400 KB: minutes)
    const spaces = `${' '.repeat(400_000)}!`;
    run.text('-----BEGIN RSA PRIVATE KEY-----');
    run.text(spaces);
    run.text(`MIIEpAIBAAKCAQEA${'\t'.repeat(400_000)}x`);
    run.finish({ success: true, result: 'done' });
    await telemetry.forceFlush();
    const texts = readTaskFolder(join(dir, 'task-spaces'))
      .agentOutput.filter((l) => l.type === 'text')
      .map((l) => String(l.content));
    // neither line is key material: the block ends at the first, and both are kept as they were
    expect(texts).toEqual(['[REDACTED:private-key]', spaces, `MIIEpAIBAAKCAQEA${'\t'.repeat(400_000)}x`]);
  });
});

describe('keys that hold secrets', () => {
  it('redacts thousands of token keys in one tool input without slowing down, and keeps a __proto__ key', async () => {
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, {});
    const run = telemetry.tasks.start({ taskId: 'task-keys' }).startAgent({ name: 'brain' });
    const token = () =>
      `ghp_${randomBytes(40)
        .toString('base64')
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(0, 36)}`;
    // agent-shaped input (parsed JSON): 12,000 tokens as keys all redact to one name (the suffix search was quadratic:
    // minutes), and a __proto__ key written into a plain object set its prototype instead (the key was lost)
    const tokens = Array.from({ length: 12_000 }, token);
    const input = JSON.parse(
      `{"__proto__":{"keep":"me"},"path":"a.ts",${tokens.map((t, i) => `${JSON.stringify(t)}:${i}`).join(',')}}`,
    ) as Record<string, unknown>;
    expect(Object.keys(input)[0]).toBe('__proto__');
    run.toolCall({ name: 'configure', callId: 'c1', input });
    run.finish({ success: true, result: 'done' });
    await telemetry.forceFlush();
    const raw = readFileSync(join(dir, 'task-keys', '03-agent-output.jsonl'), 'utf8');
    for (const t of tokens.slice(0, 50)) expect(raw).not.toContain(t);
    const call = readTaskFolder(join(dir, 'task-keys')).agentOutput.find((l) => l.type === 'tool_call');
    const written = (call as { input?: Record<string, unknown> } | undefined)?.input ?? {};
    const keys = Object.keys(written);
    expect(keys.slice(0, 4)).toEqual([
      '__proto__',
      'path',
      '[REDACTED:github-pat]',
      '[REDACTED:github-pat]#2',
    ]);
    expect(keys.length).toBe(2 + tokens.length);
    expect(written['[REDACTED:github-pat]#12000']).toBe(11_999);
    expect(JSON.stringify(Object.getOwnPropertyDescriptor(written, '__proto__')?.value)).toBe(
      '{"keep":"me"}',
    );
  });
});

describe('values nested deeper than the walk goes', () => {
  it('a secret 200 levels down in a tool input reaches neither the files nor the OTLP export', async () => {
    const collector = await fakeCollector();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(env);
    const dir = await tempLogsDir();
    const telemetry = testTelemetry(dir, env);
    const sample = secretSamples().find((s) => s.rule === 'github-pat')!;
    const shallow = secretSamples().find((s) => s.rule === 'slack-bot-token')!;
    let deep: Record<string, unknown> = { note: sample.text };
    for (let i = 0; i < 200; i++) deep = { level: i, next: deep };
    // a secret near the top too: the shallow walk changes the value, so it is written back from the walked copy
    const input = { auth: shallow.text, tree: deep };
    const run = telemetry.tasks.start({ taskId: 'task-deep' }).startAgent({ name: 'brain' });
    run.toolCall({ name: 'configure', callId: 'c1', input });
    run.finish({ success: true, result: 'done' });
    await telemetry.forceFlush();

    const files = readdirSync(join(dir, 'task-deep')).map((name) =>
      readFileSync(join(dir, 'task-deep', name), 'utf8'),
    );
    const exported = collector.received.map((r) => r.body.toString());
    expect(exported.length).toBeGreaterThan(0);
    for (const text of [...files, ...exported]) {
      expect(text).not.toContain(sample.secret);
      expect(text).not.toContain(shallow.secret);
    }
    // the rest of the deep value is still there, only the secret is gone
    const raw = readFileSync(join(dir, 'task-deep', '03-agent-output.jsonl'), 'utf8');
    expect(raw).toContain('[REDACTED:github-pat]');
    expect(exported.join('\n')).toContain('[REDACTED:github-pat]');
    expect(exported.join('\n')).toContain('level');
  });
});
