// Runs the `tasklogs` command line against one logs folder, colour off: `tasklogs()` as `npx tasklogs` would (the bin
// file itself in a new process, with the project's Node first on the PATH), `cli()` in this process through the bin's
// own function (run-cli.ts) with the same arguments and environment, for the many cases where a process start (about
// 0.3 s of CPU each) tests nothing more: exit codes through the process, pipes and signals keep real processes.
import { createHook } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';
import { runCli } from '../../src/cli/run-cli.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'src/cli/main.ts');
export const PATH = `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`;

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function tasklogsWith(
  dir: string,
  args: string[],
  options: { uid?: number; timeoutMs?: number } = {},
): CliResult {
  const result = spawnSync(BIN, args, {
    env: { ...process.env, PATH, TASK_LOGS_DIR: dir, NO_COLOR: '1' },
    encoding: 'utf8',
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

export function tasklogs(dir: string, ...args: string[]): CliResult {
  return tasklogsWith(dir, args);
}

/** The same command line run in this process: what it printed on stdout and stderr, and its exit code. */
export async function cli(dir: string, ...args: string[]): Promise<CliResult> {
  // serve starts the server from this process's own environment and never returns: a real process only
  if (args[0] === 'serve' && !args.includes('--help'))
    throw new Error('run `tasklogs serve` as a process (tasklogs())');
  let out = '';
  let err = '';
  // The bin's process ends when its command has: a timer, handle or thread the command leaves running keeps it alive
  // for ever (a process run of each case saw that as a hang). In process, what the command made is watched instead.
  const made = new Map<number, { type: string; resource: { hasRef?: () => boolean } }>();
  const watch = createHook({
    init: (id, type, _trigger, resource) => {
      if (type !== 'PROMISE') made.set(id, { type, resource: resource as { hasRef?: () => boolean } });
    },
    destroy: (id) => made.delete(id),
  }).enable();
  let code: number;
  try {
    code = await runCli(args, {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: { ...process.env, TASK_LOGS_DIR: dir, NO_COLOR: '1' },
    });
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    watch.disable();
  }
  const left = [...made.values()].filter(
    ({ type, resource }) => resource.hasRef?.() === true && !endsSoon(type, resource),
  );
  if (left.length > 0)
    throw new Error(
      `tasklogs ${args.join(' ')} left running what would keep its process alive: ${left.map((r) => r.type).join(', ')}`,
    );
  return { code, out, err };
}

// A one-shot timer of under a second ends by itself, and the bin's process with it: only a repeating or long timer
// keeps it alive. (Other code of this test process, undici's or vitest's, may also arm short timers while the command
// runs: the hook sees them too. A fresh-clone CI run failed once on such a Timeout after prune --dry-run.)
function endsSoon(type: string, resource: object): boolean {
  if (type !== 'Timeout') return false;
  const timer = resource as { _repeat?: number | null; _idleTimeout?: number };
  return (timer._repeat === null || timer._repeat === undefined) && (timer._idleTimeout ?? Infinity) < 1000;
}
