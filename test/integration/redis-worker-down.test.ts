import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startRedisWorker } from '../../src/queue/redis-queue.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a worker whose Redis is down', () => {
  it('says so in one line, not once per reconnect', async () => {
    const reported: string[] = [];
    const worker = startRedisWorker({
      url: `redis://127.0.0.1:${await closedPort()}`,
      name: `down-${process.pid}`,
      concurrency: 1,
      handler: async () => {},
      onInvalid: () => {},
      report: (message) => reported.push(message),
    });
    onTestFinished(() => worker.close(true));
    let attempts = 0;
    worker.on('error', () => attempts++);
    await expect.poll(() => attempts, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    expect(reported).toEqual([
      expect.stringMatching(
        /^task queue: Redis unavailable \(.*ECONNREFUSED.*\); no task runs until it is back$/,
      ),
    ]);
  });
});
