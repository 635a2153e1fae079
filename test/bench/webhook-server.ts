// Child process for the webhook benchmark: the real server with a queue that takes jobs and does nothing else, so
// the measure is a signed request through every stage to queue_push. TASK_LOGS_ENABLED decides the logging.
// On each line on stdin it flushes the writer and prints the writer's stats, the CPU time each thread used and the
// event loop's delay (p99 and max, ms) since the last such line.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { limitHeapGrowth } from '../../src/ops/heap-growth.ts';
import type { TaskQueue } from '../../src/queue/task-job.ts';
import { threadMs } from './thread-cpu.ts';

limitHeapGrowth(); // as src/main.ts (npm start) does

const sink: TaskQueue = { kind: 'memory', push: async () => undefined, close: async () => undefined };
const running = await startServer(loadConfig({ env: { ...process.env, PORT: '0' } }), {
  queue: sink,
  log: () => undefined,
});
process.on('SIGTERM', () => process.exit(0)); // exit normally, so a --cpu-prof profile is written

let threadsFrom = threadMs();
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.stdin.on('data', async () => {
  const eventLoopDelayMs = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
  await running.telemetry.forceFlush();
  const now = threadMs();
  const threadCpuMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(now)) threadCpuMs[name] = ms - (threadsFrom[name] ?? 0);
  threadsFrom = now;
  process.stdout.write(
    `${JSON.stringify({ stats: running.telemetry.writer?.stats() ?? null, threadCpuMs, eventLoopDelayMs })}\n`,
  );
  delay.reset();
});
