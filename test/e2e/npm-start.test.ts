import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { hubSignature } from '../../src/intake/signatures.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, SECRETS } from '../helpers/webhook-requests.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** The port the server says it listens on (PORT=0: the system picked it). */
async function listeningPort(output: () => string): Promise<number> {
  const line = /task-logs listening on http:\/\/127\.0\.0\.1:(\d+) /;
  await expect.poll(output, { timeout: 60_000 }).toMatch(line);
  return Number(line.exec(output())![1]);
}

describe('npm start', () => {
  it("serves the example task to the seed's three curl commands, and stops cleanly on SIGTERM", async () => {
    const dir = await tempLogsDir();
    const env = { ...process.env, TASK_LOGS_DIR: dir };
    execFileSync(process.execPath, ['src/example.ts', '--task-id', 'task-abc123'], { cwd: ROOT, env });
    // the seed's commands name port 8000; they go to the port the system picked instead (port 8000, or any fixed
    // one, may be taken by another process on the machine between a check and the server's bind)
    // `npm start` itself, as the README says: a SIGTERM to npm (what a container or a process manager sends) must
    // reach the server through npm's shell
    const server = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    server.stderr.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    try {
      const port = await listeningPort(() => out);
      // the start-up lines after the listening one may come in a later chunk of the pipe
      await expect.poll(() => out).toContain(`task logs in ${dir}`);
      await expect.poll(() => out).toContain('listens on loopback only');

      const curl = (command: string) =>
        execFileSync('bash', ['-c', command.replace(':8000', `:${port}`)], { encoding: 'utf8' });
      const metadata = JSON.parse(curl('curl -s http://localhost:8000/api/tasks/task-abc123/logs/metadata'));
      expect(metadata).toMatchObject({ task_id: 'task-abc123', status: 'completed' });
      const full = JSON.parse(curl('curl -s http://localhost:8000/api/tasks/task-abc123/logs/full'));
      expect(full.agent_output.length).toBeGreaterThanOrEqual(100);
      expect(full.final_result.success).toBe(true);
      const output = JSON.parse(
        curl('curl -s http://localhost:8000/api/tasks/task-abc123/logs/agent-output'),
      );
      expect(output).toEqual(full.agent_output);
    } finally {
      server.kill('SIGTERM');
    }
    const [code] = await once(server, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('SIGTERM: shutting down');
  });
});

describe('a shutdown with tasks still running', () => {
  it('says which tasks it lets finish first and how to cut that short', async () => {
    // the in-process queue lets its running and waiting tasks finish before the flush, each within the agent timeout:
    // the SIGTERM line says so (it used to say only "flushing telemetry", then wait with no word for half an hour)
    const dir = await tempLogsDir();
    const agent = join(dir, 'slow-agent.sh'); // a stray file in TASK_LOGS_DIR is not a task, and goes with the folder
    await writeFile(agent, '#!/bin/sh\necho started\nexec sleep 120\n', { mode: 0o700 });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...SECRETS,
      TASK_LOGS_DIR: dir,
      PORT: '0',
      AGENT_RUNNER: 'command',
      AGENT_COMMAND: agent,
      WORKER_CONCURRENCY: '1',
    };
    const server = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      server.kill('SIGKILL'); // also when the test fails on its timeout: the agent's watchdog ends the agent with it
    });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    try {
      const port = await listeningPort(() => out);
      const send = async (id: number) => {
        const body = JSON.stringify(
          githubComment('@agent review', { comment: { id, body: '@agent review' } }),
        );
        const answer = await fetch(`http://127.0.0.1:${port}/webhooks/github`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'issue_comment',
            'x-github-delivery': `delivery-${id}`,
            'x-hub-signature-256': hubSignature(SECRETS.GITHUB_WEBHOOK_SECRET, body),
          },
          body,
        });
        return ((await answer.json()) as { task_id: string }).task_id;
      };
      const first = await send(1);
      await send(2);
      const status = async () =>
        (
          (await (await fetch(`http://127.0.0.1:${port}/api/tasks/${first}/logs/metadata`)).json()) as {
            status?: string;
          }
        ).status;
      await expect.poll(status, { timeout: 60_000 }).toBe('running');
      server.kill('SIGTERM');
      await expect
        .poll(() => out, { timeout: 60_000 })
        .toMatch(
          /SIGTERM: shutting down \(first letting 1 running and 1 queued task\(s\) finish, each within AGENT_TIMEOUT_SECONDS=1800; kill -9 stops now/,
        );
    } finally {
      server.kill('SIGKILL'); // the agent's watchdog ends the agent with it
    }
    await once(server, 'exit');
  });
});

