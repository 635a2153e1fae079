// Walking the logs folder for maintenance: only real directories named like tasks (never symlinks, hidden entries
// or stray files), and a tolerant summary of each (status, completion time, size), read through the open folder.
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachLimited } from '../contract/for-each-limited.ts';
import { isUnsafePath, type OpenFolder, openFolder } from '../contract/safe-open.ts';
import { type FinalResult, TASK_FILES, type TaskMetadata } from '../contract/task-files.ts';
import { tryParseTaskId } from '../contract/task-id.ts';
import { isFinalStatus, type TaskStatus } from '../contract/task-status.ts';

export interface TaskFolder {
  id: string;
  dir: string;
}

export interface TaskSummary extends TaskFolder {
  metadata: Partial<TaskMetadata> | undefined;
  finalResult: Partial<FinalResult> | undefined;
  status: TaskStatus | undefined;
  /** when the task ended (completed_at, or for a rejected task its last update); undefined while it runs */
  endedAt: Date | undefined;
  bytes: number;
  files: string[];
  /** a read error (EIO, EACCES, ...) that kept the status from being known: maintenance reports it and leaves the
   * task for the next run (absent, or not JSON yet, is not an error: the task is being created) */
  readError?: string;
}

/** The task folders directly under root, sorted by id. */
export async function listTaskFolders(root: string): Promise<TaskFolder[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && tryParseTaskId(entry.name) !== undefined)
    .map((entry) => ({ id: entry.name, dir: join(root, entry.name) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The files of a task folder and their total size (regular files only), read through the open folder. */
export async function folderSize(dir: string): Promise<{ bytes: number; files: string[] }> {
  let folder: OpenFolder;
  try {
    folder = await openFolder(dir);
  } catch {
    return { bytes: 0, files: [] }; // gone, or not a real folder: nothing of ours to count
  }
  try {
    return await sizeOf(folder);
  } finally {
    await folder.close();
  }
}

async function sizeOf(folder: OpenFolder): Promise<{ bytes: number; files: string[] }> {
  const names = await readdir(folder.path).catch(() => [] as string[]);
  const stats = await Promise.all(names.map((name) => lstat(folder.pathOf(name)).catch(() => undefined)));
  let bytes = 0;
  const files: string[] = [];
  stats.forEach((stat, i) => {
    if (stat?.isFile()) {
      bytes += stat.size;
      files.push(names[i]!);
    }
  });
  return { bytes, files };
}

/** A task's status and end; its size too when `sizes` is asked for (a stat per file: the slow part of a scan). */
export async function summarize(
  taskFolder: TaskFolder,
  options: { sizes?: boolean } = {},
): Promise<TaskSummary> {
  let folder: OpenFolder | undefined;
  let readError: string | undefined;
  try {
    folder = await openFolder(taskFolder.dir);
  } catch (error) {
    // gone meanwhile, or swapped for a link: a summary with nothing in it, which no maintenance step acts on
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && !isUnsafePath(error))
      readError = `the folder: ${code ?? 'unreadable'} (${(error as Error).message})`;
  }
  let metadata: Partial<TaskMetadata> | undefined;
  let finalResult: Partial<FinalResult> | undefined;
  let size = { bytes: 0, files: [] as string[] };
  const readJson = async <T>(open: OpenFolder, name: string): Promise<T | undefined> => {
    let bytes: Buffer | undefined;
    try {
      bytes = await open.readFile(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      readError ??= `${name}: ${code ?? 'unreadable'} (${(error as Error).message})`;
      return undefined;
    }
    try {
      return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as T);
    } catch {
      return undefined; // not JSON (JSON files are renamed into place whole, so a foreign file): status unknown
    }
  };
  if (folder !== undefined) {
    try {
      [metadata, finalResult, size] = await Promise.all([
        readJson<Partial<TaskMetadata>>(folder, TASK_FILES.metadata),
        readJson<Partial<FinalResult>>(folder, TASK_FILES.finalResult),
        options.sizes === false ? size : sizeOf(folder),
      ]);
    } finally {
      await folder.close().catch(() => undefined); // a failed close(2) still frees the descriptor
    }
  }
  const { bytes, files } = size;
  const status = metadata?.status;
  const ended = isFinalStatus(status)
    ? (metadata?.completed_at ?? finalResult?.completed_at ?? metadata?.updated_at ?? metadata?.created_at)
    : undefined;
  const endedAt = ended ? new Date(ended) : undefined;
  return {
    ...taskFolder,
    metadata,
    finalResult,
    status,
    endedAt: endedAt && !Number.isNaN(endedAt.getTime()) ? endedAt : undefined,
    bytes,
    files,
    ...(readError === undefined ? {} : { readError }),
  };
}

/** Summaries of many folders, a few at a time, reporting progress. */
export async function summarizeAll(
  folders: TaskFolder[],
  onProgress?: (done: number, total: number) => void,
  options: { sizes?: boolean } = {},
): Promise<TaskSummary[]> {
  const out: TaskSummary[] = new Array(folders.length);
  let done = 0;
  await forEachLimited(folders, 16, async (folder, i) => {
    out[i] = await summarize(folder, options);
    onProgress?.(++done, folders.length);
  });
  return out;
}
