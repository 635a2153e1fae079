// This server's own secrets are redacted wherever they would appear, as `configured-secret`: the settings' tokens and
// webhook secrets, the password in REDIS_URL, the credentials in the OTLP exporter's headers, and the development
// webhook secret a loopback server makes for itself (it was missing: the redactor was built before it existed).
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { scan } from '../../src/cli/scan-command.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { configuredRedactor } from '../../src/instrumentation/redactor-for-config.ts';
import { devSecret, devSecretPath } from '../../src/intake/dev-secret.ts';
import { fakeCollector } from '../helpers/fake-collector.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest } from '../helpers/webhook-requests.ts';
import { withEnv } from '../helpers/with-env.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("this server's own secrets", () => {
  it('redacts the development webhook secret in the task files, the OTLP export and the server log', async () => {
    const collector = await fakeCollector();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    withEnv(otel);
    // made as the server makes it (the server then uses this one), in a folder named after it, so the start-up line
    // that names the secret's file names the secret; an agent command that names it fails to start, which puts it in
    // 03 ("Running ...", the spawn error) and the OTLP export
    const parent = await tempLogsDir();
    const dev = devSecret(join(parent, 'logs'));
    const dir = join(parent, dev);
    renameSync(join(parent, 'logs'), dir);
    const lines: string[] = [];
    const config = loadConfig({
      env: {
        TASK_LOGS_DIR: dir,
        PORT: '0',
        TASK_LOGS_FLUSH_MS: '10',
        AGENT_RUNNER: 'command',
        AGENT_COMMAND: `/nonexistent/${dev}`,
        ...otel,
      },
    });
    const server = await startServer(config, { log: (line) => lines.push(line) });
    onTestFinished(() => server.close());
    const response = await fetch(
      `${server.url}/webhooks/github`,
      githubRequest(githubComment(), { secret: dev }),
    );
    expect(response.status).toBe(202);
    const { task_id: taskId } = (await response.json()) as { task_id: string };
    const status = () => {
      try {
        return JSON.parse(readFileSync(join(dir, taskId, 'metadata.json'), 'utf8')).status;
      } catch {
        return undefined;
      }
    };
    await expect.poll(status).toBe('failed');
    await server.telemetry.forceFlush();

    const output = readFileSync(join(dir, taskId, '03-agent-output.jsonl'), 'utf8');
    expect(output).toContain('/nonexistent/[REDACTED:configured-secret]');
    for (const file of filesUnder(dir).filter((path) => path !== devSecretPath(dir))) {
      expect(readFileSync(file).toString('latin1'), file).not.toContain(dev);
    }
    const exported = collector.received.map((r) => r.body.toString()).join('\n');
    expect(exported).toContain('[REDACTED:configured-secret]');
    expect(exported).not.toContain(dev);
    expect(lines.join('\n')).not.toContain(dev);
    expect(lines.join('\n')).toContain('[REDACTED:configured-secret]/.dev-webhook-secret');
  });

  it('knows every configured secret: tokens, webhook secrets, the REDIS_URL password, OTLP header credentials', () => {
    const values = {
      TASK_LOGS_API_TOKEN: 'api-token-0123456789abcdef',
      OTLP_INGEST_TOKEN: 'ingest-token-0123456789abcdef',
      GITHUB_WEBHOOK_SECRET: 'github-secret-0123456789',
      SLACK_SIGNING_SECRET: 'slack-secret-0123456789',
      JIRA_WEBHOOK_SECRET: 'jira-secret-0123456789',
      GITHUB_TOKEN: 'github-token-0123456789',
      SLACK_BOT_TOKEN: 'slack-bot-token-0123456789',
      JIRA_API_TOKEN: 'jira-api-token-0123456789',
    };
    const redis = 'redis-pass/w0rd+0123';
    const ddKey = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const bearer = 'collector-bearer-0123456789';
    const config = loadConfig({
      env: {
        ...values,
        OTLP_INGEST_PORT: '4318',
        REDIS_URL: `redis://:${encodeURIComponent(redis)}@redis.internal:6379/0`,
        OTEL_EXPORTER_OTLP_HEADERS: `dd-api-key=${ddKey},x-scope-orgid=tenant-production`,
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: `Authorization=Bearer%20${bearer}`,
      },
    });
    const redactor = configuredRedactor(config);
    const secrets = [...Object.values(values), redis, encodeURIComponent(redis), ddKey, bearer];
    for (const secret of secrets) {
      const text = `the agent printed ${secret} while debugging`;
      expect(redactor.redact(text), secret).toBe(
        'the agent printed [REDACTED:configured-secret] while debugging',
      );
    }
    // a header that carries no credential is not a secret
    expect(redactor.redact('tenant tenant-production is busy')).toBe('tenant tenant-production is busy');
  });

  it("a refused setting's message, printed at start-up, shows no URL password", () => {
    let message = '';
    try {
      loadConfig({
        env: {
          REDIS_URL: 'http://:s3cret-redis-pass@redis:6379',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://u:s3cret-otlp@x',
        },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('REDIS_URL="http://***@redis:6379"');
    expect(message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT="ftp://***@x"');
    expect(message).not.toMatch(/s3cret/);
  });

  it('`tasklogs scan` looks for the development webhook secret in stored tasks too', async () => {
    const dir = await tempLogsDir();
    const dev = devSecret(dir);
    mkdirSync(join(dir, 'task-old'));
    const line = { timestamp: '2026-01-01T00:00:00.000Z', type: 'text', content: `cat secret: ${dev}` };
    writeFileSync(join(dir, 'task-old', '03-agent-output.jsonl'), `${JSON.stringify(line)}\n`);
    const printed: unknown[] = [];
    const out = {
      color: false,
      line: () => undefined,
      json: (value: unknown) => printed.push(value),
      err: { write: () => true },
    };
    const code = await scan(loadConfig({ env: { TASK_LOGS_DIR: dir } }), { json: true }, out);
    expect(code).toBe(1);
    expect(JSON.stringify(printed)).toContain('configured-secret');
  });
});
