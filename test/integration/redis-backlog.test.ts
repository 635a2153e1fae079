// A Redis backlog longer than TASK_LOGS_INTERRUPTED_AFTER_MINUTES: a queued task whose job is still in Redis is the
// queue's and is not ended as interrupted; and a job that runs for a task that was ended anyway (by a checker that
// could not ask the queue) takes the task up again, so its run is recorded rather than lost behind "failed".
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRunner } from '../../src/agent/create-runner.ts';
import { loadConfig } from '../../src/config.ts';
import { endTaskIfActive, endTasksOfGoneOwners } from '../../src/ops/interrupted-tasks.ts';
import { RedisQueue, startRedisWorker } from '../../src/queue/redis-queue.ts';
import { taskJobHandler } from '../../src/worker/run-task-job.ts';
import { startRedis } from '../helpers/redis.ts';
import { readTaskFolder } from '../helpers/task-files.ts';
import { testTelemetry } from '../helpers/telemetry.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('a task waiting in a Redis backlog', () => {
  it('is not interrupted while its job is queued, and a run of a task ended anyway is recorded', async () => {
    const redisUrl = await startRedis();
    if (redisUrl === undefined) return;
    const root = await tempLogsDir();
    const name = `backlog-${process.pid}`;
    const telemetry = testTelemetry(root, {}, { index: false });
    const writer = telemetry.writer!;
    const queue = new RedisQueue({ url: redisUrl, name, report: () => {} });
    onTestFinished(() => queue.close());
    const task = telemetry.tasks.start({
      taskId: 'task-backlog',
      source: 'webhook',
      provider: 'github',
      input: { message: 'review this', source_metadata: { provider: 'github' } },
    });
    task.recordStage('received', { event_type: 'issue_comment' });
    task.recordStage('task_created', { assigned_agent: 'brain' });
    await task.runStage('queue_push', { queue: 'redis' }, () =>
      queue.push({ message: task.toQueueMessage(), prompt: 'review this', agent: { name: 'brain' } }),
    );
    await telemetry.forceFlush();
    const metadataPath = join(root, 'task-backlog', 'metadata.json');
    // the web process that queued it runs on another host, so its liveness cannot be checked from here
    const metadata = JSON.parse(readFileSync(metadataPath, 'utf8'));
    writeFileSync(
      metadataPath,
      JSON.stringify({ ...metadata, owner: { ...metadata.owner, host: 'web-2.other' } }),
    );

    // the check runs past the limit (a tiny limit, with the clock moved on, rather than a wait)
    const config = loadConfig({ env: { TASK_LOGS_DIR: root, TASK_LOGS_INTERRUPTED_AFTER_MINUTES: '1' } });
    const ended = await endTasksOfGoneOwners(writer, {
      root,
      staleMs: config.interruptedAfterMinutes * 60_000,
      now: new Date(Date.now() + 2 * 60_000),
      queueRunsAgain: true,
      stillQueued: (taskId) => queue.holdsJob(taskId),
    });
    await telemetry.forceFlush();
    expect(ended).toEqual([]);
    expect(readTaskFolder(join(root, 'task-backlog')).metadata?.status).toBe('queued');

    // a checker that cannot see the queue ends it anyway; then a worker takes the job
    await endTaskIfActive(writer, root, 'task-backlog', 'interrupted: queued with no write since long ago');
    await telemetry.forceFlush();
    expect(readTaskFolder(join(root, 'task-backlog')).metadata).toMatchObject({ status: 'failed' });
    const runner = createRunner(
      loadConfig({ env: { TASK_LOGS_DIR: root, AGENT_RUNNER: 'replay', AGENT_REPLAY_DELAY_MS: '0' } }),
    );
    const worker = startRedisWorker({
      url: redisUrl,
      name,
      concurrency: 1,
      handler: taskJobHandler({ tasks: telemetry.tasks, runner, log: () => {} }),
      onInvalid: () => {},
    });
    onTestFinished(() => worker.close());
    await once(worker, 'completed');
    await telemetry.forceFlush();

    const files = readTaskFolder(join(root, 'task-backlog'));
    expect(files.metadata).toMatchObject({ status: 'completed' });
    expect(files.metadata).not.toHaveProperty('interrupted_at');
    expect(files.finalResult).toMatchObject({ success: true });
    const lines = files.agentOutput.map((line) => `${line.type}: ${line.content}`);
    const interruptedAt = lines.findIndex((l) => l.startsWith('error: interrupted:'));
    const attemptAt = lines.findIndex((l) => l.startsWith('system: [SYSTEM] attempt 1 of'));
    expect(interruptedAt).toBeGreaterThanOrEqual(0);
    expect(attemptAt).toBeGreaterThan(interruptedAt);
    expect(lines.length).toBeGreaterThan(attemptAt + 1);
  }, 60_000);
});
