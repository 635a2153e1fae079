import { describe, expect, it } from 'vitest';
import { encodeLineLists, encodeLines, LineListsEncoder } from '../../exporters/jsonl-appender.ts';

const MiB = 1 << 20;
const plain = (lines: readonly string[]) => Buffer.from(lines.map((line) => `${line}\n`).join(''));

describe('JSONL lines encoded for append', () => {
  it('are the bytes of the joined lines, whatever the text (surrogate pairs, lone surrogates, control characters)', () => {
    // text drawn from the awkward parts of UTF-16: ASCII, controls, Latin-1, 3-byte, surrogate pairs and lone halves
    const units = [
      'a',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u007f',
      'é',
      '\u2028',
      '€',
      '😀',
      '\uD800',
      '\uDC00',
      '\uDBFF',
      '\uFFFF',
    ];
    let seed = 1;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let run = 0; run < 500; run++) {
      const lines = Array.from({ length: next(12) }, () =>
        Array.from({ length: next(40) }, () => units[next(units.length)]).join(''),
      );
      expect(Buffer.concat(encodeLines(lines)).equals(plain(lines))).toBe(true);
    }
  });

  it('come in chunks of at most 1 MiB, each ending on a whole line; a longer line is a chunk of its own', () => {
    const line = 'x'.repeat(1000);
    const many = Array.from({ length: 3000 }, (_, i) => `${line}${i}`);
    const huge = 'é'.repeat(MiB); // 2 MiB of UTF-8
    const lines = [...many, huge, 'after'];
    const chunks = encodeLines(lines);
    expect(Buffer.concat(chunks).equals(plain(lines))).toBe(true);
    for (const chunk of chunks) {
      expect(chunk.at(-1)).toBe(0x0a);
      if (chunk.length > MiB) expect(chunk.toString()).toBe(`${huge}\n`);
    }
    expect(chunks.length).toBeGreaterThanOrEqual(4);
  });

  it('encoded for a writer thread: each list gets the same bytes, in whole-line chunks of at most 1 MiB over buffers of their own', () => {
    const line = 'x'.repeat(1000);
    const many = Array.from({ length: 1500 }, (_, i) => `${line}${i}`);
    const huge = 'é'.repeat(MiB); // 2 MiB of UTF-8
    const lists = [['a', '😀\uD800'], [], many, [huge, 'after huge'], ['last']];
    const { chunks, buffers } = encodeLineLists(lists);
    expect(chunks.length).toBe(lists.length);
    for (let i = 0; i < lists.length; i++) {
      expect(Buffer.concat(chunks[i]!).equals(plain(lists[i]!))).toBe(true);
      for (const chunk of chunks[i]!) {
        expect(chunk.at(-1)).toBe(0x0a);
        expect(buffers).toContain(chunk.buffer); // a view into a listed buffer: transferable
        if (chunk.length > MiB) expect(Buffer.from(chunk).toString()).toBe(`${huge}\n`);
      }
    }
    expect(chunks[1]).toEqual([]);
    // no buffer from Buffer's shared pool: transferring one would take other buffers' bytes with it
    for (const buffer of buffers) expect(buffer.byteLength).toBeLessThanOrEqual(3 * 2 * MiB + 1);
    expect(new Set(buffers).size).toBe(buffers.length);
  });

  it('encoded a part at a time: the same chunks as in one go, whole lines in each part, at least one line a part', () => {
    const line = 'x'.repeat(1000);
    const many = Array.from({ length: 1100 }, (_, i) => `${line}${i}`);
    // longer than a chunk can surely hold (3 bytes a unit at most): a chunk of its own
    const huge = 'é'.repeat(400_000);
    const lists = [['a', '😀\uD800'], [], many, [huge, 'after huge'], ['last'], []];
    const whole = encodeLineLists(lists);
    const expected = lists.map((lines) => plain(lines));
    const lineCount = lists.reduce((n, lines) => n + lines.length, 0);
    for (const units of [1, 400_000]) {
      const encoder = new LineListsEncoder(lists);
      let parts = 1;
      while (!encoder.encode(units)) parts++;
      // units 1: exactly one line a part
      if (units === 1) expect(parts).toBe(lineCount);
      else expect(parts).toBeGreaterThan(1);
      expect(encoder.chunks.length).toBe(lists.length);
      for (let i = 0; i < lists.length; i++) {
        expect(encoder.chunks[i]!.map((chunk) => chunk.length)).toEqual(
          whole.chunks[i]!.map((c) => c.length),
        );
        expect(Buffer.concat(encoder.chunks[i]!).equals(expected[i]!)).toBe(true);
        for (const chunk of encoder.chunks[i]!)
          expect(encoder.buffers.includes(chunk.buffer as ArrayBuffer)).toBe(true);
      }
      expect(encoder.encode(units)).toBe(true);
    }
  });
});
