// `npm run worker`: a worker process of the split mode. Takes task jobs from the Redis queue (REDIS_URL), runs the
// agent, and writes into the same task folders as the web process: one trace, one folder per task.
import { createRunner } from './agent/create-runner.ts';
import { loadConfig } from './config.ts';
import { TaskLogsError } from './contract/errors.ts';
import { startTelemetry } from './instrumentation/telemetry.ts';
import { startRedisWorker } from './queue/redis-queue.ts';
import { taskJobHandler } from './worker/run-task-job.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
let config: ReturnType<typeof loadConfig>;
let runner: ReturnType<typeof createRunner>;
try {
  config = loadConfig();
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
});
worker.on('error', (error) => process.stderr.write(`task-logs worker: ${error.message}\n`));
await worker.waitUntilReady();
say(
  `task-logs worker: queue "${config.queue.name}" on ${redact(config.queue.redisUrl)}, ${runner.name} runner, ` +
    `${config.queue.concurrency} at a time; task logs in ${config.logsDir}`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: finishing running tasks, then stopping`);
    worker
      .close()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`task-logs worker: shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  });
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
