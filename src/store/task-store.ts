// TaskStore: safe reads of task folders for the API and the CLI. Ids are checked, each read opens the task's folder
// without following links and its files through that handle (src/contract/safe-open.ts), so no request reads outside
// the logs folder, through a link, or from a FIFO. Small JSON files are cached, bounded by bytes.

import { lstatSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { gunzipFile } from '../contract/gunzip-file.ts';
import { isUnsafePath, type OpenFolder, openTaskFolder, readAll } from '../contract/safe-open.ts';
import type { TaskFileName } from '../contract/task-files.ts';
import { parseTaskId } from '../contract/task-id.ts';
import { type FollowEvent, type FollowOptions, followLines } from './follow-lines.ts';
import { type Line, linesOf, type ReadLinesOptions, readLines } from './line-reader.ts';

// a folder found to be a real directory is trusted this long before it is checked again (for 404s only: every read
// opens the folder anew without following links)
const FOLDER_TTL_MS = 1000;
const FOLDER_CACHE_LIMIT = 2000;
// the JSON cache: bounded by bytes, and a file above the per-file limit is read each time, never kept
const CACHE_BYTES = 16 * 1024 * 1024;
const CACHE_FILE_BYTES = 256 * 1024;

interface CachedFile {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  text: string;
}

/** A JSONL file of a task opened for reading: its compressed part (if any) and its plain part (if any). */
export interface OpenedJsonl {
  gz: FileHandle | undefined;
  plain: FileHandle | undefined;
  close(): Promise<void>;
}

export class TaskStore {
  readonly root: string;
  readonly #folders = new Map<string, number>();
  // small JSON files by path, valid while device, inode, size and mtime match (every write renames a new inode in);
  // a Map kept in least-recently-used order
  readonly #files = new Map<string, CachedFile>();
  #cachedBytes = 0;

  constructor(root: string) {
    this.root = root;
  }

  /** The task's folder; TASK_ID_INVALID for an unsafe id, TASK_NOT_FOUND when there is no such real folder. */
  async folder(rawTaskId: string): Promise<string> {
    const taskId = parseTaskId(rawTaskId);
    const dir = join(this.root, taskId);
    const checked = this.#folders.get(dir);
    if (checked !== undefined && performance.now() - checked < FOLDER_TTL_MS) return dir;
    const stat = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (stat === undefined || !stat.isDirectory()) {
      this.#folders.delete(dir);
      throw notFound(taskId);
    }
    if (this.#folders.size >= FOLDER_CACHE_LIMIT) this.#folders.clear();
    this.#folders.set(dir, performance.now());
    return dir;
  }

  /** Runs fn with the task's folder open (never through a link); TASK_NOT_FOUND when it is not a real folder. */
  async withFolder<T>(rawTaskId: string, fn: (folder: OpenFolder) => Promise<T>): Promise<T> {
    const taskId = parseTaskId(rawTaskId);
    let folder: OpenFolder;
    try {
      folder = await openTaskFolder(this.root, taskId);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || isUnsafePath(error)) throw notFound(taskId);
      throw error;
    }
    try {
      return await fn(folder);
    } catch (error) {
      throw folder.explain(error);
    } finally {
      await folder.close();
    }
  }

  /** A JSON file of the task, parsed; undefined while it is not written yet (or is not a regular file). */
  async readJson<T>(rawTaskId: string, file: TaskFileName): Promise<T | undefined> {
    const text = await this.readJsonText(rawTaskId, file);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /** A JSON file of the task as its text (checked to be JSON), from a cache while the file is unchanged. */
  async readJsonText(rawTaskId: string, file: TaskFileName): Promise<string | undefined> {
    const path = join(await this.folder(rawTaskId), file);
    const cached = this.#files.get(path);
    if (cached !== undefined) {
      // the fast path compares metadata only; content is only ever read through the open folder below. A plain
      // lstat of a file just read is answered from the kernel's inode cache: done synchronously it costs a few µs,
      // where the thread-pool round trip of an async one was most of the request's CPU (as the index's SQLite reads,
      // it runs on the event loop)
      const stat = statQuietly(path);
      if (
        stat?.isFile() &&
        stat.dev === cached.dev &&
        stat.ino === cached.ino &&
        stat.size === cached.size &&
        stat.mtimeMs === cached.mtimeMs
      ) {
        this.#files.delete(path); // to the young end of the LRU order
        this.#files.set(path, cached);
        return cached.text;
      }
      this.#forget(path);
    }
    return this.withFolder(rawTaskId, async (folder) => {
      const handle = await openOrSkip(folder, file);
      if (handle === undefined) return undefined;
      try {
        const stat = await handle.stat();
        const text = (await readAll(handle)).toString('utf8');
        checkJson(text, parseTaskId(rawTaskId), file); // files are renamed in whole: one that fails was damaged
        if (stat.size <= CACHE_FILE_BYTES) {
          this.#remember(path, {
            dev: stat.dev,
            ino: stat.ino,
            size: stat.size,
            mtimeMs: stat.mtimeMs,
            text,
          });
        }
        return text;
      } finally {
        await handle.close();
      }
    });
  }

  #remember(path: string, entry: CachedFile): void {
    this.#forget(path);
    this.#files.set(path, entry);
    this.#cachedBytes += entry.size;
    while (this.#cachedBytes > CACHE_BYTES) this.#forget(this.#files.keys().next().value!);
  }

  #forget(path: string): void {
    const old = this.#files.get(path);
    if (old === undefined) return;
    this.#files.delete(path);
    this.#cachedBytes -= old.size;
  }

  /** Bytes of file text the JSON cache holds (bounded). */
  get cachedBytes(): number {
    return this.#cachedBytes;
  }

  /** Opens a JSONL file's compressed and plain parts (both may exist: a line written after compression). */
  async openJsonl(rawTaskId: string, file: TaskFileName): Promise<OpenedJsonl> {
    return this.withFolder(rawTaskId, async (folder) => {
      const gz = await openOrSkip(folder, `${file}.gz`);
      let plain: FileHandle | undefined;
      try {
        plain = await openOrSkip(folder, file);
      } catch (error) {
        await gz?.close();
        throw error;
      }
      return {
        gz,
        plain,
        async close() {
          await Promise.all([gz?.close(), plain?.close()]);
        },
      };
    });
  }

  /** Whole, valid lines of a JSONL file (its .gz, then any plain lines written after), streamed. */
  async *lines(rawTaskId: string, file: TaskFileName, options: ReadLinesOptions = {}): AsyncGenerator<Line> {
    const opened = await this.openJsonl(rawTaskId, file);
    try {
      const limit = options.limit ?? Number.POSITIVE_INFINITY;
      let returned = 0;
      let base = 0;
      if (opened.gz !== undefined) {
        const stream = gunzipFile(opened.gz);
        try {
          const gzLines = linesOf(stream, { validJsonOnly: true, ...options, limit: undefined }, (end) => {
            base = end.lastLine;
          });
          for await (const line of gzLines) {
            yield line;
            if (++returned >= limit) return;
          }
        } finally {
          stream.destroy();
        }
      }
      if (opened.plain !== undefined) {
        yield* readLines(opened.plain, {
          validJsonOnly: true,
          ...options,
          firstLineNumber: base + 1,
          limit: limit - returned,
        });
      }
    } finally {
      await opened.close();
    }
  }

  /** Follows a JSONL file live: see followLines. */
  follow(rawTaskId: string, file: TaskFileName, options: FollowOptions): AsyncGenerator<FollowEvent> {
    return followLines(this, parseTaskId(rawTaskId), file, options);
  }
}

// V8's SyntaxError quotes the text it could not parse, whatever it holds: the error names the file instead
function checkJson(text: string, taskId: string, file: TaskFileName): void {
  try {
    JSON.parse(text);
  } catch {
    throw new TaskLogsError(
      'TASK_FILE_INVALID',
      `${file} of task ${taskId} is not valid JSON (damaged, or edited by hand)`,
    );
  }
}

function notFound(taskId: string): TaskLogsError {
  return new TaskLogsError('TASK_NOT_FOUND', `task ${quote(taskId)} not found`);
}

/** The file opened for reading; undefined when absent, a link, or not a regular file (never opened blocking). */
async function openOrSkip(folder: OpenFolder, name: string): Promise<FileHandle | undefined> {
  try {
    return await folder.openFile(name, 'read');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || isUnsafePath(error)) return undefined;
    throw error;
  }
}

function statQuietly(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES...: not the cached file; the safe read below says what it is
  }
}
