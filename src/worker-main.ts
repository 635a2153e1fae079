// `npm run worker`: a worker process of the split mode. Takes task jobs from the Redis queue (REDIS_URL), runs the
// agent, and writes into the same task folders as the web process: one trace, one folder per task.
import { createRunner } from './agent/create-runner.ts';
import { loadConfig, withSecrets } from './config.ts';
import { TaskLogsError } from './contract/errors.ts';
import { shutdownOnSignals } from './contract/shutdown-on-signals.ts';
import { startTelemetry } from './instrumentation/telemetry.ts';
import { existingDevSecret } from './intake/dev-secret.ts';
import {
  activeTaskIds,
  endedTasksLine,
  endTaskIfActive,
  endTasksOfGoneOwners,
} from './ops/interrupted-tasks.ts';
import { attemptOf, RedisQueue, startRedisWorker } from './queue/redis-queue.ts';
import { TaskIndex } from './store/task-index.ts';
import { taskJobHandler } from './worker/run-task-job.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
let config: ReturnType<typeof loadConfig>;
let runner: ReturnType<typeof createRunner>;
try {
  // a loopback web server's development webhook secret is redacted here too (an agent may read its file)
  config = loadConfig();
  config = withSecrets(config, [existingDevSecret(config.logsDir)]);
  runner = createRunner(config);
  if (config.queue.redisUrl === undefined) {
    throw new TaskLogsError(
      'CONFIG_INVALID',
      'npm run worker needs REDIS_URL: without it `npm start` runs tasks itself',
    );
  }
} catch (error) {
  if (error instanceof TaskLogsError) {
    process.stderr.write(`task-logs worker: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const telemetry = startTelemetry(config);
const worker = startRedisWorker({
  url: config.queue.redisUrl,
  name: config.queue.name,
  concurrency: config.queue.concurrency,
  stallSeconds: config.queue.stallSeconds,
  handler: taskJobHandler({ tasks: telemetry.tasks, runner }),
  onInvalid: (error) => process.stderr.write(`task-logs worker: ${error.message}\n`),
  report: (message) => process.stderr.write(`task-logs worker: ${message}\n`),
});
// the queue gave up on a job (its workers died more often than it runs a job again): the task ends here, not never
worker.on('failed', (job, error) => {
  const taskId = (job?.data as { message?: { task_id?: unknown } } | undefined)?.message?.task_id;
  const writer = telemetry.writer;
  if (job === undefined || typeof taskId !== 'string' || writer === undefined) return;
  const attempt = attemptOf(job);
  endTaskIfActive(
    writer,
    config.logsDir,
    taskId,
    `interrupted: the queue gave up after ${attempt.number} of ${attempt.of} attempts: ${error.message}`,
  ).catch((failure: unknown) => process.stderr.write(`task-logs worker: ${String(failure)}\n`));
});
// tasks nobody can finish any more: checked here as on the server (a dead owner on this host is left to the queue,
// which runs its job again; one that cannot be checked ends after TASK_LOGS_INTERRUPTED_AFTER_MINUTES)
let index: TaskIndex | undefined;
try {
  index = new TaskIndex(config.indexPath, { busyTimeoutMs: 100 });
} catch (error) {
  process.stderr.write(
    `task-logs worker: no task index (${String(error)}); task folders are scanned instead\n`,
  );
}
// asked whether a task's job is still in the queue: such a task is never ended as interrupted, however long it waits
const jobs = new RedisQueue({
  url: config.queue.redisUrl,
  name: config.queue.name,
  // Redis being down is said once by the worker above; this queue's own line is about webhooks, not run here
  report: () => undefined,
});
let checking: Promise<void> | undefined;
// a shutdown stops the check between two tasks instead of waiting for a long backlog to be read
const stopCheck = new AbortController();
const checkOwners = () => {
  const writer = telemetry.writer;
  if (writer === undefined) return;
  const source = index;
  checking ??= endTasksOfGoneOwners(writer, {
    root: config.logsDir,
    ...(source
      ? {
          // only those the index has as unwritten for the stale limit (the others cannot be ended yet)
          candidates: (scope) => activeTaskIds(source, stopCheck.signal, scope),
        }
      : {}),
    signal: stopCheck.signal,
    staleMs: config.interruptedAfterMinutes * 60_000,
    queueRunsAgain: true,
    stillQueued: (taskId) => jobs.holdsJob(taskId),
    heldAmong: (taskIds) => jobs.heldAmong(taskIds),
  })
    .then((ended) => {
      if (ended.length > 0) say(endedTasksLine(ended));
    })
    .catch((error: unknown) => {
      process.stderr.write(`task-logs worker: the check for interrupted tasks failed: ${String(error)}\n`);
    })
    .finally(() => {
      checking = undefined;
    });
};
const ownerTimer = setInterval(checkOwners, config.ownerCheckSeconds * 1000);
ownerTimer.unref();
checkOwners();
await worker.waitUntilReady();
say(
  `task-logs worker: queue "${config.queue.name}" on ${redact(config.queue.redisUrl)}, ${runner.name} runner, ` +
    `${config.queue.concurrency} at a time; task logs in ${config.logsDir}`,
);

shutdownOnSignals({
  announce: (signal) => say(`${signal}: finishing running tasks, then stopping`),
  stop: async () => {
    clearInterval(ownerTimer);
    stopCheck.abort();
    await worker.close();
    await checking;
    await jobs.close();
    await telemetry.shutdown();
    index?.close();
  },
  failed: (error) => process.stderr.write(`task-logs worker: shutdown failed: ${String(error)}\n`),
});

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
