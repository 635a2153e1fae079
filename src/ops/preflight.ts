// Start-up checks of the environment: the logs folder and the index must be usable before anything starts, so a bad
// setting is one clear line naming it (and exit 2), not a stack trace later or a process spinning on /proc.
import { constants } from 'node:fs';
import { access, open, realpath, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { makeFolders } from '../contract/make-folders.ts';

// kernel file systems: files there are not storage, and some never answer a write the way a disk does
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

export async function checkEnvironment(config: Config, options: { index?: boolean } = {}): Promise<void> {
  await checkFolder('TASK_LOGS_DIR', config.logsDir);
  if (options.index ?? true) await checkIndex(config);
}

async function checkFolder(setting: string, folder: string): Promise<void> {
  const where = await realAncestor(folder);
  if (PSEUDO_ROOTS.some((root) => where === root || where.startsWith(root + sep))) {
    throw settingError(
      setting,
      folder,
      `is under ${where.split(sep).slice(0, 2).join(sep)}, a kernel file system`,
    );
  }
  try {
    await makeFolders(folder);
  } catch (error) {
    throw settingError(setting, folder, await whyNotCreated(folder, where, error));
  }
  const probe = join(folder, `.probe~${process.pid}`);
  try {
    const handle = await open(
      probe,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    await handle.close();
    await unlink(probe);
  } catch (error) {
    throw settingError(setting, folder, `is not writable by this user (${codeOf(error)})`);
  }
}

async function checkIndex(config: Config): Promise<void> {
  const path = config.indexPath;
  if (dirname(resolve(path)) !== resolve(config.logsDir))
    await checkFolder('TASK_LOGS_INDEX_PATH', dirname(path));
  try {
    await access(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // created on start
    throw settingError('TASK_LOGS_INDEX_PATH', path, `is not readable and writable (${codeOf(error)})`);
  }
}

// the real path of the deepest part of `path` that exists (the folder itself may not exist yet)
async function realAncestor(path: string): Promise<string> {
  let current = resolve(path);
  for (;;) {
    try {
      return await realpath(current);
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

// mkdir's own code misleads (EEXIST for a file, ENOENT under a read-only mount): say what is in the way
async function whyNotCreated(folder: string, existing: string, error: unknown): Promise<string> {
  const it = existing === resolve(folder) ? 'it' : existing;
  try {
    if (!(await stat(existing)).isDirectory())
      return `${it === 'it' ? 'is' : `cannot be created: ${it} is`} a file, not a folder`;
    await access(existing, constants.W_OK);
  } catch (blocked) {
    return `cannot be created: ${it} is not writable (${codeOf(blocked)})`;
  }
  return `cannot be created (${codeOf(error)})`;
}

function settingError(setting: string, value: string, problem: string): TaskLogsError {
  return new TaskLogsError('CONFIG_INVALID', `${setting}=${value} ${problem}`);
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
