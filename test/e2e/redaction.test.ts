import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { fakeCollector } from '../helpers/fake-collector.ts';
import { configuredSecrets, secretSamples } from '../helpers/secret-samples.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';
import { withEnv } from '../helpers/with-env.ts';

const PLAIN_TEXT = 'I will look at the deploy configuration and the environment it reads.';

// a Claude stream-json transcript whose tool results print one secret of each kind
function transcript(samples: { text: string }[]): string {
  const session = { session_id: 'replay-redaction' };
  const lines: unknown[] = [
    { type: 'system', subtype: 'init', model: 'claude-sonnet-4-5-20250929', tools: ['Bash'], ...session },
    {
      type: 'assistant',
      message: { role: 'assistant', content: [{ type: 'text', text: PLAIN_TEXT }] },
      ...session,
    },
  ];
  samples.forEach((sample, i) => {
    const id = `toolu_secret_${i}`;
    lines.push(
      {
        type: 'assistant',
        message: {
          role: 'assistant',
          content: [{ type: 'tool_use', id, name: 'Bash', input: { command: 'cat .env' } }],
        },
        ...session,
      },
      {
        type: 'user',
        message: { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content: sample.text }] },
        ...session,
      },
    );
  });
  lines.push({
    type: 'result',
    subtype: 'success',
    is_error: false,
    duration_ms: 1200,
    result: `Done. The deploy reads ${samples[0]!.text}`,
    total_cost_usd: 0.01,
    usage: { input_tokens: 10, output_tokens: 20 },
    ...session,
  });
  return `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

// what grep would look for: the secret, and each long line of a multi-line one (JSON files hold them as \n escapes)
function needles(secret: string): string[] {
  const lines = secret.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'));
  return [secret, ...(lines.length > 1 ? lines : [])];
}

describe('redaction end to end', () => {
  it('a signed webhook and a replayed agent run with one secret of each kind leave none in the files, OTLP or the log', async () => {
    const samples = [
      ...secretSamples(),
      ...Object.entries(configuredSecrets()).map(([name, value]) => ({
        kind: name,
        text: `${name}=${value}`,
        secret: value,
      })),
    ];
    const dir = await tempLogsDir();
    const replay = join(dir, '..', `${dir.split('/').at(-1)}-transcript.jsonl`);
    writeFileSync(replay, transcript(samples));
    onTestFinished(() => writeFileSync(replay, ''));
    const collector = await fakeCollector();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(otel);
    const config = loadConfig({
      env: {
        ...otel,
        ...configuredSecrets(),
        ...SECRETS,
        TASK_LOGS_DIR: dir,
        TASK_LOGS_FLUSH_MS: '10',
        PORT: '0',
        AGENT_RUNNER: 'replay',
        AGENT_REPLAY_FILE: replay,
        AGENT_REPLAY_DELAY_MS: '0',
        GITHUB_API_URL: 'http://127.0.0.1:9', // no provider calls leave the machine; a failed reaction is recorded
      },
    });
    const printed: string[] = [];
    const server = await startServer(config, { log: (line) => printed.push(line) });
    let closed = false;
    onTestFinished(() => (closed ? undefined : server.close()));

    const comment = `@agent review the deploy config, it has:\n${samples.map((s) => s.text).join('\n')}`;
    const request = githubRequest(githubComment(comment), { secret: SECRETS.GITHUB_WEBHOOK_SECRET });
    const answer = await fetch(`${server.url}/webhooks/github`, request);
    expect(answer.status).toBe(202);
    const { task_id: taskId } = (await answer.json()) as { task_id: string };
    await expect
      .poll(() => readTaskFolder(join(dir, taskId)).metadata?.status, { timeout: 60_000, interval: 50 })
      .toBe('completed');
    await server.close();
    closed = true;

    const haystacks: { where: string; text: string }[] = [
      ...filesUnder(dir).map((path) => ({
        where: path.slice(dir.length),
        text: readFileSync(path, 'latin1'),
      })),
      ...collector.received.map((r, i) => ({
        where: `OTLP body ${i} ${r.path}`,
        text: r.body.toString('utf8'),
      })),
      { where: 'server log', text: printed.join('\n') },
    ];
    const found: string[] = [];
    for (const sample of samples) {
      for (const needle of needles(sample.secret)) {
        for (const { where, text } of haystacks)
          if (text.includes(needle)) found.push(`${sample.kind} in ${where}`);
      }
    }
    expect(found).toEqual([]);
    expect(collector.received.some((r) => r.path === '/v1/logs')).toBe(true);

    // the rest is intact
    const task = readTaskFolder(join(dir, taskId));
    expect(task.input?.message).toContain('@agent review the deploy config, it has:');
    expect(task.input?.message).toContain('export GH_TOKEN=[REDACTED:github-pat]');
    expect(task.agentOutput.some((l) => l.content === PLAIN_TEXT)).toBe(true);
    const results = task.agentOutput.filter((l) => l.type === 'tool_result');
    expect(results).toHaveLength(samples.length);
    expect(results.every((l) => l.content.includes('[REDACTED:'))).toBe(true);
    expect(task.finalResult?.success).toBe(true);
    expect(task.finalResult?.result).toMatch(
      /^Done\. The deploy reads export GH_TOKEN=\[REDACTED:github-pat\]$/,
    );
    const counts = task.metadata?.redactions ?? {};
    console.log(
      `end to end: ${samples.length} kinds of secret in a webhook and a replayed run; ${haystacks.length} files, ` +
        `OTLP bodies and the server log searched; none found; metadata.redactions ${JSON.stringify(counts)}`,
    );
  });
});
