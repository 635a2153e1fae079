// The hidden folder where a writer makes a new task's folder with its first files before it renames the folder into
// place (exporters/task-folder-writer.ts), and which of the folders in it are leftovers: the writer that made them
// was killed mid-write (or failed to remove one), so nothing will ever rename them. The next writer, prune and
// verify all go by this one rule.
import { processGone } from './process-gone.ts';

/** Under TASK_LOGS_DIR. '~' is not allowed in task ids: no reader or scan takes this folder, or anything in it, for a
 * task. */
export const NEW_FOLDERS_DIR = '.new~';
/** A folder left in NEW_FOLDERS_DIR this long belongs to no write in progress (a write takes milliseconds). */
export const STALE_NEW_FOLDER_MS = 10 * 60_000;
// `<pid>.<random>.<n>.<task id>`: the pid tells a folder whose writer is gone; the random part keeps hosts apart
const NEW_FOLDER_PID = /^(\d{1,10})\./;

/** Whether the entry `name` of NEW_FOLDERS_DIR, last changed `ageMs` ago, is a leftover: stale, or its writer's pid
 * names no process here. A folder of a live writer here, not stale, never is. (A folder shared by several hosts can
 * hold a live writer of another host under a pid gone here: that writer's rename then fails, and it writes its
 * changes into the task's folder the usual way.) */
export function isNewFolderLeftover(name: string, ageMs: number): boolean {
  return ageMs >= STALE_NEW_FOLDER_MS || processGone(Number(NEW_FOLDER_PID.exec(name)?.[1]));
}
