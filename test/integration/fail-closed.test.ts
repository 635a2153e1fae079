import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { devSecret, devSecretPath } from '../../src/intake/dev-secret.ts';
import { hubSignature } from '../../src/intake/signatures.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { getJson, testServer } from '../helpers/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, jiraComment, slackMention } from '../helpers/webhook-requests.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TOKEN = 'a-long-enough-test-token-123';

function start(env: Record<string, string>) {
  const clean = { ...process.env };
  for (const name of ['TASK_LOGS_API_TOKEN', 'HOST', 'GITHUB_WEBHOOK_SECRET', 'SLACK_SIGNING_SECRET']) {
    delete clean[name];
  }
  return spawnSync(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: { ...clean, PORT: '0', AGENT_RUNNER: 'replay', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('a network bind without a token', () => {
  it('HOST=0.0.0.0 refuses to start with one line saying how to fix it (exit 2)', async () => {
    const dir = await tempLogsDir();
    const result = start({ TASK_LOGS_DIR: dir, HOST: '0.0.0.0' });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('set TASK_LOGS_API_TOKEN');
    expect(lines[0]).toContain('HOST=127.0.0.1');
    expect(result.stdout).not.toContain('listening on');
  });

  it.each(['0.0.0.0', '::', '::ffff:10.0.0.1', '192.0.2.1', '10.0.0.1', 'example.com', '127.0.0.1.nip.io'])(
    'HOST=%s is refused by startServer itself, before any file is made',
    async (host) => {
      const dir = join(await tempLogsDir(), 'logs');
      await expect(testServer(dir, { HOST: host })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect(() => lstatSync(dir)).toThrow(/ENOENT/);
    },
  );
});

describe('webhook receivers without their secret', () => {
  it('on a loopback-only server use the development secret for every provider, Jira included', async () => {
    const dir = await tempLogsDir();
    const lines: string[] = [];
    const { startServer } = await import('../../src/http/server.ts');
    const server = await startServer(
      loadConfig({ env: { TASK_LOGS_DIR: dir, PORT: '0', AGENT_RUNNER: 'replay' } }),
      { log: (line) => lines.push(line) },
    );
    try {
      for (const provider of ['github', 'slack', 'jira']) {
        expect(lines.find((l) => l.includes(`/webhooks/${provider} on`))).toContain('development secret');
      }
      // an unsigned Jira delivery was accepted on any bind before
      const unsigned = await freshFetch(`${server.url}/webhooks/jira`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(jiraComment()),
      });
      expect(unsigned.status).toBe(401);
      const secret = readFileSync(devSecretPath(dir), 'utf8').trim();
      const body = JSON.stringify(jiraComment());
      const signed = await freshFetch(`${server.url}/webhooks/jira`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature': hubSignature(secret, body) },
        body,
      });
      expect(signed.status).toBe(202);
    } finally {
      await server.close();
    }
  });

  it('on a network bind are off (503), and start-up says so', async () => {
    const dir = await tempLogsDir();
    const lines: string[] = [];
    const { startServer } = await import('../../src/http/server.ts');
    const server = await startServer(
      loadConfig({ env: { TASK_LOGS_DIR: dir, PORT: '0', TASK_LOGS_API_TOKEN: TOKEN, HOST: '0.0.0.0' } }),
      { log: (line) => lines.push(line) },
    );
    try {
      expect(lines.filter((l) => l.includes('off (answers 503)'))).toHaveLength(3);
      const requests: [string, RequestInit][] = [
        ['github', githubRequest(githubComment(), { secret: 'anything-at-all-123' })],
        ['slack', { method: 'POST', body: JSON.stringify(slackMention()) }],
        ['jira', { method: 'POST', body: JSON.stringify(jiraComment()) }],
      ];
      for (const [provider, init] of requests) {
        const response = await getJson(`${server.url}/webhooks/${provider}`, init);
        expect(response).toMatchObject({ status: 503, body: { error: { code: 'WEBHOOK_NOT_CONFIGURED' } } });
      }
      expect(() => lstatSync(devSecretPath(dir))).toThrow(/ENOENT/);
    } finally {
      await server.close();
    }
  });
});

describe('the development secret file', () => {
  it('is created 0600', async () => {
    const dir = await tempLogsDir();
    const secret = devSecret(dir);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(lstatSync(devSecretPath(dir)).mode & 0o777).toBe(0o600);
    expect(devSecret(dir)).toBe(secret);
  });

  it.each([
    ['a symlink to a file elsewhere', 'is a symbolic link'],
    ['a dangling symlink', 'is a symbolic link'],
    ['readable by others', 'readable or writable by group or others (mode 644)'],
    ['readable by the group', 'readable or writable by group or others (mode 640)'],
    ['a folder', 'is not a regular file'],
    ['too short to be a secret', 'does not hold a secret'],
  ])(
    'is refused with a clear start-up error when it is %s, and the target is untouched',
    async (kind, message) => {
      const root = await tempLogsDir();
      const dir = join(root, 'logs');
      const target = join(root, 'victim.txt');
      writeFileSync(target, 'do not overwrite\n');
      const path = devSecretPath(dir);
      const { mkdirSync, chmodSync } = await import('node:fs');
      mkdirSync(dir);
      if (kind === 'a symlink to a file elsewhere') symlinkSync(target, path);
      if (kind === 'a dangling symlink') symlinkSync(join(root, 'nowhere'), path);
      if (kind === 'readable by others') writeFileSync(path, `${'a'.repeat(64)}\n`, { mode: 0o644 });
      if (kind === 'readable by the group') {
        writeFileSync(path, `${'a'.repeat(64)}\n`);
        chmodSync(path, 0o640);
      }
      if (kind === 'a folder') mkdirSync(path);
      if (kind === 'too short to be a secret') writeFileSync(path, 'abc\n', { mode: 0o600 });
      expect(() => devSecret(dir)).toThrow(message);
      await expect(testServer(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      if (kind === 'a symlink to a file elsewhere') {
        const result = start({ TASK_LOGS_DIR: dir });
        expect(result.status).toBe(2);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toContain(message);
      }
      expect(readFileSync(target, 'utf8')).toBe('do not overwrite\n');
      expect(() => lstatSync(join(root, 'nowhere'))).toThrow(/ENOENT/);
    },
  );
});
