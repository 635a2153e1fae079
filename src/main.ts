// `npm start`: the log server. Prints where it listens and where the logs are; Ctrl-C or SIGTERM stops it cleanly.
import { loadConfig } from './config.ts';
import { TaskLogsError } from './contract/errors.ts';
import { shutdownOnSignals } from './contract/shutdown-on-signals.ts';
import type { startServer } from './http/server.ts';
import { limitHeapGrowth } from './ops/heap-growth.ts';
import { checkEnvironment } from './ops/preflight.ts';

limitHeapGrowth();

let config: ReturnType<typeof loadConfig>;
let running: Awaited<ReturnType<typeof startServer>>;
try {
  config = loadConfig();
  await checkEnvironment(config);
  // the server's code (the OpenTelemetry SDK, Koa, the store) is loaded once the environment passed its checks: a
  // bad setting is answered in a third of the CPU
  const { startServer } = await import('./http/server.ts');
  running = await startServer(config, { register: true });
} catch (error) {
  // a setting that cannot work (a network bind without a token, an unusable folder, a busy port): one line, exit 2
  const line = startupProblem(error);
  if (line === undefined) throw error;
  process.stderr.write(`task-logs: ${line}\n`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
say(`task-logs listening on ${running.url} (bound to ${config.host}:${new URL(running.url).port})`);
say(`task logs in ${config.logsDir}; index ${config.indexPath}`);
if (config.apiToken === undefined) {
  // true by construction: startServer refuses any other bind without a token
  say(
    'no TASK_LOGS_API_TOKEN set: the API needs no token, so the server listens on loopback only (a network HOST is refused)',
  );
} else {
  say(
    `API protected: every route but /healthz, the webhook receivers and static assets needs "Authorization: Bearer $TASK_LOGS_API_TOKEN"${config.host === '0.0.0.0' || config.host === '::' ? '; listening on all interfaces' : ''}`,
  );
}
const ingest = config.ingest.listener;
if (running.ingest !== undefined && ingest !== undefined) {
  const guard =
    ingest.token === undefined
      ? 'no token (loopback only)'
      : config.ingest.listener?.token === config.apiToken
        ? '"Authorization: Bearer $TASK_LOGS_API_TOKEN"'
        : '"Authorization: Bearer $OTLP_INGEST_TOKEN"';
  say(
    `OTLP ingest listening on ${running.ingest.url} (bound to ${ingest.host}:${new URL(running.ingest.url).port}): POST /v1/traces and /v1/logs only, with ${guard}`,
  );
}
say(
  config.apiToken === undefined
    ? `try: curl ${running.url}/api/tasks`
    : `try: curl -H "Authorization: Bearer $TASK_LOGS_API_TOKEN" ${running.url}/api/tasks`,
);

shutdownOnSignals({
  announce: (signal) => say(`${signal}: shutting down (${tasksToFinish()}flushing telemetry)`),
  stop: () => running.close(),
  failed: (error) => process.stderr.write(`task-logs: shutdown failed: ${String(error)}\n`),
});

// the in-process queue lets the tasks it runs and holds finish before the telemetry is flushed: an agent may take up to
// AGENT_TIMEOUT_SECONDS, so the operator is told what the shutdown waits for and how to cut it short
function tasksToFinish(): string {
  const size = (running.queue as { size?: { waiting: number; running: number } }).size;
  if (size === undefined || size.running + size.waiting === 0) return '';
  return (
    `first letting ${size.running} running and ${size.waiting} queued task(s) finish, each within ` +
    `AGENT_TIMEOUT_SECONDS=${config.agent.timeoutSeconds}; kill -9 stops now and the next start ends them as failed ` +
    '(interrupted); then '
  );
}

// problems of the environment, as one line naming the setting; anything else is a bug and keeps its stack
function startupProblem(error: unknown): string | undefined {
  if (error instanceof TaskLogsError) return error.message;
  const err = error as NodeJS.ErrnoException & {
    syscall?: string;
    port?: number;
    address?: string;
    errcode?: number;
  };
  // a full disk (or quota) under the logs or the index: SQLite says SQLITE_FULL (13)
  const noSpace =
    err.code === 'ENOSPC' || err.code === 'EDQUOT'
      ? err.code
      : err.errcode === 13
        ? 'SQLITE_FULL'
        : undefined;
  if (noSpace !== undefined && config !== undefined)
    return `no space left for the task logs (${noSpace}): free space on the disk of TASK_LOGS_DIR=${config.logsDir} and the index ${config.indexPath}, then start again`;
  if (err.syscall === 'listen' && err.code === 'EADDRINUSE')
    return `PORT=${err.port} is already in use on ${err.address}: stop the other server or set PORT (0 picks a free port)`;
  if (err.syscall === 'listen' && (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL'))
    return `cannot listen on HOST=${err.address} PORT=${err.port} (${err.code}): set HOST or PORT`;
  return undefined;
}
