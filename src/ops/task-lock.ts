// Whether a writer is updating a task right now: it holds metadata.json.lock (exporters/file-lock.ts) for the length
// of a metadata write. Maintenance leaves such a task alone until the next run.
import { lstat } from 'node:fs/promises';
import type { OpenFolder } from '../contract/safe-open.ts';
import { TASK_FILES } from '../contract/task-files.ts';

// a lock file older than this was left by a killed writer (exporters/file-lock.ts breaks it at the same age)
const LOCK_STALE_MS = 10_000;

export async function lockHeld(folder: OpenFolder, now = Date.now()): Promise<boolean> {
  const stat = await lstat(folder.pathOf(`${TASK_FILES.metadata}.lock`)).catch(() => undefined);
  return stat !== undefined && now - stat.mtimeMs < LOCK_STALE_MS;
}
