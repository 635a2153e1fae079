// A client that opens connections and never sends anything must not grow the process without end: each listener
// keeps at most TASK_LOGS_MAX_CONNECTIONS open, closes the next ones as they arrive, and answers again once some close.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/http/server.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

const LIMIT = 4;

async function open(url: URL): Promise<Socket> {
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined); // a refused one is reset
  onTestFinished(() => {
    socket.destroy();
  });
  await once(socket, 'connect');
  return socket;
}

const connections = (server: Server) =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
  );

describe('TASK_LOGS_MAX_CONNECTIONS', () => {
  it('closes connections past the bound on both listeners, and answers again once some close', async () => {
    const lines: string[] = [];
    const config = loadConfig({
      env: {
        TASK_LOGS_DIR: await tempLogsDir(),
        PORT: '0',
        OTLP_INGEST_PORT: '0',
        TASK_LOGS_MAX_CONNECTIONS: String(LIMIT),
      },
    });
    const running = await startServer(config, { log: (line) => lines.push(line) });
    onTestFinished(() => running.close());
    for (const [url, server] of [
      [running.url, running.server],
      [running.ingest!.url, running.ingest!.server],
    ] as const) {
      const target = new URL(url);
      const idle = await Promise.all(Array.from({ length: LIMIT }, () => open(target)));
      await expect.poll(() => connections(server)).toBe(LIMIT);
      // one more: closed by the server with nothing sent, while the idle ones stay open
      const extra = await open(target);
      let received = 0;
      extra.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      extra.resume();
      await once(extra, 'close');
      expect(received).toBe(0);
      expect(await connections(server)).toBe(LIMIT);
      for (const socket of idle) socket.destroy();
      await expect.poll(() => connections(server)).toBe(0);
      const answer = await fetch(`${url}/healthz`);
      expect(answer.status).toBeLessThan(500);
      await answer.arrayBuffer();
    }
    expect(lines.filter((line) => line.includes('TASK_LOGS_MAX_CONNECTIONS (4) are open'))).toHaveLength(2);
  });

  it('is a number of connections, 1000 by default', () => {
    expect(loadConfig({ env: {} }).maxConnections).toBe(1000);
    expect(() => loadConfig({ env: { TASK_LOGS_MAX_CONNECTIONS: '0' } })).toThrow(
      /TASK_LOGS_MAX_CONNECTIONS/,
    );
  });
});
