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

async function writeAll(handle: import('node:fs/promises').FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

export const nodeFileSystem: FileSystem = {
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async append(path, chunks, { sync }) {
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    try {
      for (const chunk of chunks) await writeAll(handle, chunk);
      if (sync) await handle.datasync();
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
