// Child process for the webhook benchmark: the real server with a queue that takes jobs and does nothing else, so
// the measure is a signed request through every stage to queue_push. TASK_LOGS_ENABLED decides the logging.
// Lines on stdin: an empty line flushes the writer and prints the writer's stats, the CPU time each thread used and
// the event loop's delay (p99 and max, ms) since the last such line; `turn` and `rest` say when webhooks are sent to
// this server and when to the other one (the 100/s phase alternates them), and the delay counts only in its turns.
import { createHistogram } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
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

// The event loop's delay: how late a 1 ms timer runs (what a request waits before it is read), in ns, recorded while
// it is this server's turn. A timer of our own rather than monitorEventLoopDelay: that one cannot be paused (once
// enabled again, its first sample is the whole pause) nor its histograms added up.
const delay = createHistogram();
let inTurn = false;
let sampler: NodeJS.Timeout | undefined;
function sample(due: number): void {
  sampler = setTimeout(() => {
    const now = performance.now();
    if (inTurn) delay.record(Math.max(1, Math.round((now - due) * 1e6)));
    sample(now + 1);
  }, 1);
}

let threadsFrom = threadMs();
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'turn' || line === 'rest') {
    inTurn = line === 'turn';
    if (sampler === undefined) sample(performance.now() + 1);
    continue;
  }
  const eventLoopDelayMs =
    delay.count === 0 ? { p99: 0, max: 0 } : { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
  delay.reset();
  clearTimeout(sampler);
  sampler = undefined;
  inTurn = false;
  await running.telemetry.forceFlush();
  const now = threadMs();
  const threadCpuMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(now)) threadCpuMs[name] = ms - (threadsFrom[name] ?? 0);
  threadsFrom = now;
  process.stdout.write(
    `${JSON.stringify({ stats: running.telemetry.writer?.stats() ?? null, threadCpuMs, eventLoopDelayMs })}\n`,
  );
}
