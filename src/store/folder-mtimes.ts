// The task folders under the logs root with each one's mtime, sorted by id: what the index refresh compares its rows
// with. Listed in a worker thread for the server: one lstat per folder is tens of microseconds of the event loop's time
// through fs/promises (20,000 folders: 265-530 ms of it at every refresh, in bursts that held requests up to 135 ms);
// in the thread it costs the event loop nothing, and a slow disk stalls only the thread.
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { moduleBeside } from '../contract/package-files.ts';
import { tryParseTaskId } from '../contract/task-id.ts';

/**
 * Folder ids in ascending order (the index's task_id order), newline-separated in one string (one copy between
 * threads, where an array of strings is cloned string by string), and each folder's mtime at the same position: NaN
 * when it could not be read (it stays as the index has it).
 */
export interface FolderMtimes {
  ids: string;
  mtimes: Float64Array<ArrayBuffer>;
}

/** Lists the folders on this thread (synchronous: for the worker thread, and for commands with no requests to serve). */
export function readFolderMtimes(root: string): FolderMtimes {
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    entries = [];
  }
  // links and files named like tasks are not task folders; ids are ASCII, so code-unit order is SQLite's BINARY order
  const ids = entries
    .filter((e) => e.isDirectory() && tryParseTaskId(e.name) !== undefined)
    .map((e) => e.name)
    .sort();
  const mtimes = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    // removed since (ENOENT) or not a folder any more: NaN, left for the next refresh to see again
    const stats = lstatSync(join(root, ids[i]!), { throwIfNoEntry: false });
    mtimes[i] = stats?.isDirectory() ? stats.mtimeMs : Number.NaN;
  }
  return { ids: ids.join('\n'), mtimes };
}

/** Where a refresh lists the folders: on this thread by default (commands), or in a FolderMtimesThread (the server). */
export interface FolderLister {
  /** the listing, or undefined when `signal` was aborted first */
  list(root: string, signal?: AbortSignal): Promise<FolderMtimes | undefined>;
}

export const listHere: FolderLister = { list: async (root) => readFolderMtimes(root) };

/**
 * Lists the folders in a worker thread, started at the first listing and kept for the next ones (starting one cost
 * about 300 ms of CPU, most of it loading the TypeScript stripper): it does not keep the process alive while idle.
 * A listing whose signal is aborted ends the thread (a shutdown does not wait for a long listing); a thread that dies
 * fails its listing, and the next listing starts a new one.
 */
export class FolderMtimesThread implements FolderLister {
  #worker: Worker | undefined;
  #closed = false;
  #failure: Error | undefined;
  // one listing at a time: the thread answers in order, but each answer is taken by whoever waits
  #last: Promise<unknown> = Promise.resolve();

  list(root: string, signal?: AbortSignal): Promise<FolderMtimes | undefined> {
    const listing = this.#last.then(() => this.#list(root, signal));
    this.#last = listing.catch(() => undefined);
    return listing;
  }

  #list(root: string, signal: AbortSignal | undefined): Promise<FolderMtimes | undefined> {
    if (signal?.aborted || this.#closed) return Promise.resolve(undefined);
    this.#worker ??= this.#start();
    const worker = this.#worker;
    worker.ref(); // a listing under way keeps the process alive, as the fs calls of one on the event loop did
    return new Promise<FolderMtimes | undefined>((resolve, reject) => {
      const done = () => {
        signal?.removeEventListener('abort', stop);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        worker.unref();
      };
      const onMessage = (listed: FolderMtimes) => {
        done();
        resolve(listed);
      };
      const onExit = () => {
        done();
        if (signal?.aborted || this.#closed) resolve(undefined);
        else reject(this.#failure ?? new Error('the folder listing thread ended without an answer'));
      };
      const stop = () => void this.#end(worker);
      signal?.addEventListener('abort', stop, { once: true });
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.postMessage(root);
    });
  }

  /** Ends the thread (a listing under way resolves undefined). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#worker !== undefined) await this.#end(this.#worker);
  }

  #start(): Worker {
    const worker = new Worker(moduleBeside(import.meta.url, 'folder-mtimes-worker'));
    worker.unref();
    this.#failure = undefined;
    worker.on('error', (error) => {
      this.#failure = error;
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
    });
    return worker;
  }

  async #end(worker: Worker): Promise<void> {
    if (this.#worker === worker) this.#worker = undefined;
    await worker.terminate();
  }
}
