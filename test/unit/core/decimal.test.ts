import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addDecimals,
  compareDecimals,
  decimalToNumber,
  formatDecimal,
  normalizeDecimal,
  parseDecimal,
  toMantissa,
} from '../../../src/core/decimal.js';

describe('formatDecimal', () => {
  it('renders the venue digits exactly', () => {
    expect(formatDecimal(4523050000000n, -8)).toBe('45230.5');
    expect(formatDecimal(15670000n, -8)).toBe('0.1567');
    expect(formatDecimal(1n, -8)).toBe('0.00000001');
    expect(formatDecimal(-25n, -1)).toBe('-2.5');
    expect(formatDecimal(12n, 2)).toBe('1200');
    expect(formatDecimal(0n, -8)).toBe('0');
    expect(formatDecimal(100n, 0)).toBe('100');
  });
  it('keeps mantissas beyond 2^53 exact', () => {
    expect(formatDecimal(9007199254740993n, -8)).toBe('90071992.54740993');
    expect(formatDecimal(9223372036854775807n, -8)).toBe('92233720368.54775807');
  });
  it('round-trips through parseDecimal for any mantissa and exponent', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: -18, max: 18 }), (m, e) => {
        const s = formatDecimal(m, e);
        const d = parseDecimal(s);
        // Same value: m·10^e == d.m·10^d.e
        const k = Math.min(e, d.exponent);
        expect(m * 10n ** BigInt(e - k)).toBe(d.mantissa * 10n ** BigInt(d.exponent - k));
      }),
    );
  });
  it('gives Numbers without float noise', () => {
    expect(decimalToNumber(4523050000000n, -8)).toBe(45230.5);
    expect(decimalToNumber(10000000n, -8)).toBe(0.1);
    expect(decimalToNumber(30000000n, -8)).toBe(0.3);
  });
});

describe('decimal helpers', () => {
  it('parses, scales and normalizes', () => {
    expect(parseDecimal('45230.50')).toEqual({ mantissa: 4523050n, exponent: -2 });
    expect(toMantissa('45230.5', -8)).toBe(4523050000000n);
    expect(() => toMantissa('0.123', -2)).toThrow(/not representable/);
    expect(() => parseDecimal('1e5')).toThrow(/not a decimal/);
    expect(normalizeDecimal('0.10000000')).toBe('0.1');
    expect(normalizeDecimal('0.00000000')).toBe('0');
  });
  it('adds exactly', () => {
    expect(addDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(addDecimals(['1.00000001', '2', '0.5'])).toBe('3.50000001');
    expect(addDecimals([])).toBe('0');
  });
  it('compares exactly', () => {
    expect(compareDecimals('1.10', '1.1')).toBe(0);
    expect(compareDecimals('1.09', '1.1')).toBe(-1);
    expect(compareDecimals('-1', '-2')).toBe(1);
  });
});
