// The FileSystem with synchronous calls, for the writer thread: a thread may block on its own file operations, and
// a synchronous call costs about a third of the CPU of the same call through the thread pool. The same opens, the
// same no-follow and regular-file checks (src/contract/safe-open.ts), the same undo of a partial append.
import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { makeFoldersSync } from '../src/contract/make-folders.ts';
import { openFolderSync, openRegularFdSync } from '../src/contract/safe-open.ts';
import type { FileSystem } from './file-system.ts';
import { onFreshLine } from './jsonl-appender.ts';

// writes all of data (a short write continues where it stopped); `progress` counts bytes that landed
function writeAll(fd: number, data: Uint8Array, progress: { bytes: number }): void {
  let offset = 0;
  while (offset < data.length) {
    const written = writeSync(fd, data, offset, data.length - offset);
    progress.bytes += written;
    offset += written;
  }
}

function openForAppend(path: string, fresh: boolean, torn: boolean): { fd: number; size: number } {
  if (fresh) {
    try {
      return openRegularFdSync(path, 'appendNew');
    } catch (error) {
      // another writer created it first, or something else has the name: the checked open below says which
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return openRegularFdSync(path, torn ? 'appendRead' : 'append');
}

// see nodeFileSystem: a torn file gets a newline first unless it is empty or its last byte is one
function tornChunks(fd: number, size: number, chunks: readonly Uint8Array[]): readonly Uint8Array[] {
  if (size === 0) return chunks;
  const last = Buffer.allocUnsafe(1);
  try {
    if (readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a) return chunks;
  } catch {
    // unreadable: the newline goes first anyway (an empty line at worst, never a line glued to a half one)
  }
  return onFreshLine(chunks);
}

// see nodeFileSystem: a failed append is cut back to where it began if nobody else appended meanwhile
function undoPartialAppend(fd: number, startSize: number, written: number): void {
  if (startSize < 0 || written === 0) return;
  try {
    if (fstatSync(fd).size === startSize + written) ftruncateSync(fd, startSize);
  } catch {
    // the fresh-line rule still keeps later lines whole
  }
}

function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

export const syncFileSystem: FileSystem = {
  mkdir: (path) =>
    settled(() => {
      try {
        return makeFoldersSync(path);
      } catch (error) {
        // something has the name (a file, a link): openFolder, which comes next, refuses it and says what it is
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        return false;
      }
    }),
  openFolder: (path) => settled(() => openFolderSync(path)),
  append: (path, chunks, { sync, fresh, torn }) =>
    settled(() => {
      const { fd, size } = openForAppend(path, fresh === true, torn === true);
      const progress = { bytes: 0 };
      try {
        const writes = torn === true ? tornChunks(fd, size, chunks) : chunks;
        for (const chunk of writes) writeAll(fd, chunk, progress);
        if (sync) fdatasyncSync(fd);
      } catch (error) {
        undoPartialAppend(fd, size, progress.bytes);
        throw error;
      } finally {
        closeSync(fd);
      }
    }),
  writeNew: (path, data, { sync }) =>
    settled(() => {
      const { fd } = openRegularFdSync(path, 'createNew');
      try {
        writeAll(fd, data, { bytes: 0 });
        if (sync) fsyncSync(fd);
      } catch (error) {
        // a file this call created and could not fill is removed (ours: created exclusively)
        closeSync(fd);
        try {
          unlinkSync(path);
        } catch {
          // its reader copes
        }
        throw error;
      }
      closeSync(fd);
    }),
  rename: (from, to) => settled(() => renameSync(from, to)),
  link: (from, to) => settled(() => linkSync(from, to)),
  unlink: (path) => settled(() => unlinkSync(path)),
  rmdir: (path) => settled(() => rmdirSync(path)),
  removeTree: (path) => settled(() => rmSync(path, { recursive: true, force: true })),
  list: (path) => settled(() => readdirSync(path)),
  readFile: (path) =>
    settled(() => {
      const { fd, size } = openRegularFdSync(path, 'read');
      try {
        const chunks: Buffer[] = [];
        let position = 0;
        for (;;) {
          const buffer = Buffer.allocUnsafe(Math.max(size - position, 0) + 4096);
          const read = readSync(fd, buffer, 0, buffer.length, position);
          if (read === 0) break;
          chunks.push(buffer.subarray(0, read));
          position += read;
        }
        return Buffer.concat(chunks);
      } finally {
        closeSync(fd);
      }
    }),
  mtimeMs: (path) => settled(() => lstatSync(path).mtimeMs),
  syncDir: (path) =>
    settled(() => {
      const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }),
};
