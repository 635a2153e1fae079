// `tasklogs` as a function: the commands, their usage and help, and the exit code each outcome gets (0 ok, 1 problems
// found or no such task, 2 bad usage). The bin (main.ts) runs it on the process's argv, streams and environment;
// tests run it in their own process on strings.
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { type Flags, LS_OPTIONS, notFoundExit } from './flags.ts';
import { type Out, type OutStream, printable, terminal } from './terminal.ts';
import { UsageError } from './usage-error.ts';

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /** the settings' environment; by default process.env and the .env file, as the bin reads them */
  env?: NodeJS.ProcessEnv;
}

type Options = Parameters<typeof parseArgs>[0] extends infer P
  ? P extends { options?: infer O }
    ? O
    : never
  : never;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  args: number;
  run: (config: Config, args: string[], flags: Flags, out: Out) => Promise<number>;
}

// each command's code is loaded when it runs: help and bad usage answer at once
const read = () => import('./read-commands.ts');
const maintenance = () => import('./maintenance-commands.ts');
const JSON_FLAG = { json: { type: 'boolean' as const } };

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'run the server (the same as npm start)',
    usage: 'tasklogs serve',
    options: {},
    args: 0,
    run: async () => {
      await import('../main.ts');
      return new Promise<number>(() => undefined); // runs until a signal stops it
    },
  },
  ls: {
    summary: 'list and search tasks, newest first',
    usage:
      'tasklogs ls [--status failed] [--provider github,jira] [--source S] [--agent A] [--agent-type T] [--model M]\n' +
      '             [--conversation github:owner/repo#42] [--success true|false] [--created-after DATE]\n' +
      '             [--created-before DATE] [--completed-after DATE] [--completed-before DATE] [--min-cost N]\n' +
      '             [--max-cost N] [--min-tokens N] [--max-tokens N] [--sort created_at|cost_usd|...]\n' +
      '             [--order asc|desc] [--limit N] [--cursor C] [--refresh] [--json]',
    options: { ...LS_OPTIONS, refresh: { type: 'boolean' }, ...JSON_FLAG },
    args: 0,
    run: async (config, _args, flags, out) => (await read()).ls(config, flags, out),
  },
  show: {
    summary: "one task's summary: status, stages with durations, cost, tokens, errors",
    usage: 'tasklogs show <task_id> [--json]',
    options: { ...JSON_FLAG },
    args: 1,
    run: async (config, args, flags, out) => (await read()).show(config, args[0]!, flags, out),
  },
  tail: {
    summary: "a task's agent output; -f follows it live until the task ends",
    usage: 'tasklogs tail [-f] [-n LINES] <task_id> [--json]',
    options: { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' }, ...JSON_FLAG },
    args: 1,
    run: async (config, args, flags, out) => (await read()).tail(config, args[0]!, flags, out),
  },
  stats: {
    summary: 'counts, failure rate, cost, tokens, durations and disk use, per provider and per day',
    usage: 'tasklogs stats [--json]',
    options: { ...JSON_FLAG },
    args: 0,
    run: async (config, _args, flags, out) => (await read()).stats(config, flags, out),
  },
  prune: {
    summary: 'delete finished tasks past retention (and past TASK_LOGS_MAX_TOTAL_BYTES)',
    usage: 'tasklogs prune [--dry-run] [--days N] [--json]',
    options: { 'dry-run': { type: 'boolean' }, days: { type: 'string' }, ...JSON_FLAG },
    args: 0,
    run: async (config, _args, flags, out) => (await maintenance()).prune(config, flags, out),
  },
  compress: {
    summary: 'gzip the JSONL files of tasks finished more than TASK_LOGS_COMPRESS_AFTER_DAYS ago',
    usage: 'tasklogs compress [--dry-run] [--days N] [--json]',
    options: { 'dry-run': { type: 'boolean' }, days: { type: 'string' }, ...JSON_FLAG },
    args: 0,
    run: async (config, _args, flags, out) => (await maintenance()).compress(config, flags, out),
  },
  reindex: {
    summary: 'rebuild the search index from the task folders',
    usage: 'tasklogs reindex [--json]',
    options: { ...JSON_FLAG },
    args: 0,
    run: async (config, _args, flags, out) => (await maintenance()).reindex(config, flags, out),
  },
  verify: {
    summary: 'check every task folder against the five-file contract (exit 1 if something is broken)',
    usage: 'tasklogs verify [--repair] [--json]',
    options: { repair: { type: 'boolean' }, ...JSON_FLAG },
    args: 0,
    run: async (config, _args, flags, out) => (await maintenance()).verify(config, flags, out),
  },
  scan: {
    summary: 'find secrets in stored tasks; --redact rewrites finished ones redacted (exit 1 if any found)',
    usage: 'tasklogs scan [--redact] [--json]',
    options: { redact: { type: 'boolean' }, ...JSON_FLAG },
    args: 0,
    // loaded when used: the rules take a moment to load, and the other commands need none of it
    run: async (config, _args, flags, out) => (await import('./scan-command.ts')).scan(config, flags, out),
  },
};

// names people type out of habit from other tools
const ALIASES: Record<string, string> = { list: 'ls', search: 'ls', cat: 'show', logs: 'tail' };

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'tasklogs: read and look after the task logs (TASK_LOGS_DIR)',
    '',
    'usage: tasklogs <command> [options]     tasklogs <command> --help',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'exit codes: 0 ok, 1 problems found or no such task, 2 bad usage',
  ].join('\n');
}

async function main(argv: string[], io: CliIo, out: Out): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.line(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[ALIASES[name] ?? name];
  if (command === undefined) {
    const near = Object.keys(COMMANDS).filter((c) => c[0] === name[0]);
    const hint = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
    throw new UsageError(`unknown command ${JSON.stringify(name)}${hint}`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.line(`${command.summary}\n\nusage: ${command.usage}`);
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length !== command.args) {
    throw new UsageError(
      `${name} takes ${command.args === 0 ? 'no arguments' : `${command.args} argument`}, got ${parsed.positionals.length}`,
    );
  }
  checkNodeVersion();
  const { loadConfig } = await import('../config.ts');
  const config = io.env === undefined ? loadConfig() : loadConfig({ env: io.env });
  return command.run(config, parsed.positionals, parsed.values as Flags, out);
}

// the commands load node:sqlite (Node 22.16 and later): an older Node gets this line, not a loader's stack trace
function checkNodeVersion(): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 16)) return;
  throw new TaskLogsError(
    'CONFIG_INVALID',
    `this command needs Node.js 22.16 or newer (for node:sqlite); this is Node.js ${process.version}`,
  );
}

/** Runs one command line (argv without the program); resolves to its exit code. An error that is not the CLI's
 * (a bug) is thrown, as the bin would crash on it. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = terminal(io.stdout, io.stderr, io.env ?? process.env);
  // a message quotes what it is about (a typed id, a file's words): nothing in it may drive the terminal
  const fail = (text: string) => io.stderr.write(printable(text, false));
  try {
    return await main(argv, io, out);
  } catch (error) {
    if (error instanceof UsageError) {
      fail(
        `tasklogs: ${error.message}\n(see tasklogs ${COMMANDS[argv[0] ?? ''] ? `${argv[0]} ` : ''}--help)\n`,
      );
      return 2;
    }
    if (notFoundExit(error)) {
      fail(`tasklogs: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TaskLogsError) {
      fail(`tasklogs: ${error.message}\n`);
      return error.code === 'TASK_ID_INVALID' || error.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    throw error;
  }
}
