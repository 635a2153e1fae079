// Task ids: safe single-segment file names, checked the same way by every writer and reader.
import { randomFillSync } from 'node:crypto';
import { quote, TaskLogsError } from './errors.ts';

const TASK_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The id as given when it is a safe folder name, else undefined. */
export function tryParseTaskId(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || !TASK_ID.test(raw) || raw === '.' || raw === '..') return undefined;
  return raw;
}

export function parseTaskId(raw: unknown): string {
  const id = tryParseTaskId(raw);
  if (id === undefined) {
    throw new TaskLogsError(
      'TASK_ID_INVALID',
      `task id ${quote(raw)} is not 1-128 characters of [A-Za-z0-9._-] (and not "." or "..")`,
    );
  }
  return id;
}

// 64 random bits per id, taken from a pool filled 512 ids at a time: one randomBytes call per id cost 6 µs in a loop
// and up to 60 µs per webhook in a profile of the server, the same bytes from the same generator
const pool = Buffer.alloc(4096);
let taken = pool.length;

export function newTaskId(): string {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const id = pool.toString('hex', taken, taken + 8);
  taken += 8;
  return `task-${id}`;
}
