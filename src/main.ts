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

const running = await startServer(config, { register: true });
const say = (line: string) => process.stdout.write(`${line}\n`);
say(`task-logs listening on ${running.url} (bound to ${config.host}:${new URL(running.url).port})`);
say(`task logs in ${config.logsDir}; index ${config.indexPath}`);
if (config.apiToken === undefined) {
  say('no TASK_LOGS_API_TOKEN set: the API needs no token, so the server listens on loopback only');
} else {
  say('API protected: send "Authorization: Bearer $TASK_LOGS_API_TOKEN"');
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
