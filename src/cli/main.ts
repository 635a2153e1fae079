#!/usr/bin/env node
// `tasklogs`: the command line for the task logs (run-cli.ts), on this process's argv, streams and environment.
// Exit codes: 0 ok, 1 problems found (or no such task), 2 bad usage.
import { runCli } from './run-cli.ts';

// `tasklogs ls | head -1`: the reader has all it wants once the pipe closes; that is success, said nothing about
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
