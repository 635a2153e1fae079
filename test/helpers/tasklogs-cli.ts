// Runs the `tasklogs` command line as `npx tasklogs` would: the bin file itself, with the project's Node first on
// the PATH, against one logs folder, colour off.
import { spawnSync } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';

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
