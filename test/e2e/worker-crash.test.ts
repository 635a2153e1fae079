import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { alive } from '../helpers/process-alive.ts';
import { startRedis } from '../helpers/redis.ts';
import { testServer } from '../helpers/server.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { githubComment, githubRequest, SECRETS } from '../helpers/webhook-requests.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function startWorker(env: NodeJS.ProcessEnv): ChildProcess {
  const worker = spawn(process.execPath, ['src/worker-main.ts'], { cwd: ROOT, env, stdio: 'ignore' });
  onTestFinished(async () => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
    }
  });
  return worker;
}

describe('a worker killed with SIGKILL mid-task', () => {
  it('takes its agent with it, and the next attempt says which it is and why', async () => {
    const redisUrl = await startRedis();
    if (redisUrl === undefined) return;
    const dir = await tempLogsDir();
    // the first run prints its pid and hangs; the run after it finishes
    const agent = join(dir, '..', `agent-${process.pid}.sh`);
    await writeFile(
      agent,
      'if mkdir "$AGENT_MARK" 2>/dev/null; then echo "first $$"; exec sleep 600; else echo "second run done"; fi\n',
    );
    onTestFinished(() => import('node:fs/promises').then((fs) => fs.rm(agent, { force: true })));
    const env = {
      ...SECRETS,
      REDIS_URL: redisUrl,
      TASK_QUEUE_NAME: `crash-${process.pid}`,
      TASK_QUEUE_STALL_SECONDS: '2',
      AGENT_RUNNER: 'command',
      AGENT_COMMAND: `/bin/sh ${agent}`,
    };
    const server = await testServer(dir, env);
    const workerEnv = {
      ...process.env,
      ...env,
      TASK_LOGS_DIR: dir,
      TASK_LOGS_FLUSH_MS: '10',
      AGENT_MARK: join(dir, '..', `mark-${process.pid}`),
    };
    onTestFinished(() =>
      import('node:fs/promises').then((fs) => fs.rm(workerEnv.AGENT_MARK, { recursive: true, force: true })),
    );
    const first = startWorker(workerEnv);
    const response = await fetch(`${server.url}/webhooks/github`, githubRequest(githubComment()));
    const { task_id } = (await response.json()) as { task_id: string };
    const output = () => readTaskFolder(join(dir, task_id)).agentOutput.map((line) => line.content);
    await expect.poll(() => output().find((c) => c.startsWith('first ')), { timeout: 60_000 }).toBeDefined();
    const agentPid = Number(
      output()
        .find((c) => c.startsWith('first '))!
        .slice(6),
    );
    expect(alive(agentPid)).toBe(true);

    first.kill('SIGKILL');
    await once(first, 'exit');
    await expect.poll(() => alive(agentPid), { timeout: 60_000 }).toBe(false);

    startWorker(workerEnv);
    await expect
      .poll(() => readTaskFolder(join(dir, task_id)).metadata?.status, { timeout: 60_000, interval: 100 })
      .toBe('completed');
    const files = readTaskFolder(join(dir, task_id));
    const systemLines = files.agentOutput.filter((l) => l.type === 'system').map((l) => l.content);
    expect(systemLines).toContain('[SYSTEM] attempt 1 of 2');
    expect(systemLines).toContain(
      '[SYSTEM] attempt 2 of 2: the previous attempt ended because the worker running it stopped without finishing (killed or crashed), so the queue ran it again',
    );
    expect(files.metadata).toMatchObject({ status: 'completed', attempts: 2 });
    expect(files.finalResult).toMatchObject({ success: true, result: 'second run done' });
  }, 120_000);
});
