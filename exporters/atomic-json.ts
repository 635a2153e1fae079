// Whole-file JSON writes that a reader never sees half done: a temporary file in the same folder, then rename.
// Compact JSON on purpose: the seed greps for `"success":false` with no space.
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { FileSystem } from './file-system.ts';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the folder after it */
  durable: boolean;
  /** keep an existing file: create the target only if absent (throws EEXIST otherwise) */
  onlyIfAbsent?: boolean;
}

// pid + a per-process counter is unique on this host; the random part keeps hosts sharing a folder apart. Drawn on
// first use, not at import: a process started from a V8 startup snapshot must not carry the builder's pid.
let prefix: string | undefined;
let counter = 0;

// `.name.<prefix>.<n>.tmp` beside the target; split at the last slash, not by path.join (its normalizing pass cost
// more than the rest of a JSON file's write in JS)
function tempPathFor(path: string): string {
  prefix ??= `${process.pid}.${randomBytes(3).toString('hex')}`;
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${prefix}.${(counter++).toString(36)}.tmp`;
}

export async function writeJsonAtomic(
  fs: FileSystem,
  path: string,
  value: unknown,
  options: AtomicWriteOptions,
): Promise<void> {
  const temp = tempPathFor(path);
  await fs.writeNew(temp, Buffer.from(`${JSON.stringify(value)}\n`), { sync: options.durable });
  try {
    if (options.onlyIfAbsent) {
      // link fails with EEXIST instead of replacing: lets the first writer skip the lock
      await fs.link(temp, path);
      await fs.unlink(temp);
    } else {
      await fs.rename(temp, path);
    }
  } catch (error) {
    await fs.unlink(temp).catch(() => undefined); // the temp file is ours; the original error is what matters
    throw error;
  }
  if (options.durable) await fs.syncDir(dirname(path));
}
