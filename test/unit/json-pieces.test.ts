import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseJsonBytes, WHOLE_BYTES } from '../../src/ingest/json-pieces.ts';

let seed = 7;
const next = (n: number) => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  // the high bits: the low bits of this generator repeat in short cycles
  return Math.floor((seed / 2_147_483_648) * n);
};
const TEXTS = [
  '',
  'a',
  'é😀',
  '\\"quoted\\" {[,:]}',
  '\u2028',
  '\uD800',
  'x'.repeat(40_000),
  'w'.repeat(300),
];
const KEYS = ['a', 'b', '__proto__', 'key with "quotes"', '', 'é'];

// a value of a few hundred bytes on average (a text of 40,000 characters now and then), nested up to 7 levels
function randomValue(depth: number): unknown {
  const kind = depth > 6 ? next(4) : next(7);
  if (kind === 0) return next(30) === 0 ? TEXTS[6] : TEXTS[next(TEXTS.length)];
  if (kind === 1) return [0, -0.5, 1e21, 123_456_789_012, -7][next(5)];
  if (kind === 2) return [true, false, null][next(3)];
  if (kind === 3) return `t${next(1000)}`;
  if (kind < 6) return Array.from({ length: next(depth < 2 ? 400 : 6) }, () => randomValue(depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = next(4); i > 0; i--) out[KEYS[next(KEYS.length)]!] = randomValue(depth + 1);
  return out;
}

// the value's JSON with whitespace here and there, and a key written twice (JSON.parse keeps the last)
function text(value: unknown): string {
  const space = () => [' ', '', '\n', '\t ', '\r\n'][next(5)];
  if (Array.isArray(value)) return `[${space()}${value.map((v) => `${text(v)}${space()}`).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(
      ([k, v]) => `${JSON.stringify(k)}${space()}:${space()}${text(v)}`,
    );
    if (members.length > 0 && next(4) === 0) members.unshift(`"a":${space()}"first"`);
    return `{${space()}${members.join(`,${space()}`)}}`;
  }
  return JSON.stringify(value);
}

const outcome = (parse: () => unknown) => {
  try {
    return { value: parse() };
  } catch (error) {
    return { error: (error as Error).name };
  }
};

function same(source: string | Uint8Array): void {
  const bytes = typeof source === 'string' ? Buffer.from(source) : source;
  const expected = outcome(() =>
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')),
  );
  const got = outcome(() => parseJsonBytes(bytes));
  if ('error' in expected) expect(got).toEqual({ error: 'SyntaxError' });
  else {
    expect(got).not.toHaveProperty('error');
    // deep equality, own "__proto__" keys and key order included
    expect(isDeepStrictEqual(got.value, expected.value)).toBe(true);
    expect(JSON.stringify(got.value)).toBe(JSON.stringify(expected.value));
  }
}

describe('parseJsonBytes: a large body parsed in pieces', () => {
  it('gives what JSON.parse gives for large texts of every shape (nesting past its depth, pieces and keys of all kinds)', () => {
    for (let run = 0; run < 4; run++) {
      // lists and objects of values, nested in lists and objects (more than one piece each at the outer levels)
      const items: unknown[] = [];
      for (let size = 0; size <= WHOLE_BYTES * 1.2; size += JSON.stringify(items.at(-1)).length)
        items.push(randomValue(2));
      const half = items.length >> 1;
      same(text({ b: [items.slice(0, half), { c: items.slice(half) }], a: run }));
    }
    // nested deeper than the depth walked in pieces, and a single value larger than a piece
    same(`${'['.repeat(20)}${JSON.stringify('y'.repeat(WHOLE_BYTES))}${']'.repeat(20)}`);
    same(`{"__proto__": {"polluted": true}, "list": [${'1,'.repeat(WHOLE_BYTES)}2]}`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what JSON.parse refuses, whatever byte is changed, removed or cut off', () => {
    const items: unknown[] = [];
    for (let size = 0; size <= WHOLE_BYTES * 1.2; size += JSON.stringify(items.at(-1)).length)
      items.push(next(30) === 0 ? 'short' : randomValue(3));
    const valid = Buffer.from(text({ resourceLogs: [{ scopeLogs: [{ logRecords: items }] }] }));
    const swaps = Buffer.from('{}[],:"\\ 0a-.\xc3', 'latin1');
    // one scratch copy, changed in place (fresh memory is slow to touch on this project's machines)
    const scratch = Buffer.alloc(valid.length);
    for (let run = 0; run < 25; run++) {
      valid.copy(scratch);
      const at = next(valid.length);
      const kind = next(3);
      if (kind === 0) scratch[at] = swaps[next(swaps.length)]!;
      else if (kind === 1) scratch.copyWithin(at, at + 1);
      same(scratch.subarray(0, kind === 0 ? valid.length : kind === 1 ? valid.length - 1 : at));
    }
    // between the pieces, where the structure is checked here rather than by JSON.parse
    const big = `[${'0,'.repeat(WHOLE_BYTES / 2)}1]`;
    for (const bad of [
      `{"k":${big},}`,
      `[${big},]`,
      `[${big},,1]`,
      `{"k" ${big}}`,
      `{k:${big}}`,
      `{"k":${big},"j"}`,
      `${big} x`,
      `\uFEFF${big}`,
      `[\f${big}]`,
      `{"k":${big}`,
      `[${big}}`,
      `{"k\\":${big}}`,
      `[${'0,'.repeat(WHOLE_BYTES / 2)}[1}]`,
    ])
      same(bad);
    // invalid UTF-8 becomes U+FFFD in both, inside pieces and between them
    same(Buffer.concat([Buffer.from(`["${'z'.repeat(WHOLE_BYTES)}`), Buffer.from([0xc3, 0x22, 0x5d])]));
  });

  it('parses the small items of a large list together, a piece at a time, not one JSON.parse each', () => {
    // a hostile body of tiny items: one JSON.parse (and one push) per item was three times as slow as JSON.parse of
    // the whole text, on the event loop for bodies up to 1 MiB
    const items = Array.from({ length: 60_000 }, (_, i) => [0, '', {}, [], null, 'é'][i % 6]);
    const body = JSON.stringify({ a: items, b: [...items, { big: 'x'.repeat(40_000) }, ...items] });
    const parse = JSON.parse;
    let calls = 0;
    JSON.parse = (text: string, reviver?: Parameters<typeof parse>[1]) => {
      calls++;
      return parse(text, reviver);
    };
    try {
      same(body);
    } finally {
      JSON.parse = parse;
    }
    // two calls of `same`'s own, and a piece per 32 KB or so
    expect(calls).toBeLessThan(40);
  });
});
