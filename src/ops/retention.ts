// Retention: deletes finished tasks older than TASK_LOGS_RETENTION_DAYS, then, if the folder is over
// TASK_LOGS_MAX_TOTAL_BYTES, the oldest finished tasks until it is not. Never a queued or running task, never anything
// that is not a task folder. A task is first renamed to a hidden trash name (one atomic step: from then on it is
// gone for every reader), then removed; trash left by a crash is removed on the next run.
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isUnsafePath } from '../contract/safe-open.ts';
import type { TaskIndex } from '../store/task-index.ts';
import { type MaintenanceError, maintenanceError } from './maintenance-error.ts';
import { findNewFolderLeftovers, removeNewFolderLeftovers } from './new-folder-leftovers.ts';
import {
  folderSize,
  listTaskFolders,
  summarizeAll,
  type TaskFolder,
  type TaskSummary,
} from './task-folders.ts';
import { buryTask, removeOldTombstones } from './tombstones.ts';

export interface PruneOptions {
  root: string;
  retentionDays: number;
  maxTotalBytes?: number | undefined;
  now?: Date;
  dryRun?: boolean;
  index?: TaskIndex | undefined;
  onProgress?: (done: number, total: number) => void;
}

export interface PrunedTask {
  task_id: string;
  reason: 'expired' | 'over_size_cap';
  ended_at: string;
  bytes: number;
}

export interface PruneResult {
  dry_run: boolean;
  scanned: number;
  deleted: PrunedTask[];
  /** the tasks kept because they are not known to have ended (never deleted, whatever their age): */
  /** queued or running */
  kept_running: number;
  /** folders with no metadata.json that reads as JSON (not written yet: a writer writes it with its first lines, an
   * OTLP producer only with a status). The server's check for interrupted tasks ends one left unwritten for
   * TASK_LOGS_INTERRUPTED_AFTER_MINUTES; retention then counts from that end. */
  kept_no_metadata: number;
  /** a status that is not one of ours, a final one with no time to count from, or a metadata.json that could not be
   * read (that one is in errors too) */
  kept_other: number;
  /** the folder's size before and after (null when no size cap was set: then only deleted tasks are measured) */
  total_bytes_before: number | null;
  total_bytes_after: number | null;
  /** the cap could not be met with finished tasks alone */
  over_cap: boolean;
  leftover_trash_removed: number;
  /** folders a killed writer left in .new~ (never renamed into place: not tasks) removed, or to be removed in a dry
   * run; a live writer's is kept */
  leftover_new_folders_removed: number;
  /** what failed (a read or write error): a task whose deletion failed is either still whole or already gone for
   * readers (its folder renamed to hidden trash, removed by the next run); the next run tries again */
  errors: MaintenanceError[];
}

// '~' is not allowed in task ids: no reader can ever take a folder being deleted for a task
const TRASH_PREFIX = '.trash~';

