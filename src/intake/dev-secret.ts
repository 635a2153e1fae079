// A development secret for the webhook receivers, so `npm start` then `npm run demo` works with no set-up. Used only
// for a receiver whose secret is unset while the server listens on loopback (nothing outside this machine can reach
// it). Kept in a 0600 file in the logs folder, where the demo finds it: created with O_EXCL|O_NOFOLLOW, and refused
// when it is a link, not a regular file, not ours, or readable by group or others.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TaskLogsError } from '../contract/errors.ts';
import { makeFoldersSync } from '../contract/make-folders.ts';

const MIN_LENGTH = 32;
const MAX_BYTES = 4096;

export function devSecretPath(logsDir: string): string {
  return join(logsDir, '.dev-webhook-secret');
}

/** The development secret if one was made; undefined when there is none. Throws CONFIG_INVALID when unsafe. */
export function readDevSecret(logsDir: string): string | undefined {
  const path = devSecretPath(logsDir);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw unsafe(path, 'is a symbolic link');
    throw unsafe(path, `cannot be opened (${code ?? 'error'})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw unsafe(path, 'is not a regular file');
    if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
      throw unsafe(path, `belongs to another user (uid ${stat.uid})`);
    }
    if ((stat.mode & 0o077) !== 0) {
      throw unsafe(
        path,
        `is readable or writable by group or others (mode ${(stat.mode & 0o777).toString(8)})`,
      );
    }
    const buffer = Buffer.alloc(MAX_BYTES);
    const length = readSync(fd, buffer, 0, MAX_BYTES, 0);
    const secret = buffer.subarray(0, length).toString('utf8').trim();
    if (!/^[0-9a-f]+$/.test(secret) || secret.length < MIN_LENGTH) {
      throw unsafe(path, `does not hold a secret of ${MIN_LENGTH}+ hex characters`);
    }
    return secret;
  } finally {
    closeSync(fd);
  }
}

/** The development secret, made on first use. */
export function devSecret(logsDir: string): string {
  const existing = readDevSecret(logsDir);
  if (existing !== undefined) return existing;
  makeFoldersSync(logsDir);
  const path = devSecretPath(logsDir);
  const secret = randomBytes(32).toString('hex');
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (error) {
    // another process made it between the read and the create: use theirs, with the same checks
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = readDevSecret(logsDir);
      if (theirs !== undefined) return theirs;
    }
    throw unsafe(path, `cannot be created (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const text = `${secret}\n`;
  try {
    if (writeSync(fd, text) !== Buffer.byteLength(text))
      throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
  } catch (error) {
    // the file is ours (O_EXCL) and holds no secret: removed, or it would refuse every later start (a full disk)
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {}
    throw error;
  }
  closeSync(fd);
  return secret;
}

function unsafe(path: string, what: string): TaskLogsError {
  return new TaskLogsError(
    'CONFIG_INVALID',
    `the development webhook secret ${path} ${what}: delete it (a new one is made), or set each provider's webhook secret`,
  );
}

/** The development secret if one exists and is safe, for redaction by other processes (a worker, a scan); never throws. */
export function existingDevSecret(logsDir: string): string | undefined {
  try {
    return readDevSecret(logsDir);
  } catch {
    return undefined; // unsafe: the server refuses it, so it verifies nothing
  }
}
