import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hrTimeToIso, msToIso } from '../../exporters/telemetry-item.ts';

describe('timestamps in the files', () => {
  it('format any millisecond exactly as Date#toISOString does', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        expect(msToIso(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('stay right when consecutive calls cross a second, go back in time, or repeat', () => {
    const times = [
      1_700_000_000_999, 1_700_000_001_000, 1_699_999_999_001, 1_700_000_001_000, 0, 999, 253_402_300_799_999,
      // the same millisecond again (its string is kept), a fraction of it, the next one, and back
      1_700_000_000_500, 1_700_000_000_500, 1_700_000_000_500.9, 1_700_000_000_501, 1_700_000_000_500,
    ];
    for (const ms of times) expect(msToIso(ms)).toBe(new Date(ms).toISOString());
  });

  it('take hrtime with nanoseconds, rounding down to the millisecond', () => {
    expect(hrTimeToIso([1_700_000_000, 123_999_999])).toBe('2023-11-14T22:13:20.123Z');
  });

  it('throw RangeError for a time that is not one, as Date does', () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1, -8.64e15 - 1])
      expect(() => msToIso(ms)).toThrow(RangeError);
    expect(() => hrTimeToIso([1e20, 0])).toThrow(RangeError);
  });
});
