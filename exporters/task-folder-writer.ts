// TaskFolderWriter: one flush's changes to one task folder, written through the open folder with the no-follow checks.
// It says what became of them (written, failed, deleted); the counting, drops and retries are the caller's.
import { join } from 'node:path';
import { TaskLogsError } from '../src/contract/errors.ts';
import { forEachLimited } from '../src/contract/for-each-limited.ts';
import { TASK_FILES, type TaskMetadata, TOMBSTONE_DIR } from '../src/contract/task-files.ts';
import { writeJsonAtomic } from './atomic-json.ts';
import type { FileSystem, OpenFolder } from './file-system.ts';
import { JsonlAppender } from './jsonl-appender.ts';
import { MetadataFile } from './metadata-file.ts';
import type { TaskChanges } from './task-changes.ts';

const KNOWN_LIMIT = 50_000;

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
  async apply(changes: TaskChanges, onLinesWritten?: () => void): Promise<FolderOutcome> {
    const path = join(this.#root, changes.taskId);
    // a writer thread stopped while writing this task: its last lines may be half there, so ours start a new line
    if (changes.torn === true)
      for (const name of [TASK_FILES.webhookFlow, TASK_FILES.agentOutput])
        this.#lines.markTorn(inFolder(path, name));
    let folder: OpenFolder | undefined;
    let dir: 'created' | 'exists' | 'deleted';
    try {
      dir = await this.#ensureDir(changes, path);
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
    try {
      return await this.#applyIn(folder, changes, dir === 'created', onLinesWritten);
    } finally {
      await folder.close().catch(() => undefined); // closing a directory handle has nothing left to report
    }
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
   */
  async #ensureDir(changes: TaskChanges, dir: string): Promise<'created' | 'exists' | 'deleted'> {
    if (this.#dirs.has(changes.taskId)) return 'exists';
    const creates = changes.input !== undefined || changes.metadata?.status === 'queued';
    const tombstoned = () => this.#exists(join(this.#root, TOMBSTONE_DIR, changes.taskId));
    if (!creates && !(await this.#exists(dir)) && (await tombstoned())) return 'deleted';
    const created = (await this.#fs.mkdir(dir)) === true;
    // retention may have deleted the task between the check above and the mkdir (it writes the tombstone before it
    // moves the folder away): a folder this call made for a tombstoned task is taken back (if nothing is in it yet)
    if (created && !creates && (await tombstoned())) {
      await this.#fs.rmdir(dir).catch(() => undefined);
      return 'deleted';
    }
    if (this.#dirs.size >= KNOWN_LIMIT) this.#dirs.clear();
    this.#dirs.add(changes.taskId);
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
    close: async () => undefined,
  };
}
