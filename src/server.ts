// The server process: telemetry and the task index, the Koa app on PORT, the index refresher, and a clean shutdown.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createApp } from './http/app.ts';
import { refreshIndex } from './index-refresh.ts';
import { TaskIndex } from './task-index.ts';
import { TaskStore } from './task-store.ts';
import { startTelemetry, type Telemetry } from './telemetry.ts';

export interface RunningServer {
  url: string;
  server: Server;
  telemetry: Telemetry;
  index: TaskIndex;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** register the OpenTelemetry SDK globally (true in `npm start`) */
  register?: boolean;
  followPollMs?: number;
  log?: (line: string) => void;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const index = new TaskIndex(config.indexPath);
  const telemetry = startTelemetry(config, { register: options.register ?? false, index });
  const store = new TaskStore(config.logsDir);

  // an empty index is built from the files before the first request; otherwise it catches up in the background
  const refresh = () =>
    refreshIndex(index, config.logsDir).catch((error: unknown) =>
      log(`task index refresh failed: ${String(error)}`),
    );
  if (index.count() === 0) {
    const built = await refresh();
    if (built && built.updated > 0) log(`indexed ${built.updated} tasks in ${Math.round(built.ms)} ms`);
  } else {
    void refresh();
  }
  let refreshing: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
  }, config.indexRefreshSeconds * 1000);
  timer.unref();

  const app = createApp({
    store,
    index,
    apiToken: config.apiToken,
    ...(options.followPollMs ? { followPollMs: options.followPollMs } : {}),
  });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    telemetry,
    index,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections(); // live follows would otherwise hold the server open
        await closed;
        await refreshing;
        await telemetry.shutdown();
        index.close();
      })()),
  };
}
