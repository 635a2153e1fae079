// Child process for the API benchmarks: our server and a bare Koa handler returning a constant, side by side.
// Prints their URLs as one JSON line, then reports its RSS on request (a line on stdin).
import Koa from 'koa';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';

const logsDir = process.argv[2]!;
const running = await startServer(
  loadConfig({
    // the synthetic tasks are dated from 2026-01-01: retention must not delete them under the benchmark
    env: { TASK_LOGS_DIR: logsDir, PORT: '0', TASK_LOGS_RETENTION_DAYS: '36500' },
  }),
  {
    log: () => undefined,
  },
);
const bare = new Koa();
const constant = { task_id: 'task-abc123', status: 'completed' };
bare.use((ctx) => {
  ctx.body = constant;
});
const bareServer = bare.listen(0, '127.0.0.1');
await new Promise((resolve) => bareServer.once('listening', resolve));
const port = (bareServer.address() as import('node:net').AddressInfo).port;
process.stdout.write(
  `${JSON.stringify({ ours: running.url, bare: `http://127.0.0.1:${port}`, pid: process.pid })}\n`,
);
process.stdin.on('data', () => {
  globalThis.gc?.();
  process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss })}\n`);
});
