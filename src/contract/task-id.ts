// Task ids: safe single-segment file names, checked the same way by every writer and reader.
import { randomBytes } from 'node:crypto';
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

export function newTaskId(): string {
  return `task-${randomBytes(8).toString('hex')}`;
}
