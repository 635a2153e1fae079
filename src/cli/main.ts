#!/usr/bin/env node
// `tasklogs`: the command line for the task logs (run-cli.ts), on this process's argv, streams and environment.
// Exit codes: 0 ok, 1 problems found (or no such task), 2 bad usage.
import { endQuietlyWhenPipeCloses } from '../contract/closed-pipe.ts';
import { runCli } from './run-cli.ts';
import { printable } from './terminal.ts';

endQuietlyWhenPipeCloses(); // `tasklogs ls | head -1` is success

try {
  process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
} catch (error) {
  // a bug: its stack on stderr as Node prints it, but a message can quote a file's bytes, so escaped as all output is
  process.stderr.write(
    `${printable(error instanceof Error ? (error.stack ?? error.message) : String(error), false)}\n`,
  );
  process.exitCode = 1;
}
