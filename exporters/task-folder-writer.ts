// TaskFolderWriter: one flush's changes to one task folder, written through the open folder with the no-follow checks.
// It says what became of them (written, failed, deleted); the counting, drops and retries are the caller's.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TaskLogsError } from '../src/contract/errors.ts';
import { forEachLimited } from '../src/contract/for-each-limited.ts';
import { isNewFolderLeftover, NEW_FOLDERS_DIR } from '../src/contract/new-folders.ts';
import { isUnsafePath } from '../src/contract/safe-open.ts';
import { TASK_FILES, type TaskMetadata, TOMBSTONE_DIR } from '../src/contract/task-files.ts';
import { writeJsonAtomic } from './atomic-json.ts';
import type { FileSystem, OpenFolder } from './file-system.ts';
import { JsonlAppender } from './jsonl-appender.ts';
import { MetadataFile } from './metadata-file.ts';
import type { TaskChanges } from './task-changes.ts';

export { NEW_FOLDERS_DIR };

const KNOWN_LIMIT = 50_000;

/** Leftovers in NEW_FOLDERS_DIR are looked at and removed this many at most, or for this long, in one turn of the
 * event loop (see #clearLeftovers). */
const CLEAR_SLICE = 32;
const CLEAR_SLICE_MS = 4;
/** After NEW_FOLDERS_DIR could not be opened (a link, a full disk), new folders are made in place for this long. */
const NEW_FOLDERS_RETRY_MS = 60_000;
// rename's answers when the task's name is taken: by a folder with files in it (another writer made the task
// first), or by something that is no folder (a link, a file: the usual path refuses it)
const NAME_TAKEN = new Set(['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR']);
// ...or the temporary folder is gone (removed as stale by a writer on another host that shares the folder): the
// usual path writes the changes
const WRITE_IN_PLACE = new Set([...NAME_TAKEN, 'ENOENT']);

// A file's path in a task folder. The folder's path is already normal (the root joined with a checked task id, or
// /proc/self/fd/N) and the names are the contract's plain names, so this is what path.join gives, without its
// normalizing pass over the whole path (about a dozen joins per new task, ~10% of the writer thread's JS).
const inFolder = (dir: string, name: string): string => `${dir}/${name}`;

export type FolderOutcome =
  | {
      readonly kind: 'written';
      readonly metadata: TaskMetadata | undefined;
      /** the folder's mtime after the writes, when metadata or a result was written (what the task index records) */
      readonly folderMtimeMs?: number | undefined;
      /** a writer thread put the task's row in the task index itself */
      readonly indexed?: boolean;
    }
  /** retention deleted the task: its late telemetry is dropped, not written into a new folder */
  | { readonly kind: 'deleted' }
  /** `keep`: the JSON state (metadata, input, result) did not land and is to be tried again */
  | {
      readonly kind: 'failed';
      readonly what: 'folder' | 'lines' | 'files';
      readonly error: Error;
      readonly keep: boolean;
    };

export interface TaskFolderWriterOptions {
  root: string;
  fs: FileSystem;
  durable: boolean;
  /** a metadata.json that was not JSON, rewritten from the telemetry */
  onUnreadable: (path: string) => void;
}

export class TaskFolderWriter {
  readonly #root: string;
  readonly #fs: FileSystem;
  readonly #durable: boolean;
  // task folders known to exist
  readonly #dirs = new Set<string>();
  readonly #metadata: MetadataFile;
  readonly #lines: JsonlAppender;
  // NEW_FOLDERS_DIR held open, and when to try opening it again after it could not be
  #newFoldersDir: OpenFolder | undefined;
  #newFoldersRetryAt = 0;
  #openingNewFolders: Promise<OpenFolder | undefined> | undefined;
  // the removal of leftovers in NEW_FOLDERS_DIR, started once, and whether the writer closed (it stops then)
  #clearing: Promise<void> | undefined;
  #clearingIn: OpenFolder | undefined;
  #closed = false;
  // how the names of this process's new folders begin
  readonly #ownPrefix = `${process.pid}.`;
  // this writer's part of its new folders' names, and their count
  readonly #token = randomBytes(4).toString('hex');
  #made = 0;

