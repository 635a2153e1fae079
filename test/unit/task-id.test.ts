import { spawn } from 'node:child_process';
import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
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
  const MINTED = /^task-[0-9a-hjkmnp-tv-z]{24}$/;
  const DIGITS = '0123456789abcdefghjkmnpqrstvwxyz';
  const decode = (digits: string): bigint =>
    [...digits].reduce((n, d) => n * 32n + BigInt(DIGITS.indexOf(d)), 0n);
  // the parts of a minted id: microseconds since 1970, then the random bits
  const parts = (id: string) => ({ micros: decode(id.slice(5, 16)), random: decode(id.slice(16)) });

  it('makes valid ids that sort in the order they were minted, and tell the time they were minted', () => {
    const before = BigInt(Date.now()) * 1000n;
    const ids = Array.from({ length: 5000 }, newTaskId);
    const after = BigInt(Date.now()) * 1000n + 5000n;
    expect(new Set(ids).size).toBe(5000);
    expect(ids.toSorted()).toEqual(ids);
    expect(ids.filter((id) => !MINTED.test(id) || tryParseTaskId(id) !== id)).toEqual([]);
    const times = ids.map((id) => parts(id).micros);
    expect(times.filter((micros) => micros < before || micros > after)).toEqual([]);
  });

  it('keeps minting in order when the clock goes back', () => {
    const first = newTaskId();
    const now = vi.spyOn(Date, 'now').mockReturnValue(Date.now() - 3_600_000);
    try {
      const later = [newTaskId(), newTaskId()];
      expect([first, ...later].toSorted()).toEqual([first, ...later]);
    } finally {
      now.mockRestore();
    }
  });

  it('carries 64 random bits: each bit set in about half of the ids, no two alike', () => {
    const randoms = Array.from({ length: 4096 }, () => parts(newTaskId()).random);
    expect(new Set(randoms).size).toBe(randoms.length);
    for (let bit = 0n; bit < 64n; bit++) {
      let set = 0;
      for (const r of randoms) if ((r >> bit) & 1n) set++;
      // 2,048 expected, a standard deviation of 32: outside 1,200-2,900 is a bit that is not random
      expect(set, `bit ${bit}`).toBeGreaterThan(1200);
      expect(set, `bit ${bit}`).toBeLessThan(2900);
    }
    expect(randoms.every((r) => r < 2n ** 64n)).toBe(true);
  });

  it('makes different ids in two processes minting at once', async () => {
    const script = `import { newTaskId } from ${JSON.stringify(pathToFileURL(resolve('src/contract/task-id.ts')).href)};
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => process.stdout.write(JSON.stringify(Array.from({ length: 5000 }, newTaskId))));`;
    const mint = () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const ready = new Promise<void>((done) => child.stdout.once('data', () => done()));
      const ids = new Promise<string[]>((done, fail) =>
        child.on('close', (code) =>
          code === 0 ? done(JSON.parse(out.slice('ready\n'.length))) : fail(new Error(`exit ${code}`)),
        ),
      );
      return { child, ready, ids };
    };
    const two = [mint(), mint()];
    await Promise.all(two.map((p) => p.ready));
    for (const p of two) p.child.stdin.end('go');
    const [a, b] = await Promise.all(two.map((p) => p.ids));
    for (const ids of [a!, b!]) {
      expect(ids).toHaveLength(5000);
      expect(ids.toSorted()).toEqual(ids);
    }
    // the random parts alone differ, whatever the times
    const randoms = new Set([...a!, ...b!].map((id) => id.slice(16)));
    expect(randoms.size).toBe(10000);
  });
});
