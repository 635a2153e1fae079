// A lock file shared across processes (O_EXCL create), for the read-modify-write of metadata.json.
import type { FileSystem } from './file-system.ts';

export interface LockOptions {
  /** a lock older than this is left over from a killed process and is broken */
  staleMs: number;
  /** give up (and let the caller retry later) after waiting this long */
  timeoutMs: number;
}

export const DEFAULT_LOCK_OPTIONS: LockOptions = { staleMs: 10_000, timeoutMs: 2_000 };

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

export async function withFileLock<T>(
  fs: FileSystem,
  lockPath: string,
  fn: () => Promise<T>,
  options: LockOptions = DEFAULT_LOCK_OPTIONS,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let wait = 1;
  for (;;) {
    try {
      await fs.writeNew(lockPath, Buffer.from(`${process.pid}\n`), { sync: false });
      break;
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    }
    const age = await fs.mtimeMs(lockPath).then(
      (mtime) => Date.now() - mtime,
      () => 0, // gone between our open and stat: simply try again
    );
    if (age > options.staleMs) {
      await fs.unlink(lockPath).catch(() => undefined); // another process may have broken it first
      continue;
    }
    if (Date.now() > deadline) {
      throw Object.assign(new Error(`lock ${lockPath} held for over ${options.timeoutMs} ms`), {
        code: 'ELOCKED',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    await fs.unlink(lockPath).catch(() => undefined); // a stale-lock breaker may have removed it already
  }
}
