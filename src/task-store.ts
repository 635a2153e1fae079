// TaskStore: safe reads of task folders for the API and the CLI. Ids are checked, folders must be real directories
// inside the logs folder, and files are opened without following symlinks, so no request reads outside it.
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quote, TaskLogsError } from './errors.ts';
import { type Line, type ReadLinesOptions, readLines } from './line-reader.ts';
import type { TaskFileName } from './task-files.ts';
import { parseTaskId } from './task-id.ts';

export class TaskStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The task's folder; TASK_ID_INVALID for an unsafe id, TASK_NOT_FOUND when there is no such real folder. */
  async folder(rawTaskId: string): Promise<string> {
    const taskId = parseTaskId(rawTaskId);
    const dir = join(this.root, taskId);
    const stat = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (stat === undefined || !stat.isDirectory()) {
      throw new TaskLogsError('TASK_NOT_FOUND', `task ${quote(taskId)} not found`);
    }
    return dir;
  }

  /** A JSON file of the task, parsed; undefined while it is not written yet (or is not a regular file). */
  async readJson<T>(rawTaskId: string, file: TaskFileName): Promise<T | undefined> {
    const handle = await this.#open(await this.folder(rawTaskId), file);
    if (handle === undefined) return undefined;
    try {
      return JSON.parse((await readFile(handle)).toString('utf8')) as T;
    } finally {
      await handle.close();
    }
  }

  /** Whole, valid lines of a JSONL file, streamed; nothing when the file is not written yet. */
  async *lines(rawTaskId: string, file: TaskFileName, options: ReadLinesOptions = {}): AsyncGenerator<Line> {
    const handle = await this.#open(await this.folder(rawTaskId), file);
    if (handle === undefined) return;
    try {
      yield* readLines(handle, { validJsonOnly: true, ...options });
    } finally {
      await handle.close();
    }
  }

  /** Opens a task file for reading; undefined when absent, a symlink, or not a regular file. */
  async openFile(rawTaskId: string, file: TaskFileName): Promise<FileHandle | undefined> {
    return this.#open(await this.folder(rawTaskId), file);
  }

  async #open(dir: string, file: TaskFileName): Promise<FileHandle | undefined> {
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted in a task folder is refused (ELOOP), never followed out of the logs folder
      handle = await open(join(dir, file), constants.O_RDONLY | constants.O_NOFOLLOW);
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
