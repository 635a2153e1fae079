// The file operations the task writer needs, behind a small interface so tests can inject faults at the fs edge.
// Task folders are opened without following links and files are reached through the open folder (see
// src/contract/safe-open.ts): nothing is written through a link, or into a FIFO, at any path component.
import { close, constants, fdatasync, fstat, fsync, ftruncate, read, write } from 'node:fs';
import { link, lstat, open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { makeFolders } from '../src/contract/make-folders.ts';
import {
  type OpenFolder,
  openFolderFd,
  openRegularFd,
  openRegularFile,
  readAll,
} from '../src/contract/safe-open.ts';
import { onFreshLine } from './jsonl-appender.ts';

export type { OpenFolder } from '../src/contract/safe-open.ts';

export interface FileSystem {
  /** makes the folder (and its parents); true when this call created it, false or undefined when it was there */
  mkdir(path: string): Promise<boolean | undefined>;
  /** opens a folder that must be a real directory (a link is UNSAFE_PATH, an absent one ENOENT); its `path` reaches
   * the files inside through the open handle */
  openFolder(path: string): Promise<OpenFolder>;
  /** appends each chunk with a single write(2) on an O_APPEND descriptor, so concurrent writers never interleave
   * inside a chunk; `fresh`: the folder was just created, so the file is most likely new (created exclusively first,
   * which needs no fstat to be known a regular file; an existing file is then opened as usual); `torn`: an earlier
   * append may have stopped mid-line, so unless the file is empty or ends with a newline, a newline goes first (in
   * the first chunk's write): the half line stays a line of its own, and no empty line is made */
  append(
    path: string,
    chunks: readonly Uint8Array[],
    options: { sync: boolean; fresh?: boolean; torn?: boolean },
  ): Promise<void>;
  /** creates a new file exclusively (fails with EEXIST) holding data; if writing it fails (disk full), the partial
   * file, which this call created, is removed (a torn lock or temp file would otherwise stay behind) */
  writeNew(path: string, data: Buffer, options: { sync: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** hard link: an atomic create-if-absent of `to` */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** removes an empty folder */
  rmdir(path: string): Promise<void>;
  /** removes a folder and what is in it; links inside are removed, never followed */
  removeTree(path: string): Promise<void>;
  /** the names in a folder */
  list(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  mtimeMs(path: string): Promise<number>;
  syncDir(path: string): Promise<void>;
}

// The append and create paths below run on raw descriptors through the callback API, one promise per operation: a
// FileHandle and a promise per step cost more CPU than the system calls themselves when a task's files are small.
type Done = (error: Error | null) => void;

// writes all of data from `offset` (a short write continues where it stopped); `progress` counts bytes that landed
function writeAllFd(fd: number, data: Uint8Array, progress: { bytes: number }, done: Done, offset = 0): void {
  if (offset >= data.length) {
    done(null);
    return;
  }
  write(fd, data, offset, data.length - offset, null, (error, written) => {
    if (error !== null) {
      done(error);
      return;
    }
    progress.bytes += written;
    writeAllFd(fd, data, progress, done, offset + written);
  });
}

function writeChunksFd(
  fd: number,
  chunks: readonly Uint8Array[],
  progress: { bytes: number },
  done: Done,
  i = 0,
): void {
  if (i >= chunks.length) {
    done(null);
    return;
  }
  writeAllFd(fd, chunks[i]!, progress, (error) => {
    if (error !== null) {
      done(error);
      return;
    }
    writeChunksFd(fd, chunks, progress, done, i + 1);
  });
}

// closes fd, then settles with the first error (the operation's own error before the close's)
function closeAndSettle(
  fd: number,
  error: Error | null,
  resolve: () => void,
  reject: (e: Error) => void,
): void {
  close(fd, (closeError) => {
    const first = error ?? closeError;
    if (first !== null) reject(first);
    else resolve();
  });
}

// A failed append (disk full) may leave part of a line behind. If no other process appended meanwhile, cut the file
// back to where this append began, so it holds only whole lines; otherwise the writer's fresh-line rule still keeps
// later lines whole. (stat of an open file is cheap; creating files is what costs.)
function undoPartialAppend(fd: number, startSize: number, written: number, done: () => void): void {
  if (startSize < 0 || written === 0) {
    done();
    return;
  }
  fstat(fd, (error, stat) => {
    if (error !== null || stat.size !== startSize + written) {
      done();
      return;
    }
    ftruncate(fd, startSize, () => done()); // if it fails, the fresh-line rule still keeps later lines whole
  });
}

// the file to append to and its size before this append (for undoPartialAppend); `torn`: opened for reading too
async function openForAppend(
  path: string,
  fresh: boolean,
  torn: boolean,
): Promise<{ fd: number; size: number }> {
  if (fresh) {
    try {
      return await openRegularFd(path, 'appendNew');
    } catch (error) {
      // another writer created it first, or something else has the name: the checked open below says which
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return openRegularFd(path, torn ? 'appendRead' : 'append');
}

// the chunks to append to a torn file of `size` bytes: a newline first unless the file is empty or its last byte (read
// through the descriptor appended to, so the very file) is a newline; when that byte cannot be read, the newline goes
// first anyway (an empty line at worst, never a line glued to a half one)
function tornChunks(
  fd: number,
  size: number,
  chunks: readonly Uint8Array[],
  done: (chunks: readonly Uint8Array[]) => void,
): void {
  if (size === 0) {
    done(chunks);
    return;
  }
  const last = Buffer.allocUnsafe(1);
  read(fd, last, 0, 1, size - 1, (error, bytes) =>
    done(error === null && bytes === 1 && last[0] === 0x0a ? chunks : onFreshLine(chunks)),
  );
}

export const nodeFileSystem: FileSystem = {
  async mkdir(path) {
    try {
      // whether it made the folder; not Node's recursive mkdir, which never returns under /proc
      return await makeFolders(path);
    } catch (error) {
      // something has the name (a file, a link): openFolder, which comes next, refuses it and says what it is
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return false;
    }
  },
  async append(path, chunks, { sync, fresh, torn }) {
    const { fd, size } = await openForAppend(path, fresh === true, torn === true);
    const progress = { bytes: 0 };
    return new Promise((resolve, reject) => {
      const writeChunks = (chunks: readonly Uint8Array[]) =>
        writeChunksFd(fd, chunks, progress, (error) => {
          const settle = (failure: Error | null) => {
            if (failure === null) {
              closeAndSettle(fd, null, resolve, reject);
              return;
            }
            undoPartialAppend(fd, size, progress.bytes, () => closeAndSettle(fd, failure, resolve, reject));
          };
          if (error !== null || !sync) settle(error);
          else fdatasync(fd, settle);
        });
      if (torn === true) tornChunks(fd, size, chunks, writeChunks);
      else writeChunks(chunks);
    });
  },
  async writeNew(path, data, { sync }) {
    const { fd } = await openRegularFd(path, 'createNew');
    return new Promise((resolve, reject) => {
      // a file this call created and could not fill is removed: ours (created exclusively); if that fails, its
      // reader copes
      const fail = (error: Error) =>
        close(fd, () => {
          unlink(path).then(
            () => reject(error),
            () => reject(error),
          );
        });
      writeAllFd(fd, data, { bytes: 0 }, (error) => {
        if (error !== null) fail(error);
        else if (!sync) closeAndSettle(fd, null, resolve, reject);
        else
          fsync(fd, (syncError) =>
            syncError !== null ? fail(syncError) : closeAndSettle(fd, null, resolve, reject),
          );
      });
    });
  },
  rename,
  link,
  unlink,
  async rmdir(path) {
    await rmdir(path);
  },
  async removeTree(path) {
    await rm(path, { recursive: true, force: true });
  },
  list: (path) => readdir(path),
  openFolder: openFolderFd,
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