  constructor(options: TaskFolderWriterOptions) {
    this.#root = options.root;
    this.#fs = options.fs;
    this.#durable = options.durable;
    this.#lines = new JsonlAppender(options.fs);
    this.#metadata = new MetadataFile({
      fs: options.fs,
      durable: options.durable,
      onUnreadable: options.onUnreadable,
    });
  }

  /** Writes one task's changes: lines and input/result side by side, metadata last (so "completed" means all is there). */
  apply(changes: TaskChanges, onLinesWritten?: () => void): Promise<FolderOutcome> {
    return this.#apply(changes, onLinesWritten, false);
  }

  async #apply(
    changes: TaskChanges,
    onLinesWritten: (() => void) | undefined,
    retried: boolean,
  ): Promise<FolderOutcome> {
    const path = join(this.#root, changes.taskId);
    let retry = false;
    // a writer thread stopped while writing this task: its last lines may be half there, so ours start a new line
    if (changes.torn === true)
      for (const name of [TASK_FILES.webhookFlow, TASK_FILES.agentOutput])
        this.#lines.markTorn(inFolder(path, name));
    let there = false;
    if (!this.#dirs.has(changes.taskId) && !this.#durable && writesAFile(changes)) {
      const made = await this.#makeFolder(changes, path, onLinesWritten);
      if (made === 'there') there = true;
      else if (made !== undefined) return made;
    }
    let folder: OpenFolder | undefined;
    let dir: 'created' | 'exists' | 'deleted';
    try {
      dir = await this.#ensureDir(changes, path, there);
      if (dir === 'exists') {
        try {
          folder = await this.#fs.openFolder(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          // the folder this writer knew was removed meanwhile (retention, or by hand): looked at afresh
          this.#dirs.delete(changes.taskId);
          dir = await this.#ensureDir(changes, path);
        }
      }
      if (dir === 'deleted') return { kind: 'deleted' };
      // a link or non-directory is refused here (UNSAFE_PATH), never followed
      folder ??= await this.#fs.openFolder(path);
    } catch (error) {
      return this.#failed('folder', error, true, changes);
    }
    let outcome: FolderOutcome;
    try {
      outcome = await this.#applyIn(folder, changes, dir === 'created', onLinesWritten);
      // A folder this call made empty can be replaced before its first file lands: rename(2) replaces an empty
      // folder, and another writer's new folder (see #makeFolder) may arrive by rename just then. Files cannot be
      // created in the replaced folder (ENOENT), so nothing of ours is there: the changes go into the folder now in
      // place, once.
      if (
        !retried &&
        dir === 'created' &&
        outcome.kind === 'failed' &&
        (outcome.error as NodeJS.ErrnoException).code === 'ENOENT' &&
        (await folder.stat().then(
          (stats) => stats.nlink === 0,
          () => false,
        ))
      ) {
        this.#dirs.delete(changes.taskId);
        retry = true;
      }
    } finally {
      await folder.close().catch(() => undefined); // closing a directory handle has nothing left to report
    }
    return retry ? this.#apply(changes, onLinesWritten, true) : outcome;
  }

  // every path goes through the open folder (/proc/self/fd/N/...): a folder swapped for a link is never entered
  async #applyIn(
    folder: OpenFolder,
    changes: TaskChanges,
    fresh: boolean,
    onLinesWritten: (() => void) | undefined,
  ): Promise<FolderOutcome> {
    const dir = folder.path;
    const durable = this.#durable;
    // creating a file is the costly step on many disks, so the independent files are written concurrently
    const webhookFlow = inFolder(dir, TASK_FILES.webhookFlow);
    const agentOutput = inFolder(dir, TASK_FILES.agentOutput);
    const webhookOptions = {
      sync: durable && changes.ended,
      key: inFolder(folder.dir, TASK_FILES.webhookFlow),
      fresh,
    };
    const outputOptions = {
      sync: durable && changes.ended,
      key: inFolder(folder.dir, TASK_FILES.agentOutput),
      fresh,
    };
    const encoded = changes.encoded;
    const [lines, files] = await Promise.allSettled([
      Promise.all(
        encoded === undefined
          ? [
              this.#lines.append(webhookFlow, changes.webhookLines, webhookOptions),
              this.#lines.append(agentOutput, changes.outputLines, outputOptions),
            ]
          : [
              this.#lines.appendEncoded(webhookFlow, encoded.webhook, webhookOptions),
              this.#lines.appendEncoded(agentOutput, encoded.output, outputOptions),
            ],
      ).then(onLinesWritten),
      Promise.all([
        changes.input &&
          writeJsonAtomic(this.#fs, inFolder(dir, TASK_FILES.input), changes.input, { durable }),
        changes.finalResult &&
          writeJsonAtomic(this.#fs, inFolder(dir, TASK_FILES.finalResult), changes.finalResult, { durable }),
      ]),
    ]);
    let failure: unknown;
    let metadata: TaskMetadata | undefined;
    if (files.status === 'fulfilled') {
      try {
        if (changes.metadata !== undefined)
          metadata = await this.#metadata.write(changes.taskId, dir, changes.metadata);
        if (changes.ended && durable) await this.#fs.syncDir(dir);
      } catch (error) {
        failure = error;
      }
    } else {
      failure = files.reason;
    }
    const keep = failure !== undefined;
    if (lines.status === 'rejected') failure ??= lines.reason;
    if (failure !== undefined)
      return this.#failed(
        lines.status === 'rejected' ? 'lines' : 'files',
        folder.explain(failure),
        keep,
        changes,
      );
    // the index's row will say what was just written: with the folder's mtime as of now, the index refresh knows the
    // folder unchanged since (it recorded each such mtime itself, 20,000 row updates on the event loop after a burst)
    if (metadata === undefined && changes.finalResult === undefined) return { kind: 'written', metadata };
    const folderMtimeMs = await folder.stat().then(
      (stats) => stats.mtimeMs,
      () => undefined, // the refresh records it then, as it did
    );
    return { kind: 'written', metadata, folderMtimeMs };
  }

  /**
   * A task folder that is not there yet is made whole where no reader looks (NEW_FOLDERS_DIR), then renamed into
   * place: a reader never sees it half made, and its files need no temporary file and rename each (or link and unlink
   * for metadata.json): on a disk each such call costs more than the file itself. Undefined: the folder is there
   * already (another writer made it first: rename refuses a folder with files in it), or this way is not open (see
   * #newFolders); the usual path then writes the changes into the folder as it is ('there': the folder was seen). Every
   * folder a writer makes has a file in it from the moment it is in place, so a rename never replaces another
   * writer's (empty) folder.
   */
  async #makeFolder(
    changes: TaskChanges,
    path: string,
    onLinesWritten: (() => void) | undefined,
  ): Promise<FolderOutcome | 'there' | undefined> {
    const fs = this.#fs;
    const taskId = changes.taskId;
    // late telemetry (no input, no queued status) makes no folder for a task retention deleted, as #ensureDir
    const creates = changes.input !== undefined || changes.metadata?.status === 'queued';
    try {
      if (!creates && (await this.#exists(path))) return 'there';
      if (!creates && (await this.#tombstoned(taskId))) return undefined;
    } catch {
      return undefined; // the usual path says what is wrong
    }
    let parent: OpenFolder | undefined;
    let folder: OpenFolder;
    let temp = '';
    try {
      parent = await this.#newFolders();
      if (parent === undefined) return undefined;
      temp = `${parent.path}/${process.pid}.${this.#token}.${(this.#made++).toString(36)}.${taskId}`;
      await fs.mkdir(temp);
      folder = await fs.openFolder(temp);
    } catch (error) {
      if (parent !== undefined) await fs.rmdir(temp).catch(() => undefined);
      // NEW_FOLDERS_DIR removed or swapped meanwhile: opened afresh next time, and this task written the usual way
      this.#closeNewFolders();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || isUnsafePath(error)) return undefined;
      // a disk error is this task's, as a failed mkdir of its folder would be: counted, its JSON state kept
      return this.#failed('folder', error, true, changes);
    }
    // a message names the task's folder, not the temporary one
    const explain = (error: unknown) => {
      const err = asError(error);
      if (err.message.includes(folder.path)) err.message = err.message.replaceAll(folder.path, path);
      return err;
    };
    const made: string[] = [];
    let metadata: TaskMetadata | undefined;
    try {
      const dir = folder.path;
      const lineOptions = { sync: false, fresh: true };
      // the lines as the thread gets them (encoded) or as strings (this thread)
      const appendTo = (
        name: string,
        bytes: readonly Uint8Array[] | undefined,
        strings: readonly string[],
      ) => {
        if (bytes === undefined ? strings.length === 0 : bytes.length === 0) return undefined;
        made.push(name);
        const file = inFolder(dir, name);
        return bytes === undefined
          ? this.#lines.append(file, strings, lineOptions)
          : this.#lines.appendEncoded(file, bytes, lineOptions);
      };
      const encoded = changes.encoded;
      const lines = Promise.all([
        appendTo(TASK_FILES.webhookFlow, encoded?.webhook, changes.webhookLines),
        appendTo(TASK_FILES.agentOutput, encoded?.output, changes.outputLines),
      ]);
      const json = (name: string, value: unknown) => {
        made.push(name);
        return fs.writeNew(inFolder(dir, name), Buffer.from(`${JSON.stringify(value)}\n`), { sync: false });
      };
      if (changes.metadata !== undefined) metadata = this.#metadata.firstFile(taskId, changes.metadata);
      const files = Promise.all([
        changes.input && json(TASK_FILES.input, changes.input),
        changes.finalResult && json(TASK_FILES.finalResult, changes.finalResult),
        metadata && json(TASK_FILES.metadata, metadata),
      ]);
      const [linesDone, filesDone] = await Promise.allSettled([lines, files]);
      if (linesDone.status === 'rejected' || filesDone.status === 'rejected') {
        await this.#discard(folder, temp, made);
        // nothing reached the task: its JSON state is tried again, its lines are counted as dropped
        const lost = linesDone.status === 'rejected' ? linesDone : (filesDone as PromiseRejectedResult);
        return this.#failed(
          linesDone.status === 'rejected' ? 'lines' : 'files',
          explain(lost.reason),
          true,
          changes,
        );
      }
      // retention may have deleted the task since the check above (it writes the tombstone first)
      if (!creates && (await this.#tombstoned(taskId))) {
        await this.#discard(folder, temp, made);
        return { kind: 'deleted' };
      }
      await fs.rename(temp, path);
    } catch (error) {
      await this.#discard(folder, temp, made);
      if (WRITE_IN_PLACE.has((error as NodeJS.ErrnoException).code ?? '')) return undefined;
      return this.#failed('folder', explain(error), true, changes);
    }
    this.#know(taskId);
    if (metadata !== undefined) this.#metadata.created(taskId);
    try {
      onLinesWritten?.();
      if (metadata === undefined && changes.finalResult === undefined) return { kind: 'written', metadata };
      const folderMtimeMs = await folder.stat().then(
        (stats) => stats.mtimeMs,
        () => undefined,
      );
      return { kind: 'written', metadata, folderMtimeMs };
    } finally {
      await folder.close().catch(() => undefined);
    }
  }

  // a temporary folder that will not be renamed into place: its files (all ours) and itself removed
  async #discard(folder: OpenFolder, temp: string, names: readonly string[]): Promise<void> {
    for (const name of names) await this.#fs.unlink(inFolder(folder.path, name)).catch(() => undefined);
    await folder.close().catch(() => undefined);
    // left behind if this fails: the next writer to start removes it once it is stale
    await this.#fs.rmdir(temp).catch(() => undefined);
  }

  /** NEW_FOLDERS_DIR, held open (a link there is refused, never followed); made on first use, when the removal of its
   * folders whose writer is gone (killed mid-write) or that are stale starts beside the writes (see #clearLeftovers).
   * Undefined while something that is no folder has its name; a disk error is thrown. */
  #newFolders(): Promise<OpenFolder | undefined> {
    if (this.#newFoldersDir !== undefined) return Promise.resolve(this.#newFoldersDir);
    if (Date.now() < this.#newFoldersRetryAt) return Promise.resolve(undefined);
    // the first flush's tasks come here side by side: one of them opens the folder, the others wait for it
    this.#openingNewFolders ??= this.#openNewFolders().finally(() => {
      this.#openingNewFolders = undefined;
    });
    return this.#openingNewFolders;
  }

  async #openNewFolders(): Promise<OpenFolder | undefined> {
    const path = join(this.#root, NEW_FOLDERS_DIR);
    try {
      await this.#fs.mkdir(path);
      this.#newFoldersDir = await this.#fs.openFolder(path);
    } catch (error) {
      // a link or a file there (UNSAFE_PATH) is never used: task folders are made the usual way meanwhile
      if (!isUnsafePath(error)) throw error;
      this.#newFoldersRetryAt = Date.now() + NEW_FOLDERS_RETRY_MS;
      return undefined;
    }
    // leftovers that could not be removed are tried again at the next writer's start: nothing is lost meanwhile
    this.#clearing ??= this.#clearLeftovers(this.#newFoldersDir).catch(() => undefined);
    return this.#newFoldersDir;
  }

  /** Resolves once the removal of leftovers that this writer's first new folder started has ended (all removed, or
   * the writer closed); at once if it has not started. For tests. */
  leftoversCleared(): Promise<void> {
    return this.#clearing ?? Promise.resolve();
  }

  /**
   * Removes the folders in NEW_FOLDERS_DIR whose writer is gone (its pid names no process here) or that are stale,
   * after the write that opened it and in slices of at most CLEAR_SLICE folders or CLEAR_SLICE_MS, each in a turn of
   * the event loop of its own: tens of thousands of leftovers (a writer killed again and again) never hold up a
   * write, nor the event loop (on the writer thread the calls are synchronous: a flush there runs whole between two
   * slices). A folder of a live writer here, not yet stale, is kept. Stops when the writer closes.
   */
  async #clearLeftovers(parent: OpenFolder): Promise<void> {
    // the writer's handle on NEW_FOLDERS_DIR, let go by the writer (closed, or .new~ found gone or swapped) while this
    // works through it: closed here then, when this stops at its next step, so no call of it finds its number reused
    this.#clearingIn = parent;
    const stopped = () => this.#closed || this.#newFoldersDir !== parent;
    try {
      await nextTurn();
      if (stopped()) return;
      const names = await this.#fs.list(parent.path);
      const now = Date.now();
      let sliceStart = performance.now();
      let inSlice = 0;
      for (const name of names) {
        if (inSlice >= CLEAR_SLICE || performance.now() - sliceStart >= CLEAR_SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
          inSlice = 0;
        }
        if (stopped()) return;
        // this process's writers are alive: their folders are in the making (one a failed discard left is the next
        // writer's to remove once stale)
        if (name.startsWith(this.#ownPrefix)) continue;
        inSlice++;
        const path = inFolder(parent.path, name);
        const ageMs = await this.#fs.mtimeMs(path).then(
          (mtime) => now - mtime,
          () => 0,
        );
        if (isNewFolderLeftover(name, ageMs)) await this.#fs.removeTree(path).catch(() => undefined);
      }
    } finally {
      this.#clearingIn = undefined;
      if (this.#newFoldersDir !== parent) await parent.close().catch(() => undefined);
    }
  }

  #closeNewFolders(): void {
    const open = this.#newFoldersDir;
    this.#newFoldersDir = undefined;
    // one the clearing of leftovers works through is closed by it (see #clearLeftovers)
    if (open !== this.#clearingIn) open?.close().catch(() => undefined);
  }

  /** Lets go of what this writer holds open, and stops the removal of leftovers (the next writer does the rest). */
  close(): void {
    this.#closed = true;
    this.#closeNewFolders();
  }

  #know(taskId: string): void {
    if (this.#dirs.size >= KNOWN_LIMIT) this.#dirs.clear();
    this.#dirs.add(taskId);
  }

  #tombstoned(taskId: string): Promise<boolean> {
    return this.#exists(join(this.#root, TOMBSTONE_DIR, taskId));
  }

  #failed(
    what: 'folder' | 'lines' | 'files',
    error: unknown,
    keep: boolean,
    changes: TaskChanges,
  ): FolderOutcome {
    // the folder may be gone or unwritable: check it again next time
    if (keep) this.#dirs.delete(changes.taskId);
    return { kind: 'failed', what, error: asError(error), keep };
  }

  /**
   * Makes sure the task's folder exists. deleted: the folder is gone and retention left a tombstone for it, so this
   * is late telemetry of a deleted task and must not bring the folder back. A batch that creates the task (its
   * input or its queued status) is a task started again under the same id, and is written. created: this call made
   * the folder, so its files are most likely new (they are then created without the checks an existing file needs).
   * `seen`: the folder was there a moment ago (not looked for again).
   */
  async #ensureDir(
    changes: TaskChanges,
    dir: string,
    seen = false,
  ): Promise<'created' | 'exists' | 'deleted'> {
    if (this.#dirs.has(changes.taskId)) return 'exists';
    const creates = changes.input !== undefined || changes.metadata?.status === 'queued';
    const tombstoned = () => this.#tombstoned(changes.taskId);
    if (!creates && !seen && !(await this.#exists(dir)) && (await tombstoned())) return 'deleted';
    const created = (await this.#fs.mkdir(dir)) === true;
    // retention may have deleted the task between the check above and the mkdir (it writes the tombstone before it
    // moves the folder away): a folder this call made for a tombstoned task is taken back (if nothing is in it yet)
    if (created && !creates && (await tombstoned())) {
      await this.#fs.rmdir(dir).catch(() => undefined);
      return 'deleted';
    }
    this.#know(changes.taskId);
    return created ? 'created' : 'exists';
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.#fs.mtimeMs(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}

/** The error a deleted task's dropped telemetry is answered with. */
export function taskDeletedError(taskId: string): TaskLogsError {
  return new TaskLogsError('TELEMETRY_DROPPED', `task ${taskId} was deleted`);
}

/** Whether the changes write a file (a task folder made for nothing is made the usual way). */
function writesAFile(changes: TaskChanges): boolean {
  const encoded = changes.encoded;
  return (
    changes.metadata !== undefined ||
    changes.input !== undefined ||
    changes.finalResult !== undefined ||
    (encoded === undefined
      ? changes.webhookLines.length > 0 || changes.outputLines.length > 0
      : encoded.webhook.length > 0 || encoded.output.length > 0)
  );
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Where a flush's folder writes run: here, or in a writer thread. One call in flight at a time. */
export interface FolderWrites {
  /** one outcome per task, in order; never rejects. The tasks' lines may be let go (emptied) once they are encoded */
  write(tasks: readonly TaskChanges[]): Promise<FolderOutcome[]>;
  /** stops (a thread) once the last write has answered */
  close(): Promise<void>;
}

/** The folder writes on this thread, `concurrency` task folders at a time. */
export function inProcessFolders(options: TaskFolderWriterOptions, concurrency: number): FolderWrites {
  const folders = new TaskFolderWriter(options);
  return {
    async write(tasks) {
      const outcomes: FolderOutcome[] = new Array(tasks.length);
      await forEachLimited(tasks, concurrency, async (changes, i) => {
        outcomes[i] = await folders.apply(changes);
      });
      return outcomes;
    },
    close: async () => folders.close(),
  };
}
