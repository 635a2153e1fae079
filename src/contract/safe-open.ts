// Opening task folders and task files without following a link at any path component. A folder is opened with
// O_DIRECTORY|O_NOFOLLOW and its files are reached through that open handle (/proc/self/fd/N/<name> on Linux), so a
// folder swapped for a symlink after the check is never entered; each file is opened O_NOFOLLOW|O_NONBLOCK and
// checked with fstat to be a regular file, so a FIFO or device named like a task file is refused at once, never
// waited on. Used by the writer, the store and maintenance alike.
import {
  closeSync,
  constants,
  existsSync,
  close as fsClose,
  open as fsOpen,
  fstat,
  fstatSync,
  lstatSync,
  openSync,
  type Stats,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { quote, TaskLogsError } from './errors.ts';

const { O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } =
  constants;
const O_NOCTTY = constants.O_NOCTTY ?? 0;

// Without /proc (not Linux) files are opened by their path: only the last component is then guarded.
const FD_PATHS = existsSync('/proc/self/fd');

export type OpenMode =
  /** read only */
  | 'read'
  /** read and write (repair cuts through the handle it read with) */
  | 'readWrite'
  /** append, creating the file if absent */
  | 'append'
  /** append, creating the file if absent, and read (a torn file's last byte is looked at before the append) */
  | 'appendRead'
  /** create a new file, failing with EEXIST if anything has the name */
  | 'createNew'
  /** create a new file for appending (O_APPEND: another process that opens it later appends after us), failing
   * with EEXIST if anything has the name */
  | 'appendNew';

const FLAGS: Record<OpenMode, number> = {
  read: O_RDONLY,
  readWrite: O_RDWR,
  append: O_WRONLY | O_APPEND | O_CREAT,
  appendRead: O_RDWR | O_APPEND | O_CREAT,
  createNew: O_WRONLY | O_CREAT | O_EXCL,
  appendNew: O_WRONLY | O_APPEND | O_CREAT | O_EXCL,
};

// O_CREAT|O_EXCL fails with EEXIST on any name already there (a link too, whatever it points to), so what such an
// open returns is the regular file it just created: no fstat needed to check it.
const CREATES: ReadonlySet<OpenMode> = new Set(['createNew', 'appendNew']);

/** True for the error thrown when a task folder or file is a link, or not a real directory or regular file. */
export function isUnsafePath(error: unknown): boolean {
  return error instanceof TaskLogsError && error.code === 'UNSAFE_PATH';
}

function kindOf(stat: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}) {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'a device or other special file';
}

function unsafe(path: string, what: string, cause?: unknown): TaskLogsError {
  return new TaskLogsError('UNSAFE_PATH', `${quote(path)} is ${what}: skipped`, { cause });
}

/**
 * Opens a file that must be a regular file, never through a link at its last component, never blocking: a symlink,
 * FIFO, socket, device or directory is refused with UNSAFE_PATH. `label` is the path named in errors.
 */
export async function openRegularFile(
  path: string,
  mode: OpenMode,
  options: { label?: string; fileMode?: number } = {},
): Promise<FileHandle> {
  if (CREATES.has(mode)) return openChecked(path, mode, options);
  return (await openRegularFileStat(path, mode, options)).handle;
}

