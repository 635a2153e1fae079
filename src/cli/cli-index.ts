// The commands' task index: one found corrupt is moved aside and rebuilt as the server does it, and said on stderr.
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { corruptIndexLine, TaskIndex } from '../store/task-index.ts';
import { type OutStream, printable } from './terminal.ts';

export function openCliIndex(config: Config, err: OutStream): TaskIndex {
  let index: TaskIndex;
  try {
    index = new TaskIndex(config.indexPath);
  } catch (error) {
    if (error instanceof TaskLogsError) throw error;
    // SQLite cannot open or set up the file: a logs folder this user may read but not write (a backup's read-only
    // mount, another user's folder), a full disk. The index is built from the task folders, so it can live elsewhere.
    const err = error as { errstr?: unknown; message?: unknown };
    const why = typeof err.errstr === 'string' ? err.errstr : String(err.message);
    throw new TaskLogsError(
      'STORAGE_UNAVAILABLE',
      `cannot open the task index ${config.indexPath} (${why}): is its folder read-only or not writable by this ` +
        'user? Set TASK_LOGS_INDEX_PATH to a file in a folder you can write (it is built from the task folders)',
    );
  }
  if (index.setAside !== undefined) err.write(`tasklogs: ${printable(corruptIndexLine(index), false)}\n`);
  return index;
}
