// Child process for the webhook benchmark: the real server with a queue that takes jobs and does nothing else, so
// the measure is a signed request through every stage to queue_push. TASK_LOGS_ENABLED decides the logging.
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import type { TaskQueue } from '../../src/queue/task-job.ts';

const sink: TaskQueue = { kind: 'memory', push: async () => undefined, close: async () => undefined };
const running = await startServer(loadConfig({ env: { ...process.env, PORT: '0' } }), {
  queue: sink,
  log: () => undefined,
});
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.stdin.on('data', async () => {
  await running.telemetry.forceFlush();
  process.stdout.write(`${JSON.stringify({ stats: running.telemetry.writer?.stats() ?? null })}\n`);
});
