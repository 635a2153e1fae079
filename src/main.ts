// `npm start`: the log server. Prints where it listens and where the logs are; Ctrl-C or SIGTERM stops it cleanly.
import { loadConfig } from './config.ts';
import { TaskLogsError } from './contract/errors.ts';
import { startServer } from './http/server.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof TaskLogsError) {
    process.stderr.write(`task-logs: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

let running: Awaited<ReturnType<typeof startServer>>;
try {
  running = await startServer(config, { register: true });
} catch (error) {
  // a setting that cannot work (a network bind without a token, an unsafe development secret, a busy port): one line
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof TaskLogsError && error.code === 'CONFIG_INVALID') {
    process.stderr.write(`task-logs: ${error.message}\n`);
    process.exit(2);
  }
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
    process.stderr.write(
      `task-logs: cannot listen on ${config.host}:${config.port} (${code}): set PORT or HOST to a free address\n`,
    );
    process.exit(2);
  }
  throw error;
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
say(`try: curl ${running.url}/api/tasks`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: shutting down (flushing telemetry)`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`task-logs: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
