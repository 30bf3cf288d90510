import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal } from '../../../src/core/decimal.js';
import { formatInt64Words, formatSafeMantissa } from '../../../src/sbe/decimal-format.js';

describe('fast mantissa formatting agrees with core formatDecimal', () => {
  it('for safe-integer mantissas at any int8 exponent', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.integer({ min: -128, max: 127 }), (m, e) => {
        expect(formatSafeMantissa(m, e)).toBe(formatDecimal(BigInt(m), e));
      }),
      { numRuns: 5000 },
    );
  });

  it('for any int64 given as its two 32-bit words (BigInt fallback beyond 2^53)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: -20, max: 20 }), (m, e) => {
        const view = new DataView(new ArrayBuffer(8));
        view.setBigInt64(0, m, true);
        expect(formatInt64Words(view.getInt32(0, true), view.getInt32(4, true), e)).toBe(formatDecimal(m, e));
      }),
      { numRuns: 5000 },
    );
  });

  it('edge values', () => {
    const cases: [number, number, string][] = [
      [0, -8, '0'],
      [100_000_000, -8, '1'],
      [9_800_001_000_000, -8, '98000.01'],
      [-5, -3, '-0.005'],
      [123, 2, '12300'],
      [Number.MAX_SAFE_INTEGER, -15, '9.007199254740991'],
      [1, -16, '0.0000000000000001'],
    ];
    for (const [m, e, s] of cases) expect(formatSafeMantissa(m, e)).toBe(s);
  });
});
