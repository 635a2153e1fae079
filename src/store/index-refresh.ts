// Brings the task index in line with the task folders: indexes new or changed folders (by folder mtime: every JSON
// file is renamed into place, which changes it) and forgets folders that are gone. A missing index is a full rebuild;
// `tasklogs reindex` asks for one explicitly.
import { setImmediate } from 'node:timers/promises';
import { type OpenFolder, openTaskFolder } from '../contract/safe-open.ts';
import { type FinalResult, TASK_FILES, type TaskMetadata } from '../contract/task-files.ts';
import { type FolderLister, type FolderMtimes, listHere, readFolderMtimes } from './folder-mtimes.ts';
import type { IndexedFiles, TaskIndex } from './task-index.ts';

export interface RefreshResult {
  scanned: number;
  updated: number;
  removed: number;
  ms: number;
}

export async function refreshIndex(
  index: TaskIndex,
  root: string,
  onProgress?: (done: number, total: number) => void,
  options: {
    full?: boolean;
    signal?: AbortSignal;
    /** where the folders are listed (one lstat each): on this thread unless told otherwise */
    lister?: FolderLister;
  } = {},
): Promise<RefreshResult> {
  const started = performance.now();
  const signal = options.signal;
  const stopped = () => signal?.aborted === true || index.closed;
  // a full rebuild rereads every folder and replaces each row whole, in place: the index file stays where a running
  // server has it open, and readers never see it empty
  const full = options.full ?? false;
  // what the index has is read before the folders are listed: a row is written after its folder, so a folder that
  // is not listed was deleted, not made after the listing (it would be forgotten until the next refresh). A full
  // rebuild needs it too: the rows of folders that are gone are forgotten.
  const known = await indexedMtimes(index, stopped);
  // the server lists them off the event loop (one lstat per folder); a full rebuild reads every folder's files anyway
  const listed = full ? readFolderMtimes(root) : await (options.lister ?? listHere).list(root, signal);
  if (known === undefined || listed === undefined || stopped())
    return { scanned: 0, updated: 0, removed: 0, ms: performance.now() - started };
  const changes = await compare(known, listed, stopped, full);
  if (changes === undefined) return { scanned: 0, updated: 0, removed: 0, ms: performance.now() - started };
  const scanned = listed.mtimes.length;
  const toRead = changes.read;

  // a folder whose row a writer has just written (mtime null) is what the files say: only its mtime is recorded, not
  // the files read again (after a burst of webhooks, the first refresh reread every new task's files, seconds of
  // work on the event loop with 20,000 of them)
  let updated = await inSlices(changes.fresh, (slice) => index.upsertMany(slice), stopped);
  // a handful of folders at a time: enough to keep the disk busy without holding 100,000 promises
  let rows: [string, IndexedFiles][] = [];
  const write = async () => {
    updated += await inSlices(
      rows,
      (slice) => (full ? index.replaceMany(slice) : index.refreshMany(slice)),
      stopped,
    );
    rows = [];
  };
  for (let i = 0; i < toRead.length; i += 32) {
    // a turn of the event loop every LOOKUPS folders: when the writer has indexed them all since the listing, none is
    // read (no I/O to wait on), and 70,000 look-ups in one go held the event loop for a few hundred ms
    if (i > 0 && i % LOOKUPS === 0) await setImmediate();
    // stopped (a server shutting down): what was read is kept, nothing is forgotten on a partial scan
    if (stopped()) {
      if (!index.closed) await write();
      return { scanned: i, updated, removed: 0, ms: performance.now() - started };
    }
    // the rows are read before the listing (above), so at saturation most folders listed as new or changed were
    // written and indexed by this process's writer in between (768 of 800 in a refresh started mid-burst): their row
    // is looked up again now (a few µs, where reading a folder's files costs hundreds) and a folder whose row has
    // the listed mtime, or the mtime the folder has when it is opened, is left alone
    const slice = toRead
      .slice(i, i + 32)
      .flatMap(([id, , listedMtime]): [string, number | null | undefined][] => {
        if (full) return [[id, undefined]];
        const now = index.folderMtime(id);
        return now === listedMtime ? [] : [[id, now]];
      });
    const results = await Promise.all(slice.map(([id, mtime]) => readFolder(root, id, mtime)));
    for (let j = 0; j < slice.length; j++) {
      const files = results[j];
      if (files !== undefined) rows.push([slice[j]![0], files]);
    }
    if (rows.length >= 500) await write();
    onProgress?.(Math.min(i + 32, toRead.length), toRead.length);
  }
  await write();
  if (stopped()) return { scanned, updated, removed: 0, ms: performance.now() - started };
  const removed = await inSlices(changes.gone, (slice) => index.remove(slice), stopped);
  return { scanned, updated, removed, ms: performance.now() - started };
}

