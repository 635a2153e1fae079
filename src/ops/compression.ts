// Compression: the JSONL files of tasks finished more than TASK_LOGS_COMPRESS_AFTER_DAYS ago are gzipped in place.
// Crash-safe: the .gz is written under a temporary name, synced, renamed into place, and only then is the plain file
// removed, so at every instant one complete copy exists. A plain file that reappears next to its .gz (a line written
// after compression) is merged back: its lines go into the .gz as one more gzip member (a .gz of several members
// reads as their concatenation, with zcat too), so readers, which read the .gz and then the plain file, lose nothing.
// Only finished tasks with no writer holding their lock are touched; everything goes through the open task folder
// (src/contract/safe-open.ts), never through a link.
import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { gunzipFile } from '../contract/gunzip-file.ts';
import { isUnsafePath, type OpenFolder, openFolder } from '../contract/safe-open.ts';
import { TASK_FILES } from '../contract/task-files.ts';
import { type MaintenanceError, maintenanceError } from './maintenance-error.ts';
import { listTaskFolders, summarizeAll, type TaskFolder } from './task-folders.ts';
import { lockHeld } from './task-lock.ts';
import { removeStaleTemps } from './temp-files.ts';

export interface CompressOptions {
  root: string;
  afterDays: number;
  now?: Date;
  dryRun?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface CompressResult {
  dry_run: boolean;
  scanned: number;
  compressed: { task_id: string; files: string[]; bytes_before: number; bytes_after: number }[];
  bytes_before: number;
  bytes_after: number;
  /** finished tasks left alone this time because a writer held their lock, or a file grew while it was gzipped */
  busy: string[];
  /** temporary files of failed writes removed */
  temps_removed: number;
  /** what failed (a read or write error): that task is left as it was, readable, and the next run tries again */
  errors: MaintenanceError[];
}

const JSONL = [TASK_FILES.webhookFlow, TASK_FILES.agentOutput];

export async function compressTasks(options: CompressOptions): Promise<CompressResult> {
  const now = options.now ?? new Date();
  const cutoff = now.getTime() - options.afterDays * 86_400_000;
  const result: CompressResult = {
    dry_run: options.dryRun ?? false,
    scanned: 0,
    compressed: [],
    bytes_before: 0,
    bytes_after: 0,
    busy: [],
    temps_removed: 0,
    errors: [],
  };
  let folders: TaskFolder[];
  try {
    folders = await listTaskFolders(options.root);
  } catch (error) {
    result.errors.push(maintenanceError(null, error));
    return result;
  }
  const summaries = await summarizeAll(folders, options.onProgress, { sizes: false });
  result.scanned = summaries.length;
  for (const summary of summaries) {
    if (summary.readError !== undefined)
      result.errors.push({ task_id: summary.id, error: summary.readError });
    if (summary.endedAt === undefined || summary.endedAt.getTime() >= cutoff) continue;
    let folder: OpenFolder;
    try {
      folder = await openFolder(summary.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || isUnsafePath(error)) continue; // deleted meanwhile, or not a real folder
      result.errors.push(maintenanceError(summary.id, error));
      continue;
    }
    try {
      await compressFolder(folder, summary.id, result);
    } catch (error) {
      result.errors.push(maintenanceError(summary.id, folder.explain(error)));
    } finally {
      await folder.close().catch(() => undefined); // a failed close(2) still frees the descriptor
    }
  }
  return result;
}

async function compressFolder(folder: OpenFolder, taskId: string, result: CompressResult): Promise<void> {
  if (!result.dry_run) result.temps_removed += (await removeStaleTemps(folder)).length;
  if (await lockHeld(folder)) {
    result.busy.push(taskId);
    return;
  }
  const done = { task_id: taskId, files: [] as string[], bytes_before: 0, bytes_after: 0 };
  for (const file of JSONL) {
    const plain = await openOrSkip(folder, file);
    if (plain === undefined) continue;
    try {
      const size = (await plain.stat()).size;
      if (result.dry_run) {
        done.files.push(file);
        done.bytes_before += size;
        continue;
      }
      const after = await gzipInto(folder, file, plain, size);
      if (after === undefined) {
        result.busy.push(taskId);
        continue;
      }
      done.files.push(file);
      done.bytes_before += size;
      done.bytes_after += after;
    } finally {
      await plain.close();
    }
  }
  if (done.files.length === 0) return;
  result.compressed.push(done);
  result.bytes_before += done.bytes_before;
  result.bytes_after += done.bytes_after;
}

/**
 * Writes `<file>.gz` as the existing .gz (if any) followed by a gzip member of the plain file's first `size` bytes,
 * renames it into place, then removes the plain file. Returns the new .gz size, or undefined (nothing changed) when
 * the plain file grew meanwhile: a writer is still at it, and the next run takes it.
 */
async function gzipInto(
  folder: OpenFolder,
  file: string,
  plain: FileHandle,
  size: number,
): Promise<number | undefined> {
  const gzName = `${file}.gz`;
  const tempName = `.${gzName}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const temp = await folder.openFile(tempName, 'createNew');
  try {
    const old = await openOrSkip(folder, gzName);
    let holdsPlain = false;
    if (old !== undefined) {
      try {
        holdsPlain = await gzEndsWith(old, plain, size);
        if (!holdsPlain) await pipeline(old.createReadStream({ autoClose: false, start: 0 }), writeTo(temp));
      } finally {
        await old.close();
      }
    }
    if (holdsPlain) {
      // a run killed (or failed) between its rename and its unlink left both: the .gz holds the plain file already
      await unlink(folder.pathOf(tempName));
      await dropPlainCopy(folder, file, size);
      return await folder.openFile(gzName, 'read').then(async (h) => {
        try {
          return (await h.stat()).size;
        } finally {
          await h.close();
        }
      });
    }
    if (size > 0) {
      await pipeline(
        plain.createReadStream({ autoClose: false, start: 0, end: size - 1 }),
        createGzip({ level: 6 }),
        writeTo(temp),
      );
    }
    await temp.sync();
    const after = (await temp.stat()).size;
    // the narrowest window we can give: a line appended after this check and before the unlink would be lost, and
    // only a task finished days ago with no lock held gets here
    if ((await plain.stat()).size !== size) {
      await unlink(folder.pathOf(tempName));
      return undefined;
    }
    await rename(folder.pathOf(tempName), folder.pathOf(gzName));
    // the .gz is complete here (it only ever appears whole), so the plain copy can go
    await dropPlainCopy(folder, file, size);
    return after;
  } catch (error) {
    await unlink(folder.pathOf(tempName)).catch(() => undefined); // our own temp file; the error is what matters
    throw error;
  } finally {
    await temp.close();
  }
}

/**
 * Removes the plain file once the .gz holds its first `size` bytes: left there, readers (the .gz, then the plain
 * file) would see those lines twice. A failed unlink is tried once more, then the file is emptied instead (only if
 * nothing was appended meanwhile); if that fails too, the error is the caller's and the next run, which finds the
 * .gz ending with the plain file, finishes the job.
 */
async function dropPlainCopy(folder: OpenFolder, file: string, size: number): Promise<void> {
  try {
    await unlink(folder.pathOf(file));
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    try {
      await unlink(folder.pathOf(file));
      return;
    } catch {
      // emptied below instead
    }
    try {
      const handle = await folder.openFile(file, 'readWrite');
      try {
        if ((await handle.stat()).size === size) {
          await handle.truncate(0);
          return;
        }
      } finally {
        await handle.close();
      }
    } catch {
      // the first error is the one to report
    }
    throw error;
  }
}

/** True when the .gz's uncompressed bytes end with the plain file's first `size` bytes (compared by digest). */
async function gzEndsWith(gz: FileHandle, plain: FileHandle, size: number): Promise<boolean> {
  const unzipped = () => gunzipFile(gz);
  let total = 0;
  for await (const chunk of unzipped()) total += (chunk as Buffer).length;
  if (total < size) return false;
  const tail = createHash('sha256');
  let position = 0;
  for await (const chunk of unzipped()) {
    const piece = chunk as Buffer;
    const from = Math.max(0, total - size - position);
    if (from < piece.length) tail.update(from === 0 ? piece : piece.subarray(from));
    position += piece.length;
  }
  const head = createHash('sha256');
  if (size > 0)
    for await (const chunk of plain.createReadStream({ autoClose: false, start: 0, end: size - 1 }))
      head.update(chunk as Buffer);
  return tail.digest('hex') === head.digest('hex');
}

// an async sink rather than temp.createWriteStream(): a write stream made with autoClose false keeps the handle
// referenced, and its close() would then never settle
function writeTo(handle: FileHandle): (source: AsyncIterable<Buffer>) => Promise<void> {
  return async (source) => {
    for await (const chunk of source) {
      for (let offset = 0; offset < chunk.length; ) {
        offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
      }
    }
  };
}

async function openOrSkip(folder: OpenFolder, name: string): Promise<FileHandle | undefined> {
  try {
    return await folder.openFile(name, 'read');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || isUnsafePath(error)) return undefined; // absent, or not ours to compress
    throw error;
  }
}
