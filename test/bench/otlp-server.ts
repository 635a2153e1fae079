// Child process for the OTLP ingest benchmark: the real server; on each line on stdin it flushes the writer and
// prints the writer's stats and the largest RSS seen (sampled every 50 ms).
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import type { TaskQueue } from '../../src/queue/task-job.ts';

const sink: TaskQueue = { kind: 'memory', push: async () => undefined, close: async () => undefined };
const running = await startServer(loadConfig({ env: { ...process.env, PORT: '0' } }), {
  queue: sink,
  log: () => undefined,
});
// the largest RSS, with what made it up at that moment (the main thread's heap, buffers; the rest is code, the
// decode worker's heap and the allocator's slack)
let peak = process.memoryUsage();
let maxRss = peak.rss;
setInterval(() => {
  const now = process.memoryUsage();
  if (now.rss > maxRss) {
    maxRss = now.rss;
    peak = now;
  }
}, 50).unref();
const idle = process.memoryUsage();
process.on('SIGTERM', () => process.exit(0)); // exit normally, so a --cpu-prof profile is written
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.stdin.on('data', async () => {
  await running.telemetry.forceFlush();
  const stats = running.telemetry.writer?.stats() ?? null;
  const mb = (n: number) => Math.round(n / (1024 * 1024));
  const breakdown = {
    idleRss: mb(idle.rss),
    heapUsed: mb(peak.heapUsed),
    heapTotal: mb(peak.heapTotal),
    external: mb(peak.external),
    arrayBuffers: mb(peak.arrayBuffers),
  };
  process.stdout.write(`${JSON.stringify({ stats, maxRss, breakdown })}\n`);
  peak = process.memoryUsage();
  maxRss = peak.rss;
});