/** openRegularFile, also giving the fstat it checked (size, inode, mtime of what was opened). */
export async function openRegularFileStat(
  path: string,
  mode: OpenMode,
  options: { label?: string; fileMode?: number } = {},
): Promise<{ handle: FileHandle; stat: Stats }> {
  const label = options.label ?? path;
  const handle = await openChecked(path, mode, options);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw unsafe(label, kindOf(stat));
    return { handle, stat };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

// open(2) without following a link or blocking, its errors said in the task-logs way
async function openChecked(
  path: string,
  mode: OpenMode,
  options: { label?: string; fileMode?: number },
): Promise<FileHandle> {
  const label = options.label ?? path;
  try {
    return await open(path, FLAGS[mode] | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, options.fileMode ?? 0o644);
  } catch (error) {
    throw openError(error, path, label);
  }
}

// an open(2) error said in the task-logs way: a link, directory, FIFO or socket is UNSAFE_PATH
function openError(error: unknown, path: string, label: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return unsafe(label, 'a symbolic link', error);
  if (code === 'EISDIR') return unsafe(label, 'a directory', error);
  // ENXIO: a FIFO with no reader, or a socket, opened for writing
  if (code === 'ENXIO') return unsafe(label, 'a FIFO or socket', error);
  return relabel(error, path, label);
}

/**
 * openRegularFile for the writer's hot path: the same flags and checks, on a raw descriptor through the callback API
 * (no FileHandle object, one promise for open and check together). `size` is the file's size when it was opened
 * (0 for a file this call created). The caller must close the descriptor.
 */
export function openRegularFd(path: string, mode: OpenMode): Promise<{ fd: number; size: number }> {
  return new Promise((resolve, reject) => {
    fsOpen(path, FLAGS[mode] | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o644, (error, fd) => {
      if (error !== null) {
        reject(openError(error, path, path));
        return;
      }
      if (CREATES.has(mode)) {
        resolve({ fd, size: 0 });
        return;
      }
      fstat(fd, (statError, stat) => {
        const refusal = statError ?? (stat.isFile() ? null : unsafe(path, kindOf(stat)));
        if (refusal === null) {
          resolve({ fd, size: stat.size });
          return;
        }
        fsClose(fd, () => reject(refusal));
      });
    });
  });
}

/**
 * openRegularFd with synchronous calls, for a writer thread that may block on its own file operations: the same
 * flags, the same checks, the same errors.
 */
export function openRegularFdSync(path: string, mode: OpenMode): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[mode] | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o644);
  } catch (error) {
    throw openError(error, path, path);
  }
  if (CREATES.has(mode)) return { fd, size: 0 };
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw unsafe(path, kindOf(stat));
    return { fd, size: stat.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

// a synchronous call's result or error as a settled promise (no extra turn of the microtask queue)
function settle<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A task folder held open: its files are reached through the handle, whatever happens to its path meanwhile. */
export class OpenFolder {
  /** the folder's path, for messages */
  readonly dir: string;
  /** a path that reaches the open folder itself (/proc/self/fd/N), or `dir` where there is no /proc */
  readonly path: string;
  // a raw descriptor when the folder was opened synchronously (a writer thread) or by openFolderFd (the writer)
  readonly #handle: FileHandle | number;
  // a raw descriptor's stat and close: synchronous calls (a writer thread) or callbacks (the event loop)
  readonly #syncCalls: boolean;

  /** `syncCalls`: a raw descriptor's stat and close are synchronous calls (the default), else callbacks */
  constructor(dir: string, handle: FileHandle | number, options: { syncCalls?: boolean } = {}) {
    this.dir = dir;
    this.#handle = handle;
    this.#syncCalls = options.syncCalls ?? true;
    this.path = FD_PATHS ? `/proc/self/fd/${typeof handle === 'number' ? handle : handle.fd}` : dir;
  }

  /** The path of a file directly in this folder, through the open handle. */
  pathOf(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new TaskLogsError('UNSAFE_PATH', `${quote(name)} is not a file name`);
    }
    return `${this.path}/${name}`;
  }

  /** Opens a regular file in this folder (see openRegularFile). */
  openFile(name: string, mode: OpenMode, options: { fileMode?: number } = {}): Promise<FileHandle> {
    return openRegularFile(this.pathOf(name), mode, { ...options, label: join(this.dir, name) });
  }

  /** Rewrites an error's message so it names the folder's real path, not /proc/self/fd/N. */
  explain<E>(error: E): E {
    if (error instanceof Error && this.path !== this.dir && error.message.includes(this.path)) {
      error.message = error.message.replaceAll(this.path, this.dir);
      if ('path' in error && typeof error.path === 'string')
        (error as NodeJS.ErrnoException).path = error.path.replace(this.path, this.dir);
    }
    return error;
  }

  /** fstat of the open folder itself (its mtime changes whenever a file is renamed in) */
  stat(): Promise<Stats> {
    const handle = this.#handle;
    if (typeof handle !== 'number') return handle.stat();
    if (this.#syncCalls) return settle(() => fstatSync(handle));
    return new Promise((resolve, reject) =>
      fstat(handle, (error, stats) => (error === null ? resolve(stats) : reject(error))),
    );
  }

  /** A regular file's bytes; undefined when it is absent, a link, or not a regular file (never opened blocking). */
  async readFile(name: string): Promise<Buffer | undefined> {
    let handle: FileHandle;
    try {
      handle = await this.openFile(name, 'read');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || isUnsafePath(error)) return undefined;
      throw error;
    }
    try {
      return await readAll(handle);
    } finally {
      await handle.close();
    }
  }

  /** A JSON file parsed; undefined when absent, a link, not a regular file, unreadable or not JSON (a tolerant read
   * for scans: the files are the truth and this one says nothing yet). */
  async readJsonQuietly<T>(name: string): Promise<T | undefined> {
    try {
      const bytes = await this.readFile(name);
      return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as T);
    } catch {
      return undefined;
    }
  }

  close(): Promise<void> {
    const handle = this.#handle;
    if (typeof handle !== 'number') return handle.close();
    if (this.#syncCalls) return settle(() => closeSync(handle));
    return new Promise((resolve, reject) =>
      fsClose(handle, (error) => (error === null ? resolve() : reject(error))),
    );
  }
}

