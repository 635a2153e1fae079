import { describe, expect, it } from 'vitest';
import { forEachLimited } from '../../src/contract/for-each-limited.ts';
import { withTimeout } from '../../src/contract/with-timeout.ts';

describe('withTimeout', () => {
  it('answers with the promise when it settles first', async () => {
    await expect(withTimeout(Promise.resolve('done'), 10_000, () => 'late')).resolves.toBe('done');
    await expect(withTimeout(Promise.reject(new Error('broke')), 10_000, () => 'late')).rejects.toThrow(
      'broke',
    );
  });

  it('answers with onTimeout when the time passes first, or rejects with what it throws', async () => {
    const never = new Promise<string>(() => undefined);
    await expect(withTimeout(never, 1, () => 'timed out')).resolves.toBe('timed out');
    await expect(
      withTimeout(never, 1, () => {
        throw new Error('no answer in 1 ms');
      }),
    ).rejects.toThrow('no answer in 1 ms');
  });
});

describe('forEachLimited', () => {
  it('calls each item once, in order, never more than the limit at a time', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    await forEachLimited(items, 3, async (item, index) => {
      expect(index).toBe(item);
      started.push(item);
      most = Math.max(most, ++running);
      await new Promise<void>((resolve) => setImmediate(resolve));
      running--;
    });
    expect(started).toEqual(items);
    expect(most).toBe(3);
  });

  it('resolves at once for no items and rejects with the first failure', async () => {
    await expect(forEachLimited([], 4, async () => undefined)).resolves.toBeUndefined();
    await expect(
      forEachLimited([1, 2, 3], 2, async (item) => {
        if (item === 2) throw new Error('item 2 failed');
      }),
    ).rejects.toThrow('item 2 failed');
  });
});
