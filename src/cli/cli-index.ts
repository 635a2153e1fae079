// The commands' task index: one found corrupt is moved aside and rebuilt as the server does it, and said on stderr.
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { corruptIndexLine, TaskIndex } from '../store/task-index.ts';
import { type OutStream, printable } from './terminal.ts';

export function openCliIndex(config: Config, err: OutStream): TaskIndex {
  const opened = tryOpen(config, err);
  if (opened instanceof TaskIndex) return opened;
  const guess = /full/.test(opened.why)
    ? 'is its disk full?'
    : 'is its folder read-only or not writable by this user?';
  throw new TaskLogsError(
    'STORAGE_UNAVAILABLE',
    `cannot open the task index ${config.indexPath} (${opened.why}): ${guess} Set TASK_LOGS_INDEX_PATH to a file in ` +
      'a folder you can write (it is built from the task folders)',
  );
}

/**
 * The index for a command that can do its work without it (prune, which is what frees a full disk): undefined, said
 * in one line on stderr, when SQLite cannot open it. The index's next refresh forgets the folders that are gone.
 */
export function openCliIndexIfCan(config: Config, err: OutStream, without: string): TaskIndex | undefined {
  const opened = tryOpen(config, err);
  if (opened instanceof TaskIndex) return opened;
  err.write(`tasklogs: the task index ${config.indexPath} cannot be opened (${opened.why}): ${without}\n`);
  return undefined;
}

function tryOpen(config: Config, err: OutStream): TaskIndex | { why: string } {
  let index: TaskIndex;
  try {
    index = new TaskIndex(config.indexPath);
  } catch (error) {
    if (error instanceof TaskLogsError) throw error;
    // SQLite cannot open or set up the file: a logs folder this user may read but not write (a backup's read-only
    // mount, another user's folder), a full disk. The index is built from the task folders, so it can live elsewhere.
    const sqlite = error as { errstr?: unknown; message?: unknown };
    return { why: typeof sqlite.errstr === 'string' ? sqlite.errstr : String(sqlite.message) };
  }
  if (index.setAside !== undefined) err.write(`tasklogs: ${printable(corruptIndexLine(index), false)}\n`);
  return index;
}
