// Compression: the JSONL files of tasks finished more than TASK_LOGS_COMPRESS_AFTER_DAYS ago are gzipped in place.
// Crash-safe: the .gz is written under a temporary name, synced, renamed into place, and only then is the plain file
// removed, so at every instant one complete copy exists; readers take the plain file when it is there, else the .gz.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TASK_FILES } from '../contract/task-files.ts';
import { listTaskFolders, summarizeAll } from './task-folders.ts';

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
}

const JSONL = [TASK_FILES.webhookFlow, TASK_FILES.agentOutput];

export async function compressTasks(options: CompressOptions): Promise<CompressResult> {
  const now = options.now ?? new Date();
  const cutoff = now.getTime() - options.afterDays * 86_400_000;
  const summaries = await summarizeAll(await listTaskFolders(options.root), options.onProgress, {
    sizes: false,
  });
  const result: CompressResult = {
    dry_run: options.dryRun ?? false,
    scanned: summaries.length,
    compressed: [],
    bytes_before: 0,
    bytes_after: 0,
  };
  for (const summary of summaries) {
    if (summary.endedAt === undefined || summary.endedAt.getTime() >= cutoff) continue;
    const done = { task_id: summary.id, files: [] as string[], bytes_before: 0, bytes_after: 0 };
    await removeStaleTemps(summary.dir);
    for (const file of JSONL) {
      const plain = join(summary.dir, file);
      const stat = await lstat(plain).catch(() => undefined);
      if (!stat?.isFile()) continue;
      const gz = `${plain}.gz`;
      const existing = await lstat(gz).catch(() => undefined);
      if (result.dry_run) {
        done.files.push(file);
        done.bytes_before += stat.size;
        continue;
      }
      if (!existing?.isFile()) await gzipAtomically(plain, gz);
      // the .gz is complete here (it only ever appears whole), so the plain copy can go
      const after = await lstat(gz);
      await unlink(plain);
      done.files.push(file);
      done.bytes_before += stat.size;
      done.bytes_after += after.size;
    }
    if (done.files.length === 0) continue;
    result.compressed.push(done);
    result.bytes_before += done.bytes_before;
    result.bytes_after += done.bytes_after;
  }
  return result;
}

async function gzipAtomically(plain: string, gz: string): Promise<void> {
  const temp = join(
    gz,
    '..',
    `.${gz.split('/').at(-1)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await pipeline(
      createReadStream(plain),
      createGzip({ level: 6 }),
      createWriteStream(temp, { flags: 'wx' }),
    );
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, gz);
  } catch (error) {
    await unlink(temp).catch(() => undefined); // our own temp file; the error that matters is rethrown
    throw error;
  }
}

async function removeStaleTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith('.') && name.includes('.jsonl.gz.') && name.endsWith('.tmp')) {
      await unlink(join(dir, name)).catch(() => undefined); // left by a killed compress; gone is what we want
    }
  }
}
