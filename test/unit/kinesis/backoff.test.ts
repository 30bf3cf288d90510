import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffCeiling, fullJitterBackoff } from '../../../src/kinesis/backoff.js';

describe('fullJitterBackoff', () => {
  it('stays in [0, min(cap, base*2^attempt)) for any attempt and random value', () => {
    fc.assert(
      fc.property(fc.nat(5000), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 600_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, base, cap, r) => {
        const d = fullJitterBackoff(attempt, base, cap, () => r);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        const ceiling = backoffCeiling(attempt, base, cap);
        expect(d).toBeLessThanOrEqual(ceiling);
        if (ceiling > 0) expect(d).toBeLessThan(ceiling);
      }),
    );
  });

  it('grows exponentially until the cap', () => {
    const top = () => 0.999999;
    expect(fullJitterBackoff(0, 100, 10_000, top)).toBe(99);
    expect(fullJitterBackoff(3, 100, 10_000, top)).toBe(799);
    expect(fullJitterBackoff(20, 100, 10_000, top)).toBe(9999);
    expect(fullJitterBackoff(10_000, 100, 10_000, top)).toBe(9999);
  });

  it('uses full jitter: random 0 gives 0', () => {
    expect(fullJitterBackoff(5, 100, 10_000, () => 0)).toBe(0);
  });

  it('rejects a negative attempt with a RangeError', () => {
    expect(() => fullJitterBackoff(-1, 100, 1000)).toThrow(RangeError);
  });
});