describe('npm run demo', () => {
  it('sends a signed GitHub webhook to the running server and waits for the task to complete', async () => {
    const dir = await tempLogsDir();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TASK_LOGS_DIR: dir,
      PORT: '0',
      AGENT_RUNNER: 'replay',
      AGENT_REPLAY_DELAY_MS: '1',
    };
    delete env.GITHUB_WEBHOOK_SECRET;
    const server = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    try {
      const port = await listeningPort(() => out);
      expect(out).toContain('a development secret is used');
      const demo = execFileSync(process.execPath, ['src/demo.ts'], {
        cwd: ROOT,
        env: { ...env, PORT: String(port) },
        encoding: 'utf8',
      });
      expect(demo).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/webhooks\/github \(delivery [\w-]+\) -> 202/);
      const taskId = /task (task-[0-9a-z]{24}) completed\. Read it with:/.exec(demo)?.[1];
      expect(taskId).toBeDefined();
      expect(demo).toContain(`curl http://127.0.0.1:${port}/api/tasks/${taskId}/logs/full`);
    } finally {
      server.kill('SIGTERM');
    }
    await once(server, 'exit');
  });

  it("says at once that the server's API wants its token, when the demo runs without it", async () => {
    // the server runs with TASK_LOGS_API_TOKEN, the demo's terminal does not have it: the webhook is taken (receivers
    // need no token) and every poll answers 401; the demo waited 30 s and asked "is the server writing?"
    const dir = await tempLogsDir();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TASK_LOGS_DIR: dir,
      PORT: '0',
      HOST: '127.0.0.1',
      AGENT_RUNNER: 'replay',
      AGENT_REPLAY_DELAY_MS: '1',
      TASK_LOGS_API_TOKEN: 'demo-walk-token-0123456789',
    };
    delete env.GITHUB_WEBHOOK_SECRET;
    const server = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    try {
      const port = await listeningPort(() => out);
      const demoEnv: NodeJS.ProcessEnv = { ...env, PORT: String(port) };
      delete demoEnv.TASK_LOGS_API_TOKEN;
      const started = Date.now();
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = execFile(
          process.execPath,
          ['src/demo.ts'],
          { cwd: ROOT, env: demoEnv },
          (_error, _out, stderr) => done({ code: child.exitCode, stderr }),
        );
      });
      expect(stderr).toMatch(
        /^demo: the server's API needs its token \(401\) to follow task task-[0-9a-z]{24}: set TASK_LOGS_API_TOKEN here to the server's token\n$/,
      );
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      server.kill('SIGTERM');
    }
    await once(server, 'exit');
  });

  it('says in one line that the server went away while it waited, without a stack', async () => {
    // the server is killed (kill -9, a crash) while the demo polls its task: the demo names what happened and ends
    // with 1; it used to die on an uncaught "fetch failed" and print Node's stack
    let polls = 0;
    const server = createServer((req, res) => {
      if (req.url === '/webhooks/github') {
        req.resume();
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"task_id":"task-gone0000000001","status":"queued"}');
      } else if (req.url === '/healthz') {
        res.end('{"status":"ok","logging":true}');
      } else if (polls++ === 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"running"}');
      } else {
        req.socket.destroy(); // gone mid-poll, as after a kill -9
        server.close();
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TASK_LOGS_DIR: await tempLogsDir(),
      DEMO_URL: url,
      GITHUB_WEBHOOK_SECRET: 'walk-demo-secret-0123456789',
    };
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((done) => {
      const child = execFile(
        process.execPath,
        ['src/demo.ts'],
        { cwd: ROOT, env },
        (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }),
      );
    });
    server.close();
    expect(stdout).toContain('task task-gone0000000001: running');
    expect(stderr).toMatch(/^demo: lost .*task-gone0000000001.* \(fetch failed[^\n]*\n$/);
    expect(code).toBe(1);
  });
});
