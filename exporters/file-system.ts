// The file operations the task writer needs, behind a small interface so tests can inject faults at the fs edge.
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';

export interface FileSystem {
  mkdir(path: string): Promise<void>;
  /** appends each chunk with a single write(2) on an O_APPEND descriptor, so concurrent writers never interleave inside a chunk */
  append(path: string, chunks: readonly Buffer[], options: { sync: boolean }): Promise<void>;
  /** creates a new file exclusively (fails with EEXIST) holding data */
  writeNew(path: string, data: Buffer, options: { sync: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** hard link: an atomic create-if-absent of `to` */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
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

export const nodeFileSystem: FileSystem = {
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async append(path, chunks, { sync }) {
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    let startSize = -1;
    const progress = { bytes: 0 };
    try {
      startSize = (await handle.stat()).size;
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
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      await writeAll(handle, data);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename,
  link,
  unlink,
  readFile: (path) => readFile(path),
  async mtimeMs(path) {
    return (await stat(path)).mtimeMs;
  },
  async syncDir(path) {
    const handle = await open(path, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
