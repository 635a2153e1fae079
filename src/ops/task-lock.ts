// Whether a writer is updating a task right now: it holds metadata.json.lock (exporters/file-lock.ts) for the length
// of a metadata write. Maintenance leaves such a task alone until the next run.
import { lstat } from 'node:fs/promises';
import type { OpenFolder } from '../contract/safe-open.ts';
import { TASK_FILES } from '../contract/task-files.ts';

// a lock file older than this was left by a killed writer (exporters/file-lock.ts breaks it at the same age)
const LOCK_STALE_MS = 10_000;

/** True while a writer holds the task's lock; also when the lock cannot be checked (an I/O error): maintenance
 * then leaves the task alone rather than cut or compress files a writer may be appending to. */
export async function lockHeld(folder: OpenFolder, now = Date.now()): Promise<boolean> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(folder.pathOf(`${TASK_FILES.metadata}.lock`));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  return now - stat.mtimeMs < LOCK_STALE_MS;
}
