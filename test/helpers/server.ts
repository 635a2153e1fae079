// The real server on 127.0.0.1 and a free port, writing and serving a temp logs folder; closed when the test ends.
import { onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { freshFetch } from './fresh-fetch.ts';
import { writerThreadEnv } from './writer-thread-env.ts';

export async function testServer(logsDir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({
    env: { TASK_LOGS_DIR: logsDir, TASK_LOGS_FLUSH_MS: '10', PORT: '0', ...writerThreadEnv(), ...env },
  });
  const running = await startServer(config, { followPollMs: 20, log: () => undefined });
  onTestFinished(() => running.close());
  return running;
}

/** A request on a connection of its own (see fresh-fetch.ts), its answer parsed as JSON. */
export async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await freshFetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}
