// Temporary files in task folders: atomic writes and compression write `.<name>.<…>.tmp` and rename it into place; a
// write that failed (disk full) or a process killed mid-write leaves one behind. Verify reports them; maintenance
// removes the ones old enough that no write can still be using them.
import { lstat, readdir, unlink } from 'node:fs/promises';
import { processGone } from '../contract/process-gone.ts';
import type { OpenFolder } from '../contract/safe-open.ts';

/** A temp file older than this belongs to no write in progress (a write takes milliseconds; a gzip of a huge file
 * seconds). */
const STALE_TEMP_MS = 10 * 60_000;

function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** The temp files in a folder, with their age. */
export async function tempFiles(
  folder: OpenFolder,
  now = Date.now(),
): Promise<{ name: string; ageMs: number }[]> {
  const names = (await readdir(folder.path)).filter(isTempName);
  const found: { name: string; ageMs: number }[] = [];
  for (const name of names) {
    const stat = await lstat(folder.pathOf(name)).catch(() => undefined);
    if (stat?.isFile()) found.push({ name, ageMs: now - stat.mtimeMs });
  }
  return found;
}

// temp names carry the writing process's pid: `.metadata.json.<pid>.<random>.<n>.tmp`, `.<file>.gz.<pid>.<hex>.tmp`
const PID_IN_NAME = /\.(\d{1,10})\.[0-9a-f]+(?:\.[0-9a-z]+)?\.tmp$/;

/** True when the temp file's writer is known to be gone: its pid runs no process here. (A folder shared by several
 * hosts could hold a live writer of another host under that pid: its write then fails and is retried.) */
function writerGone(name: string): boolean {
  return processGone(Number(PID_IN_NAME.exec(name)?.[1]));
}

/** Removes the temp files of a folder whose writer is gone or that are stale; returns their names. */
export async function removeStaleTemps(folder: OpenFolder, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const { name, ageMs } of await tempFiles(folder, now)) {
    if (ageMs < STALE_TEMP_MS && !writerGone(name)) continue;
    try {
      await unlink(folder.pathOf(name));
      removed.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // gone already is what we wanted
    }
  }
  return removed;
}
