// The server process: telemetry and the task index, the Koa app on PORT, the index refresher, and a clean shutdown.
import { once } from 'node:events';
import { lstatSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createRunner } from '../agent/create-runner.ts';
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { TOMBSTONE_DIR } from '../contract/task-files.ts';
import { redactingLog } from '../instrumentation/redactor-for-config.ts';
import { startTelemetry, type Telemetry } from '../instrumentation/telemetry.ts';
import { loadCommands } from '../intake/command-phrases.ts';
import { DeliveryStore, deliveriesPathFor } from '../intake/delivery-store.ts';
import { WebhookIntake } from '../intake/intake.ts';
import { RejectionLog } from '../intake/rejection-log.ts';
import { activeTaskIds, endedTasksLine, endTasksOfGoneOwners } from '../ops/interrupted-tasks.ts';
import { runMaintenance } from '../ops/maintenance.ts';
import { OwnActiveTasks } from '../ops/own-active-tasks.ts';
import { MemoryQueue } from '../queue/memory-queue.ts';
import type { TaskQueue } from '../queue/task-job.ts';
import { type FolderLister, FolderMtimesThread, listHere } from '../store/folder-mtimes.ts';
import { refreshIndex } from '../store/index-refresh.ts';
import { corruptIndexLine, TaskIndex } from '../store/task-index.ts';
import { TaskStore } from '../store/task-store.ts';
import { taskJobHandler } from '../worker/run-task-job.ts';
import { createApp, createIngestApp } from './app.ts';
import { answerClientError } from './client-error.ts';
import { checkBind, checkIngestBind, webhookSecrets } from './network-policy.ts';
import { otlpRoutes } from './otlp-routes.ts';

const REQUEST_TIMEOUT_MS = 60_000;

export interface RunningServer {
  url: string;
  server: Server;
  /** the separate OTLP ingest listener (OTLP_INGEST_PORT), when there is one */
  ingest?: { url: string; server: Server };
  telemetry: Telemetry;
  index: TaskIndex;
  queue: TaskQueue;
  rejections: RejectionLog;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** register the OpenTelemetry SDK globally (true in `npm start`) */
  register?: boolean;
  followPollMs?: number;
  log?: (line: string) => void;
  /** where unexpected (500) errors are logged; stderr (redacted) by default */
  logError?: (error: unknown) => void;
  /** replaces the queue the settings choose (embedding, benchmarks) */
  queue?: TaskQueue;
  /** how long a request may take to arrive whole (60 s; tests shorten it) */
  requestTimeoutMs?: number;
}

