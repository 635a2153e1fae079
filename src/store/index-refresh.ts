// Brings the task index in line with the task folders: indexes new or changed folders (by folder mtime: every JSON
// file is renamed into place, which changes it) and forgets folders that are gone. A missing index is a full rebuild;
// `tasklogs reindex` asks for one explicitly.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { type OpenFolder, openTaskFolder } from '../contract/safe-open.ts';
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
  options: { full?: boolean; signal?: AbortSignal } = {},
): Promise<RefreshResult> {
  const started = performance.now();
  const known = await indexedMtimes(index);
  // a full rebuild rereads every folder and replaces each row whole, in place: the index file stays where a running
  // server has it open, and readers never see it empty
  const full = options.full ?? false;
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
    if (full) index.replaceMany(batch);
    else index.upsertMany(batch);
    updated += batch.length;
    batch = [];
  };
  // a handful of folders at a time: enough to keep the disk busy without holding 100,000 promises
  const ids = entries
    .filter((e) => e.isDirectory() && tryParseTaskId(e.name) !== undefined)
    .map((e) => e.name);
  for (let i = 0; i < ids.length; i += 32) {
    // stopped (a server shutting down): what was read is kept, nothing is forgotten on a partial scan
    if (options.signal?.aborted || index.closed) {
      if (!index.closed) flush();
      return { scanned: i, updated, removed: 0, ms: performance.now() - started };
    }
    const slice = ids.slice(i, i + 32);
    const results = await Promise.all(
      slice.map((id) => readFolder(root, id, full ? undefined : known.get(id))),
    );
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

// What the index has, a page at a time with a turn of the event loop between pages: one query for the 40,000 rows of a
// large logs folder held the event loop for 50 to 300 ms at every refresh.
async function indexedMtimes(index: TaskIndex): Promise<Map<string, number | null>> {
  const known = new Map<string, number | null>();
  let after = '';
  for (;;) {
    const page = index.folderMtimesAfter(after, MTIME_PAGE);
    for (const [id, mtime] of page) known.set(id, mtime);
    if (page.length < MTIME_PAGE) return known;
    after = page[page.length - 1]![0];
    await setImmediate();
  }
}

const MTIME_PAGE = 5000;

async function readFolder(
  root: string,
  id: string,
  knownMtime: number | null | undefined,
): Promise<IndexedFiles | undefined> {
  // Most folders have not changed since the last refresh: one lstat (it never follows a link, and reads no file)
  // says so, where opening the folder safely and reading its mtime took three calls. Anything else is opened as before.
  // A row a writer has just written (null: writers do not know the folder's mtime) is what the files say: only the
  // mtime is recorded, not the files read again (after a burst of webhooks, the first refresh reread every new task's
  // files, seconds of work on the event loop with 20,000 of them).
  if (knownMtime !== undefined) {
    try {
      const stats = await lstat(join(root, id));
      if (stats.isDirectory() && knownMtime === null) return { folderMtimeMs: stats.mtimeMs };
      if (stats.isDirectory() && stats.mtimeMs === knownMtime) return undefined;
    } catch {
      return undefined; // removed while scanning: the next refresh forgets it
    }
  }
  let folder: OpenFolder;
  try {
    folder = await openTaskFolder(root, id);
  } catch {
    return undefined; // removed while scanning, or not a real folder: the next refresh forgets it
  }
  try {
    const mtime = (await folder.stat()).mtimeMs;
    if (knownMtime === mtime) return undefined;
    const [metadata, finalResult] = await Promise.all([
      folder.readJsonQuietly<Partial<TaskMetadata>>(TASK_FILES.metadata),
      folder.readJsonQuietly<Partial<FinalResult>>(TASK_FILES.finalResult),
    ]);
    if (metadata === undefined && finalResult === undefined)
      return { folderMtimeMs: mtime, metadata: { status: undefined } };
    return { metadata, finalResult, folderMtimeMs: mtime };
  } finally {
    await folder.close();
  }
}