/**
 * Opens a folder that must be a real directory, not a link (its last component is never followed; the components
 * before it are the caller's own, trusted path). ENOENT passes through; a link or non-directory is UNSAFE_PATH.
 */
export async function openFolder(dir: string): Promise<OpenFolder> {
  try {
    return new OpenFolder(dir, await open(dir, FOLDER_FLAGS));
  } catch (error) {
    throw folderError(error, dir);
  }
}

/**
 * openFolder on a raw descriptor through the callback API, for the writer's hot path: the same flags and errors,
 * without a FileHandle (with one, a flush's open, append and close of 200 task folders took 10-20% more CPU, 20-30%
 * more on the event loop).
 */
export function openFolderFd(dir: string): Promise<OpenFolder> {
  return new Promise((resolve, reject) => {
    fsOpen(dir, FOLDER_FLAGS, (error, fd) => {
      if (error === null) resolve(new OpenFolder(dir, fd, { syncCalls: false }));
      else reject(folderError(error, dir));
    });
  });
}

/** openFolder with synchronous calls (see openRegularFdSync). */
export function openFolderSync(dir: string): OpenFolder {
  try {
    return new OpenFolder(dir, openSync(dir, FOLDER_FLAGS));
  } catch (error) {
    throw folderError(error, dir);
  }
}

const FOLDER_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK;

// a folder open(2) error said in the task-logs way: a link or non-directory is UNSAFE_PATH, the rest passes through
function folderError(error: unknown, dir: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return unsafe(dir, 'a symbolic link', error);
  if (code !== 'ENOTDIR') return error;
  // O_DIRECTORY|O_NOFOLLOW refuses a link with ENOTDIR too: say which, for the report (an lstat on this rare path)
  let link = false;
  try {
    link = lstatSync(dir).isSymbolicLink();
  } catch {
    // gone meanwhile: said as not a directory
  }
  return unsafe(dir, link ? 'a symbolic link' : 'not a directory', error);
}

/** Opens the folder of a task directly under root (the id must already be a checked task id). */
export function openTaskFolder(root: string, taskId: string): Promise<OpenFolder> {
  if (taskId !== basename(taskId) || taskId === '.' || taskId === '..' || taskId === '') {
    return Promise.reject(
      new TaskLogsError('TASK_ID_INVALID', `task id ${quote(taskId)} is not a folder name`),
    );
  }
  return openFolder(join(root, taskId));
}

function relabel(error: unknown, path: string, label: string): unknown {
  if (path !== label && error instanceof Error) {
    error.message = error.message.replaceAll(path, label);
    if ('path' in error) (error as NodeJS.ErrnoException).path = label;
  }
  return error;
}

/** Reads a whole open file through its handle, from byte 0. Each read fills the rest of the current buffer, so a
 * small file costs one 64 KiB buffer (a new 1 MiB buffer for the read that finds the end was a MiB of garbage per
 * file read: thousands of them when a restart reads a backlog's metadata.json files). */
export async function readAll(handle: FileHandle): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let buffer = Buffer.allocUnsafe(64 * 1024);
  let filled = 0;
  let position = 0;
  for (;;) {
    if (filled === buffer.length) {
      chunks.push(buffer);
      buffer = Buffer.allocUnsafe(1 << 20);
      filled = 0;
    }
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position);
    if (bytesRead === 0) break;
    filled += bytesRead;
    position += bytesRead;
  }
  const last = buffer.subarray(0, filled);
  if (chunks.length === 0) return last;
  if (filled > 0) chunks.push(last);
  return Buffer.concat(chunks);
}
