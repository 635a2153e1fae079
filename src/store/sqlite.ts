// The SQLite files (the task index, the webhook deliveries). node:sqlite is loaded when a database is opened rather
// than when the package is imported: on a Node.js without it (before 22.16), `import 'task-logs'` still loads (the
// exporters and the instrumentation need no database), and opening one says what is missing instead of a loader
// error naming a module.
import { existsSync, lstatSync, readFileSync, renameSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { TaskLogsError } from '../contract/errors.ts';

function openDatabase(path: string, options: { timeout: number }): DatabaseSync {
  const sqlite = process.getBuiltinModule?.('node:sqlite') as typeof import('node:sqlite') | undefined;
  if (sqlite === undefined) {
    throw new TaskLogsError(
      'CONFIG_INVALID',
      `the task index needs Node.js 22.16 or newer (for node:sqlite); this is Node.js ${process.version}`,
    );
  }
  return new sqlite.DatabaseSync(path, options);
}

/** a database opened by openUnsynced, and where a corrupt file found at open was moved, and why */
export interface OpenedUnsynced {
  db: DatabaseSync;
  setAside: string | undefined;
  /** what was wrong with the file, after "was": `corrupt (...)` or `not a file of its own (...)` */
  why: string | undefined;
}

/**
 * Opens a WAL database that is never fsynced (synchronous=OFF), for what can be rebuilt or forgotten: the task index
 * (a cache of the task folders) and the webhook deliveries (a memory of recent claims). With NORMAL, every WAL
 * checkpoint (each 1,000 pages, run by the connection that commits) waited for two fsyncs on the event loop, inside a
 * writer's flush or a webhook's claim: on a disk, index writes p99 9 to 12 ms and claims p99.9 8 to 13 ms, against
 * 0.9 ms and 0.5 to 1.4 ms with OFF (tmpfs: the same either way). A process that dies (kill -9) loses nothing either
 * way; an OS crash or power cut can lose the last writes (NORMAL could too) or leave the file corrupt. So a file that
 * is not a database, or that a process left open (its log is still there) and fails quick_check, is moved aside
 * (`<name>.corrupt-<time>`) and a new one made; `init` (tables, schema version) runs on each opened database.
 * Both files are in the logs folder by default, where links and FIFOs may appear: a link (symbolic or hard) or
 * anything but a plain file at the file's path or its -wal/-shm is moved aside the same way, never opened (SQLite
 * would follow a symbolic link at the file, and write outside the folder, and refuses one at the log with an error
 * that kept the server from starting).
 */
export function openUnsynced(
  path: string,
  options: { timeout: number },
  init: (db: DatabaseSync) => void,
): OpenedUnsynced {
  // another process has it open (a server, while a command or a service starts): the file is that process's, as good
  // as it has found it; it is not read whole to be checked (about 0.35 s at 100,000 tasks, for every command), nor
  // moved away under it (its writes would go on into the moved file, unseen by everyone else), whatever else has a
  // name for it (a backup's hard link)
  const inUse = openElsewhere(path);
  // in use, a file with other names is that process's (a backup's hard link) and kept; a link or anything but a file
  // at one of the paths is not the file it has open (that is what made it in use: the -shm, when the file itself was
  // swapped for a link), and is refused, not moved from under it: SQLite would follow a link there, and write outside
  // the folder (a writer thread opens the server's index after the server, whatever was put in its place meanwhile)
  const stray = strayAt(path, !inUse);
  if (stray !== undefined && inUse)
    throw new TaskLogsError(
      'UNSAFE_PATH',
      `${stray}, and another process has the database open: not opened (stop that process, then start again to have it moved aside and made anew)`,
    );
  // in use with no file at the path: it was deleted while a process has it open (its -shm is what is locked). A new
  // database made here would share that process's -wal and -shm, which then reads the new one's pages as its own
  if (inUse && lstatSync(path, { throwIfNoEntry: false }) === undefined)
    throw new TaskLogsError(
      'CONFIG_INVALID',
      `${path} was deleted while another process has it open (its -wal and -shm are still in use): not made anew beside them (stop that process, a server, then start again to have it rebuilt)`,
    );
  if (stray !== undefined) {
    const aside = setAside(path);
    return {
      db: openChecked(path, options, init, true),
      setAside: aside,
      why: `not a file of its own (${stray})`,
    };
  }
  try {
    return { db: openChecked(path, options, init, !inUse), setAside: undefined, why: undefined };
  } catch (error) {
    if (!isCorrupt(error)) throw error;
    if (inUse) {
      throw new TaskLogsError(
        'CONFIG_INVALID',
        `${path} is corrupt and another process has it open: stop that process (a server), then start again to have it moved aside and made anew`,
      );
    }
    const aside = setAside(path);
    return {
      db: openChecked(path, options, init, true),
      setAside: aside,
      why: 'corrupt (an OS crash or power cut while it was written?)',
    };
  }
}

const SUFFIXES = ['', '-wal', '-shm'];

// what is wrong with what lies at the database's path or its log's, if anything (nothing there is fine);
// `hardLinks`: a file with other names is wrong too
function strayAt(path: string, hardLinks: boolean): string | undefined {
  if (path === ':memory:') return undefined;
  for (const suffix of SUFFIXES) {
    const file = `${path}${suffix}`;
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (stats.isSymbolicLink()) return `${file} is a symbolic link, not followed`;
    if (!stats.isFile()) return `${file} is not a regular file`;
    if (hardLinks && stats.nlink > 1) return `${file} has other hard links`;
  }
  return undefined;
}

function openChecked(
  path: string,
  options: { timeout: number },
  init: (db: DatabaseSync) => void,
  check: boolean,
): DatabaseSync {
  // a log left beside the file means the last process to use it did not close it: checked before it is trusted
  const unclean = check && path !== ':memory:' && existsSync(`${path}-wal`);
  const db = openDatabase(path, options);
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;');
    if (unclean) {
      const check = db.prepare('PRAGMA quick_check(1)').get() as { quick_check?: string } | undefined;
      if (check?.quick_check !== 'ok') throw new CorruptDatabase(check?.quick_check ?? 'no answer');
    }
    init(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Closes a database opened by openUnsynced with its last checkpoint synced: a clean close copies the -wal into the file
 * and deletes it, so a power cut soon after (before the OS wrote the copied pages) could leave a damaged file with no
 * -wal beside it, which the next open would trust without a check. One checkpoint's fsyncs, once per close.
 */
export function closeSynced(db: DatabaseSync): void {
  try {
    db.exec('PRAGMA synchronous = NORMAL');
  } catch {
    // closed all the same
  }
  db.close();
}

class CorruptDatabase extends Error {}

/**
 * Whether a live process has the database open: every connection to a WAL database holds a shared lock on the file
 * (and on its -shm) for as long as it is open, and Linux lists the locks of all processes in /proc/locks
 * (`1: POSIX  ADVISORY  READ <pid> <major>:<minor>:<inode> <start> <end>`). Where there is no /proc/locks, unknown:
 * taken as no (the file is checked, as before).
 */
function openElsewhere(path: string): boolean {
  if (path === ':memory:') return false;
  let locks: string;
  const files: string[] = [];
  try {
    for (const suffix of ['', '-shm']) {
      // lstat: a link is never taken for the file it names (a link to another program's open database is moved aside)
      const stats = lstatSync(`${path}${suffix}`, { throwIfNoEntry: false });
      if (stats?.isFile()) files.push(`${deviceOf(stats.dev)}:${stats.ino}`);
    }
    if (files.length === 0) return false;
    locks = readFileSync('/proc/locks', 'latin1');
  } catch {
    return false;
  }
  for (const line of locks.split('\n')) {
    const file = line.split(/\s+/).find((field) => /^[0-9a-f]+:[0-9a-f]+:\d+$/.test(field));
    if (file !== undefined && files.includes(file)) return true;
  }
  return false;
}

// a device number as /proc/locks writes it: major and minor in hex, two digits at least (glibc's encoding of st_dev)
function deviceOf(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

// SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), with their extended codes; or what quick_check found
function isCorrupt(error: unknown): boolean {
  if (error instanceof CorruptDatabase) return true;
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === 'number' && ((code & 0xff) === 11 || (code & 0xff) === 26);
}

/** Moves a corrupt database (and its log) aside, for a look later; returns where. */
function setAside(path: string): string {
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of SUFFIXES) {
    try {
      renameSync(`${path}${suffix}`, `${aside}${suffix}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return aside;
}