export async function pruneTasks(options: PruneOptions): Promise<PruneResult> {
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? false;
  const errors: MaintenanceError[] = [];
  const leftover = dryRun ? 0 : await removeLeftoverTrash(options.root, errors);
  const newFolders = await pruneNewFolders(options.root, dryRun, errors);
  if (!dryRun)
    await removeOldTombstones(options.root, now).catch((error: unknown) => {
      errors.push(maintenanceError(null, error));
    });
  // sizes of every task only when a cap needs the total; otherwise just of the tasks that go
  const capped = options.maxTotalBytes !== undefined;
  let folders: TaskFolder[] = [];
  try {
    folders = await listTaskFolders(options.root);
  } catch (error) {
    errors.push(maintenanceError(null, error));
  }
  const summaries = await summarizeAll(folders, options.onProgress, { sizes: capped });
  for (const summary of summaries)
    if (summary.readError !== undefined) errors.push({ task_id: summary.id, error: summary.readError });
  const cutoff = now.getTime() - options.retentionDays * 86_400_000;
  const finished = summaries.filter((s) => s.endedAt !== undefined);
  const doomed = new Map<string, { summary: TaskSummary; reason: PrunedTask['reason'] }>();
  for (const summary of finished) {
    if (summary.endedAt!.getTime() < cutoff) doomed.set(summary.id, { summary, reason: 'expired' });
  }
  if (!capped) {
    await Promise.all(
      [...doomed.values()].map(async ({ summary }) => {
        summary.bytes = (await folderSize(summary.dir)).bytes;
      }),
    );
  }
  const totalBefore = summaries.reduce((sum, s) => sum + s.bytes, 0);
  let total = totalBefore - [...doomed.values()].reduce((sum, d) => sum + d.summary.bytes, 0);
  let overCap = false;
  if (options.maxTotalBytes !== undefined && total > options.maxTotalBytes) {
    const oldestFirst = finished
      .filter((s) => !doomed.has(s.id))
      .sort((a, b) => a.endedAt!.getTime() - b.endedAt!.getTime());
    for (const summary of oldestFirst) {
      if (total <= options.maxTotalBytes) break;
      doomed.set(summary.id, { summary, reason: 'over_size_cap' });
      total -= summary.bytes;
    }
    overCap = total > options.maxTotalBytes;
  }
  const deleted: PrunedTask[] = [];
  // tombstones first (all at once: one file each), so a late line for a deleted task cannot bring its folder back;
  // a task whose tombstone could not be written is not deleted this time
  const unburied = new Set<string>();
  if (!dryRun)
    await Promise.all(
      [...doomed.keys()].map((id) =>
        buryTask(options.root, id).catch((error: unknown) => {
          unburied.add(id);
          errors.push(maintenanceError(id, error));
        }),
      ),
    );
  for (const { summary, reason } of doomed.values()) {
    if (unburied.has(summary.id)) continue;
    if (!dryRun) {
      const trash = join(options.root, `${TRASH_PREFIX}${summary.id}-${randomBytes(4).toString('hex')}`);
      try {
        await rename(summary.dir, trash);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile by someone else
        errors.push(maintenanceError(summary.id, error)); // still whole where it was
        continue;
      }
      // gone for every reader from here; trash a failed rm leaves is removed by the next run
      await rm(trash, { recursive: true, force: true }).catch((error: unknown) => {
        errors.push(maintenanceError(summary.id, error));
      });
    }
    deleted.push({
      task_id: summary.id,
      reason,
      ended_at: summary.endedAt!.toISOString(),
      bytes: summary.bytes,
    });
  }
  if (!dryRun && deleted.length > 0) options.index?.remove(deleted.map((d) => d.task_id));
  return {
    dry_run: dryRun,
    scanned: summaries.length,
    deleted,
    kept_running: summaries.filter((s) => s.status === 'queued' || s.status === 'running').length,
    kept_no_metadata: summaries.filter((s) => s.metadata === undefined && s.readError === undefined).length,
    kept_other: summaries.filter(
      (s) =>
        s.endedAt === undefined &&
        s.status !== 'queued' &&
        s.status !== 'running' &&
        !(s.metadata === undefined && s.readError === undefined),
    ).length,
    total_bytes_before: capped ? totalBefore : null,
    total_bytes_after: capped ? (dryRun ? totalBefore : total) : null,
    over_cap: overCap,
    leftover_trash_removed: leftover,
    leftover_new_folders_removed: newFolders,
    errors,
  };
}

// a link or a file at .new~ holds nothing of ours: left alone (verify reports it)
async function pruneNewFolders(root: string, dryRun: boolean, errors: MaintenanceError[]): Promise<number> {
  const failed: unknown[] = [];
  try {
    return dryRun
      ? (await findNewFolderLeftovers(root)).length
      : await removeNewFolderLeftovers(root, failed);
  } catch (error) {
    if (!isUnsafePath(error)) errors.push(maintenanceError(null, error));
    return 0;
  } finally {
    for (const error of failed) errors.push(maintenanceError(null, error));
  }
}

async function removeLeftoverTrash(root: string, errors: MaintenanceError[]): Promise<number> {
  const names = await readdir(root).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(TRASH_PREFIX)) continue;
    try {
      await rm(join(root, name), { recursive: true, force: true });
      removed++;
    } catch (error) {
      errors.push(maintenanceError(null, error));
    }
  }
  return removed;
}
