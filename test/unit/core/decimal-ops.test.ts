import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExactSum, midDecimal, mulDecimals, normalizeUnsigned, subDecimals } from '../../../src/core/decimal-ops.js';
import { addDecimals, compareDecimals, DecimalError, formatDecimal, normalizeDecimal, parseDecimal } from '../../../src/core/decimal.js';

const dec = fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: -12, max: 3 })).map(([m, e]) => formatDecimal(m, e));
const udec = fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: -12, max: 3 }), fc.nat({ max: 3 })).map(
  // Pad with trailing zeros / a leading zero the way venues do.
  ([m, e, pad]) => {
    const s = formatDecimal(m, e);
    return pad === 0 ? s : pad === 1 ? (s.includes('.') ? s + '000' : s + '.000') : '0' + s;
  },
);

describe('decimal-ops', () => {
  it('normalizeUnsigned agrees with normalizeDecimal on unsigned input', () => {
    fc.assert(
      fc.property(udec, (s) => {
        expect(normalizeUnsigned(s)).toBe(normalizeDecimal(s));
      }),
    );
    expect(normalizeUnsigned('45230.50000000')).toBe('45230.5');
    expect(normalizeUnsigned('0.00000000')).toBe('0');
    expect(normalizeUnsigned('007')).toBe('7');
    for (const bad of ['-1', '1e3', '', '.5', '1.', ' 1']) expect(() => normalizeUnsigned(bad)).toThrow(DecimalError);
  });

  it('sub, mid and mul are exact', () => {
    fc.assert(
      fc.property(dec, dec, (a, b) => {
        expect(compareDecimals(addDecimals([subDecimals(a, b), b]), a)).toBe(0);
        const mid = midDecimal(a, b);
        expect(compareDecimals(addDecimals([mid, mid]), addDecimals([a, b]))).toBe(0);
        const p = parseDecimal(mulDecimals(a, b));
        const x = parseDecimal(a);
        const y = parseDecimal(b);
        expect(compareDecimals(formatDecimal(p.mantissa, p.exponent), formatDecimal(x.mantissa * y.mantissa, x.exponent + y.exponent))).toBe(0);
      }),
    );
    expect(midDecimal('45230.01', '45230.02')).toBe('45230.015');
    expect(subDecimals('45230.02', '45230.01')).toBe('0.01');
  });

  it('ExactSum adds and removes without drift', () => {
    fc.assert(
      fc.property(fc.array(dec, { maxLength: 40 }), fc.nat(), (xs, k) => {
        const s = new ExactSum();
        for (const x of xs) {
          const d = parseDecimal(x);
          s.add(d.mantissa, d.exponent);
        }
        expect(compareDecimals(s.toString(), addDecimals(xs))).toBe(0);
        const cut = xs.length === 0 ? 0 : k % xs.length;
        for (const x of xs.slice(0, cut)) {
          const d = parseDecimal(x);
          s.sub(d.mantissa, d.exponent);
        }
        expect(compareDecimals(s.toString(), addDecimals(xs.slice(cut)))).toBe(0);
        expect(s.toNumber()).toBe(Number(s.toString()));
      }),
    );
  });
});
