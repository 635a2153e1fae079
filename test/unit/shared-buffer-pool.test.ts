import { describe, expect, it } from 'vitest';
import { SharedBufferPool } from '../../exporters/shared-buffer-pool.ts';

describe('SharedBufferPool', () => {
  it('gives back the buffers it was given, keeps at most `keep` idle, and makes its own for larger requests', () => {
    const pool = new SharedBufferPool(1024, 2);
    const a = pool.take(10);
    const b = pool.take(1024);
    const c = pool.take(1);
    expect([a, b, c].map((buffer) => buffer.byteLength)).toEqual([1024, 1024, 1024]);
    expect(new Set([a, b, c]).size).toBe(3);
    const large = pool.take(1025);
    expect(large.byteLength).toBe(1025);
    pool.give([a, b, c, large]);
    expect(pool.idle).toBe(2);
    const again = [pool.take(5), pool.take(5)];
    expect(new Set(again)).toEqual(new Set([a, b]));
    expect(pool.idle).toBe(0);
    // a buffer given twice is held once
    pool.give([a, a]);
    expect(pool.idle).toBe(1);
    expect(pool.take(5)).toBe(a);
    const fresh = pool.take(5);
    expect([a, b, c]).not.toContain(fresh);
  });
});