export async function startServer(settings: Config, options: ServerOptions = {}): Promise<RunningServer> {
  // refusals first, before anything is opened: a refused start leaves nothing behind
  checkBind(settings);
  checkIngestBind(settings);
  const receivers = webhookSecrets(settings);
  // from here on the settings include the development webhook secret (when one is used), so it is redacted too
  const config = receivers.config;
  // the server's own lines can quote task content (an error message, a failed runner's output): redacted first
  const log = redactingLog(config, options.log ?? ((line: string) => process.stdout.write(`${line}\n`)));
  const logError = redactingLog(config, (line: string) => process.stderr.write(`${line}\n`));
  for (const line of receivers.lines) log(line);
  const index = new TaskIndex(config.indexPath);
  // which webhook deliveries became tasks (redeliveries are answered with the same task)
  const deliveries = new DeliveryStore(deliveriesPathFor(config.indexPath), {
    migrateFrom: config.indexPath,
  });
  if (deliveries.setAside !== undefined) {
    log(
      `webhook deliveries ${deliveriesPathFor(config.indexPath)} were ${deliveries.setAsideWhy}: moved to ${deliveries.setAside}; ` +
        'redeliveries of earlier deliveries will make new tasks',
    );
  }
  if (index.setAside !== undefined) log(corruptIndexLine(index));
  // the queued and running tasks this process holds: the check for interrupted tasks does not read their files
  const ownTasks = new OwnActiveTasks();
  const runsOwnTasks = config.queue.redisUrl === undefined || options.queue !== undefined;
  const telemetry = startTelemetry(config, {
    register: options.register ?? false,
    index,
    onWritten: (written) => ownTasks.record(written),
  });
  const store = new TaskStore(config.logsDir);

  // a shutdown stops the background scans (index refresh, interrupted tasks) between two folders, instead of waiting
  // for a large logs folder or a long backlog to be read
  const stopScans = new AbortController();
  // an empty index is built from the files before the first request; otherwise it catches up in the background
  // the folders are listed in a thread of their own (one lstat each: 20,000 folders held the event loop for a quarter
  // to half a second of CPU at every refresh), except for the first build, which runs before any request
  const folders = new FolderMtimesThread();
  const refresh = (lister: FolderLister = folders) =>
    refreshIndex(index, config.logsDir, undefined, { signal: stopScans.signal, lister }).catch(
      (error: unknown) => log(`task index refresh failed: ${String(error)}`),
    );
  if (index.count() === 0) {
    const built = await refresh(listHere);
    if (built && built.updated > 0) log(`indexed ${built.updated} tasks in ${Math.round(built.ms)} ms`);
  } else {
    void refresh();
  }
  // retention and compression: at start, then every TASK_LOGS_MAINTENANCE_MINUTES
  let maintaining: Promise<void> | undefined;
  const maintain = () => {
    maintaining ??= runMaintenance(config, index, log)
      .then(() => {
        // a delivery's claim outlives its task by no more than retention: it would otherwise be kept forever
        if (index.closed) return; // a refused start closed the stores
        const forgotten = deliveries.forgetBefore(new Date(Date.now() - config.retentionDays * 86_400_000));
        if (forgotten > 0)
          log(`retention: forgot ${forgotten} webhook deliveries over ${config.retentionDays} days old`);
      })
      .catch((error: unknown) => log(`maintenance failed: ${String(error)}`))
      .finally(() => {
        maintaining = undefined;
      });
  };
  const maintenance = setInterval(maintain, config.maintenanceMinutes * 60_000);
  maintenance.unref();
  setImmediate(maintain);
  let refreshing: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
  }, config.indexRefreshSeconds * 1000);
  timer.unref();

  // webhooks -> commands -> queue -> worker: in this process, or through Redis to `npm run worker` processes
  const commands = loadCommands(config.commandsFile);
  const queue: TaskQueue =
    options.queue ??
    (config.queue.redisUrl !== undefined
      ? // loaded only when used: BullMQ and its Redis client are 20+ MB of a server's memory
        new (await import('../queue/redis-queue.ts')).RedisQueue({
          url: config.queue.redisUrl,
          name: config.queue.name,
          report: log,
        })
      : new MemoryQueue({
          handler: taskJobHandler({ tasks: telemetry.tasks, runner: createRunner(config), log }),
          concurrency: config.queue.concurrency,
          maxWaiting: config.queue.maxWaiting,
          maxBytes: config.queue.maxBytes,
        }));
  // tasks whose owner process died (a kill -9 of an earlier server or a worker): at start, then periodically
  let checkingOwners: Promise<void> | undefined;
  const checkOwners = () => {
    const writer = telemetry.writer;
    if (writer === undefined || index.closed) return;
    checkingOwners ??= endTasksOfGoneOwners(writer, {
      root: config.logsDir,
      // the tasks this process holds are skipped only while it runs them itself: with Redis a worker takes them
      // over, in another process, whose writes this one never sees
      // only those the index has as possibly ended now (written lately by a process of another host, or with Redis of
      // any, they cannot be)
      candidates: async (scope) => {
        const ids = await activeTaskIds(index, stopScans.signal, scope);
        return runsOwnTasks ? ids.filter((taskId) => !ownTasks.has(taskId)) : ids;
      },
      signal: stopScans.signal,
      staleMs: config.interruptedAfterMinutes * 60_000,
      queueRunsAgain: !runsOwnTasks,
      // a task whose job the queue still holds (a backlog longer than the limit) is the queue's, not interrupted
      ...(queue.holdsJob ? { stillQueued: (taskId: string) => queue.holdsJob!(taskId) } : {}),
      ...(queue.heldAmong ? { heldAmong: (taskIds: readonly string[]) => queue.heldAmong!(taskIds) } : {}),
    })
      .then((ended) => {
        if (ended.length > 0) log(endedTasksLine(ended));
      })
      .catch((error: unknown) => log(`the check for interrupted tasks failed: ${String(error)}`))
      .finally(() => {
        checkingOwners = undefined;
      });
  };
  const ownerTimer = setInterval(checkOwners, config.ownerCheckSeconds * 1000);
  ownerTimer.unref();
  checkOwners();
  const rejections = new RejectionLog();
  const intake = new WebhookIntake({
    tasks: telemetry.tasks,
    commands,
    deliveries,
    queue,
    rejections,
    dedupeWindowMs: config.webhooks.dedupeWindowSeconds * 1000,
    // lstat: whatever is there counts, and nothing is followed out of the logs folder. With the files off
    // (TASK_LOGS_ENABLED=false) no task has a folder, so a missing one says nothing: every claim stays a duplicate
    ...(telemetry.writer === undefined
      ? {}
      : {
          taskWasWritten: (taskId: string) =>
            [join(config.logsDir, taskId), join(config.logsDir, TOMBSTONE_DIR, taskId)].some(
              (path) => lstatSync(path, { throwIfNoEntry: false }) !== undefined,
            ),
        }),
  });

  const logUnexpected =
    options.logError ??
    ((error: unknown) =>
      // a line the app already wrote (a coded error: a full disk, a stream cut short) is printed as it is
      logError(
        typeof error === 'string' ? `task-logs: ${error}` : `task-logs: unexpected error: ${inspect(error)}`,
      ));
  // one OTLP router for both listeners: one byte budget, one request count, one memory of items already taken
  const otlp = otlpRoutes(telemetry.writer, {
    maxBodyBytes: config.ingest.maxBodyBytes,
    maxRequests: config.ingest.maxRequests,
    maxQueue: config.maxQueue,
  });
  const app = createApp({
    store,
    index,
    apiToken: config.apiToken,
    webhooks: { config: receivers.config, intake },
    logging: config.enabled,
    otlp,
    logError: logUnexpected,
    ...(options.followPollMs ? { followPollMs: options.followPollMs } : {}),
  });
  const servers: Server[] = [];
  const listen = async (koa: ReturnType<typeof createApp>, port: number, host: string) => {
    // a request must arrive whole within a minute (Node's default is five), checked every few seconds: a slow
    // sender holds an OTLP slot or a share of a body budget for that long at most. Answers (a live follow) are not
    // limited by this.
    const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const server = createServer(
      { requestTimeout, connectionsCheckingInterval: Math.min(5_000, requestTimeout) },
      koa.callback(),
    );
    // idle connections cost a descriptor and a little memory each: past the bound a new one is closed as it arrives
    // (the client sees a reset and may retry), so a client opening thousands cannot grow the process without end
    server.maxConnections = config.maxConnections;
    let dropped = 0;
    let warnedAt = 0;
    server.on('drop', () => {
      dropped++;
      if (Date.now() - warnedAt < 60_000) return;
      warnedAt = Date.now();
      log(
        `port ${port === 0 ? (server.address() as AddressInfo).port : port}: ${dropped} connection(s) closed as ` +
          `they arrived so far: TASK_LOGS_MAX_CONNECTIONS (${config.maxConnections}) are open`,
      );
    });
    server.listen(port, host);
    servers.push(server);
    server.on('clientError', answerClientError);
    await once(server, 'listening');
    return server.address() as AddressInfo;
  };
  const urlOf = (host: string, port: number) => {
    const shown = host.includes(':') ? `[${host}]` : host;
    return `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${port}`;
  };
  const stopListening = () => {
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const server of servers) server.closeAllConnections(); // live follows would otherwise hold it open
    return Promise.all(closed);
  };

  let url: string;
  let ingestListener: RunningServer['ingest'];
  try {
    const bound = await listen(app, config.port, config.host);
    checkBind(config, bound.address); // HOST=localhost may resolve to anything
    url = urlOf(config.host, bound.port);
    const listener = config.ingest.listener;
    if (listener !== undefined) {
      const ingestApp = createIngestApp({ token: listener.token, otlp, logError: logUnexpected });
      let ingestBound: AddressInfo;
      try {
        ingestBound = await listen(ingestApp, listener.port, listener.host);
      } catch (error) {
        throw ingestListenProblem(error) ?? error;
      }
      checkIngestBind(config, ingestBound.address);
      ingestListener = { url: urlOf(listener.host, ingestBound.port), server: servers[1]! };
    }
  } catch (error) {
    // a refused start leaves nothing behind: the listener(s) opened so far, the queue, telemetry, the index
    clearInterval(timer);
    clearInterval(maintenance);
    clearInterval(ownerTimer);
    await stopListening();
    await queue.close().catch(() => undefined);
    await telemetry.shutdown().catch(() => undefined);
    await folders.close();
    deliveries.close();
    index.close();
    throw error;
  }
  const server = servers[0]!;

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    ...(ingestListener === undefined ? {} : { ingest: ingestListener }),
    telemetry,
    index,
    queue,
    rejections,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        clearInterval(maintenance);
        clearInterval(ownerTimer);
        stopScans.abort();
        await stopListening();
        await queue.close(); // in-process: lets running agents finish and write their results
        await refreshing;
        await maintaining;
        await checkingOwners;
        await folders.close();
        await telemetry.shutdown();
        deliveries.close();
        index.close();
      })()),
  };
}

// the ingest port in use (or not allowed) is named by its own setting, so the one start-up line says which port
function ingestListenProblem(error: unknown): TaskLogsError | undefined {
  const err = error as NodeJS.ErrnoException & { syscall?: string; port?: number; address?: string };
  if (err.syscall !== 'listen') return undefined;
  if (err.code === 'EADDRINUSE') {
    return new TaskLogsError(
      'CONFIG_INVALID',
      `OTLP_INGEST_PORT=${err.port} is already in use on ${err.address}: stop the other server or set OTLP_INGEST_PORT (0 picks a free port)`,
    );
  }
  if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
    return new TaskLogsError(
      'CONFIG_INVALID',
      `cannot listen on OTLP_INGEST_HOST=${err.address} OTLP_INGEST_PORT=${err.port} (${err.code}): set OTLP_INGEST_HOST or OTLP_INGEST_PORT`,
    );
  }
  return undefined;
}
