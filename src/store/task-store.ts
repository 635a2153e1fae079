// TaskStore: safe reads of task folders for the API and the CLI. Ids are checked, folders must be real directories
// inside the logs folder, and files are opened without following symlinks, so no request reads outside it.
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { quote, TaskLogsError } from '../contract/errors.ts';
import type { TaskFileName } from '../contract/task-files.ts';
import { parseTaskId } from '../contract/task-id.ts';
import { type Line, linesOf, type ReadLinesOptions, readLines } from './line-reader.ts';

// a folder found to be a real directory is trusted this long before it is checked again
const FOLDER_TTL_MS = 1000;
const CACHE_LIMIT = 2000;

interface CachedFile {
  ino: number;
  size: number;
  mtimeMs: number;
  text: string;
}

export class TaskStore {
  readonly root: string;
  readonly #folders = new Map<string, number>();
  // small JSON files by path, valid while inode, size and mtime match (every write renames a new inode in)
  readonly #files = new Map<string, CachedFile>();

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
      throw new TaskLogsError('TASK_NOT_FOUND', `task ${quote(taskId)} not found`);
    }
    if (this.#folders.size >= CACHE_LIMIT) this.#folders.clear();
    this.#folders.set(dir, performance.now());
    return dir;
  }

  /** A JSON file of the task, parsed; undefined while it is not written yet (or is not a regular file). */
  async readJson<T>(rawTaskId: string, file: TaskFileName): Promise<T | undefined> {
    const text = await this.readJsonText(rawTaskId, file);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /** A JSON file of the task as its text (checked to be JSON), from a cache while the file is unchanged. */
  async readJsonText(rawTaskId: string, file: TaskFileName): Promise<string | undefined> {
    const path = join(await this.folder(rawTaskId), file);
    const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (stat === undefined || !stat.isFile()) return undefined;
    const cached = this.#files.get(path);
    if (cached && cached.ino === stat.ino && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs) {
      return cached.text;
    }
    const handle = await this.#openPath(path);
    if (handle === undefined) return undefined;
    let entry: CachedFile;
    try {
      const opened = await handle.stat();
      const text = (await readFile(handle)).toString('utf8');
      JSON.parse(text); // files are renamed in whole, so this holds; a hand-edited broken file is an error, not a reply
      entry = { ino: opened.ino, size: opened.size, mtimeMs: opened.mtimeMs, text };
    } finally {
      await handle.close();
    }
    if (this.#files.size >= CACHE_LIMIT) this.#files.delete(this.#files.keys().next().value!);
    this.#files.set(path, entry);
    return entry.text;
  }

  /** Whole, valid lines of a JSONL file (or its .gz, once compressed), streamed; nothing when not written yet. */
  async *lines(rawTaskId: string, file: TaskFileName, options: ReadLinesOptions = {}): AsyncGenerator<Line> {
    const dir = await this.folder(rawTaskId);
    const handle = await this.#open(dir, file);
    if (handle !== undefined) {
      try {
        yield* readLines(handle, { validJsonOnly: true, ...options });
      } finally {
        await handle.close();
      }
      return;
    }
    const gz = await this.#openPath(join(dir, `${file}.gz`));
    if (gz === undefined) return;
    const stream = gz.createReadStream().pipe(createGunzip());
    try {
      yield* linesOf(stream, { validJsonOnly: true, ...options });
    } finally {
      stream.destroy();
      await gz.close().catch(() => undefined); // the read stream may have closed it already
    }
  }

  /** True when the file has been compressed (only its .gz is there). */
  async isCompressed(rawTaskId: string, file: TaskFileName): Promise<boolean> {
    const dir = await this.folder(rawTaskId);
    const plain = await lstat(join(dir, file)).catch(() => undefined);
    if (plain !== undefined) return false;
    return (await lstat(join(dir, `${file}.gz`)).catch(() => undefined))?.isFile() === true;
  }

  /** Opens a task file for reading; undefined when absent, a symlink, or not a regular file. */
  async openFile(rawTaskId: string, file: TaskFileName): Promise<FileHandle | undefined> {
    return this.#open(await this.folder(rawTaskId), file);
  }

  async #open(dir: string, file: TaskFileName): Promise<FileHandle | undefined> {
    return this.#openPath(join(dir, file));
  }

  async #openPath(path: string): Promise<FileHandle | undefined> {
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted in a task folder is refused (ELOOP), never followed out of the logs folder
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return undefined;
      throw error;
    }
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return undefined;
    }
    return handle;
  }
}
