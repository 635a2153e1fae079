// Brings the task index in line with the task folders: indexes new or changed folders (by folder mtime: every JSON
// file is renamed into place, which changes it) and forgets folders that are gone. A missing index is a full rebuild.
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type FinalResult, TASK_FILES, type TaskMetadata } from '../contract/task-files.ts';
import { tryParseTaskId } from '../contract/task-id.ts';
import type { IndexedFiles, TaskIndex } from './task-index.ts';

export interface RefreshResult {
  scanned: number;
  updated: number;
  removed: number;
  ms: number;
}

const BATCH = 500;

export async function refreshIndex(
  index: TaskIndex,
  root: string,
  onProgress?: (done: number, total: number) => void,
): Promise<RefreshResult> {
  const started = performance.now();
  const known = index.folderMtimes();
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    entries = [];
  }
  const seen = new Set<string>();
  let updated = 0;
  let batch: [string, IndexedFiles][] = [];
  const flush = () => {
    if (batch.length === 0) return;
    index.upsertMany(batch);
    updated += batch.length;
    batch = [];
  };
  // a handful of folders at a time: enough to keep the disk busy without holding 100,000 promises
  const ids = entries
    .filter((e) => e.isDirectory() && tryParseTaskId(e.name) !== undefined)
    .map((e) => e.name);
  for (let i = 0; i < ids.length; i += 32) {
    const slice = ids.slice(i, i + 32);
    const results = await Promise.all(slice.map((id) => readFolder(root, id, known.get(id))));
    for (let j = 0; j < slice.length; j++) {
      const id = slice[j]!;
      seen.add(id);
      const files = results[j];
      if (files !== undefined) batch.push([id, files]);
    }
    if (batch.length >= BATCH) flush();
    onProgress?.(Math.min(i + 32, ids.length), ids.length);
  }
  flush();
  const gone = [...known.keys()].filter((id) => !seen.has(id));
  if (gone.length > 0) index.remove(gone);
  return { scanned: ids.length, updated, removed: gone.length, ms: performance.now() - started };
}

async function readFolder(
  root: string,
  id: string,
  knownMtime: number | null | undefined,
): Promise<IndexedFiles | undefined> {
  const dir = join(root, id);
  let mtime: number;
  try {
    mtime = (await stat(dir)).mtimeMs;
  } catch {
    return undefined; // removed while scanning: the next refresh forgets it
  }
  if (knownMtime === mtime) return undefined;
  const [metadata, finalResult] = await Promise.all([
    readJson<Partial<TaskMetadata>>(dir, TASK_FILES.metadata),
    readJson<Partial<FinalResult>>(dir, TASK_FILES.finalResult),
  ]);
  if (metadata === undefined && finalResult === undefined)
    return { folderMtimeMs: mtime, metadata: { status: undefined } };
  return { metadata, finalResult, folderMtimeMs: mtime };
}

async function readJson<T>(dir: string, name: string): Promise<T | undefined> {
  let handle: import('node:fs/promises').FileHandle | undefined;
  try {
    handle = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    return JSON.parse(await handle.readFile('utf8')) as T;
  } catch {
    return undefined; // absent, a symlink, or not JSON: the files are the truth and this one says nothing yet
  } finally {
    await handle?.close();
  }
}
