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

// A new id is `task-`, its minting time in microseconds since 1970 (11 digits), then 64 random bits (13 digits), in
// base32 with the digits in ASCII order (0-9, then a-z without i, l, o, u), all lower case: 29 characters that sort by
// when they were made. The index is keyed by task id, and with ids of 64 random bits only, each new task's row went
// into a random page of the key and of tasks_missing, two pages written to the index's log per task (about 17 KiB
// written per new task at 20,000 rows, 36-51 µs of CPU); in time order the rows go to the last pages, written once
// per transaction (2.7 KiB, 9-16 µs). `ls` of the logs folder and the index's task id order follow creation too.
// Within a process the times only go up (a microsecond on from the last id when the clock says no later), so ids
// minted one after another sort in that order; two processes' ids differ by their random bits.
const DIGITS = '0123456789abcdefghjkmnpqrstvwxyz';
// every pair of digits (10 bits), so an id is put together from a dozen strings rather than 29
const PAIRS = Array.from({ length: 1024 }, (_, bits) => DIGITS[bits >>> 5]! + DIGITS[bits & 31]!);
const THIRTY_BITS = 2 ** 30;

// the random bits come from a pool filled 512 ids at a time: one randomBytes call per id cost 6 µs in a loop and up
// to 60 µs per webhook in a profile of the server, the same bytes from the same generator
const pool = Buffer.alloc(4096);
let taken = pool.length;
let lastMicros = 0;
// `task-` and the first 5 time digits (25 bits: they change every 18 minutes)
let prefixOf = -1;
let prefix = '';

export function newTaskId(): string {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const now = Date.now() * 1000;
  lastMicros = now > lastMicros ? now : lastMicros + 1;
  // exact while the time is below 2^53 µs (the year 2255); 11 digits hold 55 bits
  const top = Math.floor(lastMicros / THIRTY_BITS);
  if (top !== prefixOf) {
    prefixOf = top;
    prefix = `task-${DIGITS[(top >>> 20) & 31]}${PAIRS[(top >>> 10) & 1023]}${PAIRS[top & 1023]}`;
  }
  const time = lastMicros - top * THIRTY_BITS;
  // 64 random bits as 13 digits: 4 bits, then two groups of 30 bits
  const high = pool.readUInt32BE(taken);
  const low = pool.readUInt32BE(taken + 4);
  taken += 8;
  return (
    prefix +
    thirtyBits(time) +
    DIGITS[high >>> 28] +
    thirtyBits(((high & 0x0fffffff) << 2) | (low >>> 30)) +
    thirtyBits(low & 0x3fffffff)
  );
}

function thirtyBits(bits: number): string {
  return PAIRS[(bits >>> 20) & 1023]! + PAIRS[(bits >>> 10) & 1023]! + PAIRS[bits & 1023]!;
}
