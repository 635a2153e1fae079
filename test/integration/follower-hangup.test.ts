import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { freshFetch } from '../helpers/fresh-fetch.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('a live follower that hangs up', () => {
  it('is not logged as an unexpected error, and the server carries on', async () => {
    const logged: unknown[] = [];
    const dir = await tempLogsDir();
    const server = await startServer(
      loadConfig({ env: { TASK_LOGS_DIR: dir, PORT: '0', TASK_LOGS_FLUSH_MS: '10' } }),
      { log: () => undefined, logError: (error) => logged.push(error), followPollMs: 10 },
    );
    onTestFinished(() => server.close());
    const task = server.telemetry.tasks.start({ taskId: 'task-followed', source: 'api' });
    const run = task.startAgent({ name: 'brain', type: 'planning' });
    run.text('first line');
    await server.telemetry.forceFlush();

    for (let round = 0; round < 3; round++) {
      const abort = new AbortController();
      const response = await freshFetch(`${server.url}/api/tasks/task-followed/logs/agent-output/stream`, {
        headers: { accept: 'text/event-stream' },
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      await reader.read(); // the follow is under way
      abort.abort();
      await reader.cancel().catch(() => undefined);
      // the server keeps writing to the closed connection until it notices
      for (let i = 0; i < 50; i++) run.text(`line ${round}.${i} ${'x'.repeat(1000)}`);
      await server.telemetry.forceFlush();
      await expect
        .poll(() => new Promise<number>((resolve) => server.server.getConnections((_, n) => resolve(n))))
        .toBe(0);
    }
    run.finish({ result: 'done' });
    await server.telemetry.forceFlush();
    expect((await freshFetch(`${server.url}/healthz`)).status).toBe(200);
    expect(logged).toEqual([]);
  });
});
