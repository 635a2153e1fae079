import { describe, expect, it } from 'vitest';
import { parseJsonl } from '../../src/store/jsonl-read.ts';

describe('parseJsonl', () => {
  it('reads whole lines and skips blank ones', () => {
    expect(parseJsonl('{"a":1}\n\n{"a":2}\n')).toEqual({
      lines: [{ a: 1 }, { a: 2 }],
      tornTail: undefined,
      badLines: [],
    });
  });

  it('tolerates a torn last line and reports it', () => {
    const read = parseJsonl('{"a":1}\n{"a":2}\n{"a":');
    expect(read.lines).toEqual([{ a: 1 }, { a: 2 }]);
    expect(read.tornTail).toBe('{"a":');
  });

  it('tolerates a NUL-filled tail left by a crash', () => {
    const read = parseJsonl(`{"a":1}\n${'\0'.repeat(64)}`);
    expect(read.lines).toEqual([{ a: 1 }]);
    expect(read.tornTail).toBeUndefined();
  });

  it('reports an unreadable line in the middle by number', () => {
    const read = parseJsonl('{"a":1}\n{"a":\n{"a":3}\n');
    expect(read.lines).toEqual([{ a: 1 }, { a: 3 }]);
    expect(read.badLines).toEqual([2]);
  });
});