const LOOKUPS = 256;

interface KnownMtimes {
  ids: string[];
  mtimes: (number | null)[];
}

const emptyKnown = (): KnownMtimes => ({ ids: [], mtimes: [] });

// What the index has, a page at a time with a turn of the event loop between pages: one query for the 40,000 rows of a
// large logs folder held the event loop for 50 to 300 ms at every refresh. Undefined when stopped.
async function indexedMtimes(index: TaskIndex, stopped: () => boolean): Promise<KnownMtimes | undefined> {
  const known = emptyKnown();
  let after = '';
  for (;;) {
    if (stopped()) return undefined;
    const page = index.folderMtimesAfter(after, PAGE);
    for (const [id, mtime] of page) {
      known.ids.push(id);
      known.mtimes.push(mtime);
    }
    if (page.length < PAGE) return known;
    after = page[page.length - 1]![0];
    await setImmediate();
  }
}

// rows a slice: about a millisecond of the event loop's time on this 2-core machine
const PAGE = 1000;

interface Changes {
  /** new folders and changed ones, with the mtime the index had (undefined: none) and the listed one: read again */
  read: [string, number | null | undefined, number][];
  /** rows a writer has just written: the folder's mtime to record */
  fresh: [string, IndexedFiles][];
  /** rows whose folder is gone */
  gone: string[];
}

/** Walks the index's rows and the listed folders side by side (both in id order), a page of rows at a time; `full`:
 * every listed folder is read again, whatever its mtime. */
async function compare(
  known: KnownMtimes,
  listed: FolderMtimes,
  stopped: () => boolean,
  full: boolean,
): Promise<Changes | undefined> {
  const changes: Changes = { read: [], fresh: [], gone: [] };
  const { ids, mtimes } = listed;
  // the listed ids are walked in place (no array of 100,000 strings made in one go)
  let from = 0;
  let n = 0;
  const nextId = (): string | undefined => {
    if (from > ids.length || ids === '') return undefined;
    let to = ids.indexOf('\n', from);
    if (to === -1) to = ids.length;
    const id = ids.slice(from, to);
    from = to + 1;
    return id;
  };
  let folder = nextId();
  for (let k = 0; k < known.ids.length; k++) {
    if (k > 0 && k % PAGE === 0) {
      await setImmediate();
      if (stopped()) return undefined;
    }
    const id = known.ids[k]!;
    while (folder !== undefined && folder < id) {
      changes.read.push([folder, undefined, mtimes[n]!]);
      folder = nextId();
      n++;
    }
    if (folder !== id) {
      changes.gone.push(id);
      continue;
    }
    const mtime = mtimes[n]!;
    const knownMtime = known.mtimes[k]!;
    if (full) changes.read.push([id, undefined, mtime]);
    // NaN: the folder could not be looked at now (removed while listing, or not a folder any more): left as it is
    else if (!Number.isNaN(mtime)) {
      if (knownMtime === null) changes.fresh.push([id, { folderMtimeMs: mtime }]);
      else if (knownMtime !== mtime) changes.read.push([id, knownMtime, mtime]);
    }
    folder = nextId();
    n++;
  }
  // the folders after the last row (all of them for an empty index), a page at a time too
  for (let k = 0; folder !== undefined; folder = nextId(), n++, k++) {
    if (k > 0 && k % PAGE === 0) {
      await setImmediate();
      if (stopped()) return undefined;
    }
    changes.read.push([folder, undefined, mtimes[n]!]);
  }
  return changes;
}

// Index writes a slice at a time (one transaction each, at most SLICE_MS of the event loop), with a turn of the
// event loop between slices: a request that comes in meanwhile waits for one slice at most. Resolves how many items
// were applied (fewer when stopped).
const SLICE_MS = 1;

async function inSlices<T>(
  items: T[],
  apply: (slice: Iterable<T>) => void,
  stopped: () => boolean,
): Promise<number> {
  let next = 0;
  while (next < items.length) {
    if (next > 0) {
      await setImmediate();
      if (stopped()) return next;
    }
    const until = performance.now() + SLICE_MS;
    const from = next;
    apply(
      (function* () {
        for (let i = from; i < items.length; i++) {
          if (i > from && (i & 31) === 0 && performance.now() > until) return;
          next = i + 1;
          yield items[i]!;
        }
      })(),
    );
  }
  return next;
}

async function readFolder(
  root: string,
  id: string,
  knownMtime: number | null | undefined,
): Promise<IndexedFiles | undefined> {
  let folder: OpenFolder;
  try {
    folder = await openTaskFolder(root, id);
  } catch {
    return undefined; // removed since it was listed, or not a real folder: the next refresh forgets it
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
