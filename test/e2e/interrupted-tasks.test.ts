import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PATH = `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`;

async function startServer(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TASK_LOGS_DIR: dir,
      PORT: '0',
      AGENT_RUNNER: 'command',
      AGENT_COMMAND: 'sleep 600',
      WORKER_CONCURRENCY: '1',
      TASK_LOGS_FLUSH_MS: '10',
      GITHUB_WEBHOOK_SECRET: SECRETS.GITHUB_WEBHOOK_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  await expect.poll(() => out, { timeout: 60_000 }).toMatch(/listening on (http:\/\/\S+) /);
  return { child, url: /listening on (http:\/\/\S+) /.exec(out)![1]! };
}

function status(dir: string, taskId: string): string | undefined {
  const path = join(dir, taskId, 'metadata.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')).status : undefined;
}

describe('a server killed with SIGKILL while tasks run', () => {
  it('leaves no task queued or running once it is started again', async () => {
    const dir = await tempLogsDir();
    const first = await startServer(dir);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      // distinct bodies: the same signed body twice is one delivery
      const response = await fetch(
        `${first.url}/webhooks/github`,
        githubRequest(githubComment(`@agent review part ${i}`)),
      );
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { task_id: string }).task_id);
    }
    // one runs (WORKER_CONCURRENCY=1), the other waits in the in-process queue
    await expect
      .poll(() => ids.map((id) => status(dir, id)), { timeout: 60_000 })
      .toEqual(['running', 'queued']);
    const owner = JSON.parse(readFileSync(join(dir, ids[0]!, 'metadata.json'), 'utf8')).owner;
    expect(owner).toMatchObject({ pid: first.child.pid });
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    // as the issue found them: nothing ends these tasks by itself
    expect(ids.map((id) => status(dir, id))).toEqual(['running', 'queued']);

    const second = await startServer(dir);
    await expect
      .poll(() => ids.map((id) => status(dir, id)), { timeout: 60_000 })
      .toEqual(['failed', 'failed']);
    for (const id of ids) {
      const files = readTaskFolder(join(dir, id));
      expect(files.finalResult).toMatchObject({ success: false });
      expect(files.finalResult!.error).toMatch(
        new RegExp(`^interrupted: process ${first.child.pid} on \\S+ \\(started [0-9T:.-]+Z\\) is gone`),
      );
      expect(files.agentOutput.at(-1)).toMatchObject({ type: 'error' });
    }
    const stats = spawnSync(join(ROOT, 'src/cli/main.ts'), ['stats', '--json'], {
      env: { ...process.env, PATH, TASK_LOGS_DIR: dir },
      encoding: 'utf8',
    });
    expect(JSON.parse(stats.stdout).total).toMatchObject({ tasks: 2, failed: 2, running: 0, queued: 0 });
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  }, 120_000);
});
