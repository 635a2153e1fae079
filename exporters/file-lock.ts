// A lock file shared across processes (O_EXCL create), for the read-modify-write of metadata.json.
import { hostname } from 'node:os';
import { processGone } from '../src/contract/process-gone.ts';
import type { FileSystem } from './file-system.ts';

// this process as a lock file names it; taken at first use, not at import (a process started from a V8 startup
// snapshot must not name the snapshot's builder)
let ownerLine: string | undefined;
const ownLine = (): string => (ownerLine ??= `${hostname()} ${process.pid}\n`);

export interface LockOptions {
  /** a lock older than this is left over from a killed process and is broken */
  staleMs: number;
  /** give up (and let the caller retry later) after waiting this long */
  timeoutMs: number;
}

// a waiter outlasts the age at which a torn lock is broken (TORN_AFTER_MS), so a torn lock never costs a write
const DEFAULT_LOCK_OPTIONS: LockOptions = { staleMs: 10_000, timeoutMs: 5_000 };

// a lock written on this host by a process that no longer exists (killed mid-write) is stale at once
// locks this process holds right now: a lock file naming this process that is not among them was left behind by a
// failed unlink (a disk error), and is broken at once rather than after staleMs
const held = new Set<string>();
// a lock file whose owner line is not whole was left by a create whose write failed (disk full); its creator never
// held the lock. Young ones may still be being written.
const TORN_AFTER_MS = 2000;

async function ownerIsGone(fs: FileSystem, lockPath: string, ageMs: number): Promise<boolean> {
  let owner: string;
  try {
    owner = (await fs.readFile(lockPath)).toString('utf8');
  } catch {
    return false; // released meanwhile: the next attempt will take it
  }
  if (owner === ownLine()) return !held.has(lockPath);
  if (!owner.endsWith('\n')) return ageMs > TORN_AFTER_MS;
  const [host, pidText] = owner.trim().split(' ');
  const pid = Number(pidText);
  return host === hostname() && processGone(pid);
}

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
      await fs.writeNew(lockPath, Buffer.from(ownLine()), { sync: false });
      break;
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    }
    const age = await fs.mtimeMs(lockPath).then(
      (mtime) => Date.now() - mtime,
      () => 0, // gone between our open and stat: simply try again
    );
    if (age > options.staleMs || (await ownerIsGone(fs, lockPath, age))) {
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
  held.add(lockPath);
  try {
    return await fn();
  } finally {
    held.delete(lockPath);
    // a stale-lock breaker may have removed it already; if the unlink failed, the next take breaks it (see held)
    await fs.unlink(lockPath).catch(() => undefined);
  }
}
