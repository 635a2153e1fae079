#!/usr/bin/env node
// `tasklogs`: the command line for the task logs (run-cli.ts), on this process's argv, streams and environment.
// Exit codes: 0 ok, 1 problems found (or no such task), 2 bad usage.
import { endQuietlyWhenPipeCloses } from '../contract/closed-pipe.ts';
import { runCli } from './run-cli.ts';

endQuietlyWhenPipeCloses(); // `tasklogs ls | head -1` is success

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
