// The file operations the task writer needs, behind a small interface so tests can inject faults at the fs edge.
// Task folders are opened without following links and files are reached through the open folder (see
// src/contract/safe-open.ts): nothing is written through a link, or into a FIFO, at any path component.
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import {
  type OpenFolder,
  openFolder,
  openRegularFile,
  openRegularFileStat,
  readAll,
} from '../src/contract/safe-open.ts';

export type { OpenFolder } from '../src/contract/safe-open.ts';

export interface FileSystem {
  /** makes the folder (and its parents); true when this call created it, false or undefined when it was there */
  mkdir(path: string): Promise<boolean | undefined>;
  /** opens a folder that must be a real directory (a link is UNSAFE_PATH, an absent one ENOENT); its `path` reaches
   * the files inside through the open handle */
  openFolder(path: string): Promise<OpenFolder>;
  /** appends each chunk with a single write(2) on an O_APPEND descriptor, so concurrent writers never interleave
   * inside a chunk; `fresh`: the folder was just created, so the file is most likely new (created exclusively first,
   * which needs no fstat to be known a regular file; an existing file is then opened as usual) */
  append(path: string, chunks: readonly Buffer[], options: { sync: boolean; fresh?: boolean }): Promise<void>;
  /** creates a new file exclusively (fails with EEXIST) holding data; if writing it fails (disk full), the partial
   * file, which this call created, is removed (a torn lock or temp file would otherwise stay behind) */
  writeNew(path: string, data: Buffer, options: { sync: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** hard link: an atomic create-if-absent of `to` */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** removes an empty folder */
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  mtimeMs(path: string): Promise<number>;
  syncDir(path: string): Promise<void>;
}

async function writeAll(
  handle: import('node:fs/promises').FileHandle,
  data: Buffer,
  progress = { bytes: 0 },
): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
    progress.bytes += bytesWritten;
  }
}

// A failed append (disk full) may leave part of a line behind. If no other process appended meanwhile, cut the file
// back to where this append began, so it holds only whole lines; otherwise the writer's fresh-line rule still keeps
// later lines whole. (stat of an open file is cheap; creating files is what costs.)
async function undoPartialAppend(
  handle: import('node:fs/promises').FileHandle,
  startSize: number,
  written: number,
): Promise<void> {
  if (startSize < 0 || written === 0) return;
  try {
    const size = (await handle.stat()).size;
    if (size === startSize + written) await handle.truncate(startSize);
  } catch {
    // the file stays as it is; the writer's fresh-line rule still keeps later lines whole
  }
}

// the file to append to and its size before this append (for undoPartialAppend)
async function openForAppend(
  path: string,
  fresh: boolean,
): Promise<{ handle: import('node:fs/promises').FileHandle; startSize: number }> {
  if (fresh) {
    try {
      return { handle: await openRegularFile(path, 'appendNew'), startSize: 0 };
    } catch (error) {
      // another writer created it first, or something else has the name: the checked open below says which
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const { handle, stat } = await openRegularFileStat(path, 'append');
  return { handle, startSize: stat.size };
}

export const nodeFileSystem: FileSystem = {
  async mkdir(path) {
    try {
      // recursive mkdir gives the first folder it created, undefined when the folder was there already
      return (await mkdir(path, { recursive: true })) !== undefined;
    } catch (error) {
      // something has the name (a file, a link): openFolder, which comes next, refuses it and says what it is
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return false;
    }
  },
  async append(path, chunks, { sync, fresh }) {
    const { handle, startSize } = await openForAppend(path, fresh === true);
    const progress = { bytes: 0 };
    try {
      for (const chunk of chunks) await writeAll(handle, chunk, progress);
      if (sync) await handle.datasync();
    } catch (error) {
      await undoPartialAppend(handle, startSize, progress.bytes);
      throw error;
    } finally {
      await handle.close();
    }
  },
  async writeNew(path, data, { sync }) {
    const handle = await openRegularFile(path, 'createNew');
    try {
      await writeAll(handle, data);
      if (sync) await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined); // ours (created exclusively); if this fails, its reader copes
      throw error;
    }
    await handle.close();
  },
  rename,
  link,
  unlink,
  async rmdir(path) {
    await rmdir(path);
  },
  openFolder,
  async readFile(path) {
    const handle = await openRegularFile(path, 'read');
    try {
      return await readAll(handle);
    } finally {
      await handle.close();
    }
  },
  async mtimeMs(path) {
    return (await lstat(path)).mtimeMs;
  },
  async syncDir(path) {
    const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
