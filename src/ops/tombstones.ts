// Tombstones: an empty file per task that retention deleted, in TASK_LOGS_DIR/.gone~/, so the file writer does not
// bring the folder back for a late line. Kept a day: telemetry for a task finished days ago does not arrive later.
import { constants } from 'node:fs';
import { lstat, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { makeFolders } from '../contract/make-folders.ts';
import { TOMBSTONE_DIR } from '../contract/task-files.ts';

const KEEP_MS = 86_400_000;

export async function buryTask(root: string, taskId: string): Promise<void> {
  const dir = join(root, TOMBSTONE_DIR);
  await makeFolders(dir);
  // never through a link: a planted .gone~ symlink would have us create files elsewhere
  if (!(await lstat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;
  const handle = await open(join(dir, taskId), flags, 0o644);
  await handle.close();
}

export async function removeOldTombstones(root: string, now: Date): Promise<number> {
  const dir = join(root, TOMBSTONE_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (now.getTime() - (await stat(path)).mtimeMs < KEEP_MS) continue;
      await unlink(path);
      removed++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
