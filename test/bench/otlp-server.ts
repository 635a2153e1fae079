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
let maxRss = process.memoryUsage().rss;
setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 50).unref();
process.on('SIGTERM', () => process.exit(0)); // exit normally, so a --cpu-prof profile is written
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.stdin.on('data', async () => {
  await running.telemetry.forceFlush();
  const stats = running.telemetry.writer?.stats() ?? null;
  process.stdout.write(`${JSON.stringify({ stats, maxRss })}\n`);
  maxRss = process.memoryUsage().rss;
});
