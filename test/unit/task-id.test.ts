import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newTaskId, parseTaskId, tryParseTaskId } from '../../src/contract/task-id.ts';
import { HOSTILE_IDS } from '../helpers/hostile-ids.ts';

const HOSTILE = HOSTILE_IDS;

describe('parseTaskId', () => {
  it.each(HOSTILE)('refuses %j', (raw) => {
    expect(() => parseTaskId(raw)).toThrow(/is not 1-128 characters/);
    expect(tryParseTaskId(raw)).toBeUndefined();
  });

  it('quotes the bad value in the message, cut to about 100 characters', () => {
    expect(() => parseTaskId('../etc/passwd')).toThrowErrorMatchingInlineSnapshot(
      `[TaskLogsError: task id "../etc/passwd" is not 1-128 characters of [A-Za-z0-9._-] (and not "." or "..")]`,
    );
    expect(() => parseTaskId('y'.repeat(500))).toThrow(/"y{100}…"/);
  });

  it('accepts the seed ids and 128 characters', () => {
    expect(parseTaskId('task-abc123')).toBe('task-abc123');
    expect(parseTaskId('a.b_c-D9')).toBe('a.b_c-D9');
    expect(parseTaskId('t'.repeat(128))).toHaveLength(128);
    expect(tryParseTaskId('t'.repeat(129))).toBeUndefined();
  });

  it('refuses values that are not strings', () => {
    expect(tryParseTaskId(42)).toBeUndefined();
    expect(tryParseTaskId(undefined)).toBeUndefined();
  });

  it('no accepted id resolves outside the logs folder', () => {
    const root = resolve('/data/logs/tasks');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const id = tryParseTaskId(raw);
        return id === undefined || resolve(root, id).startsWith(root + sep);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('newTaskId', () => {
  it('makes task-<random> ids that are valid and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, newTaskId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^task-[0-9a-f]{16}$/);
  });
});
