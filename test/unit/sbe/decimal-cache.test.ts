import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal } from '../../../src/core/decimal.js';
import { DecimalCache, cachedMantissaAt } from '../../../src/sbe/decimal-cache.js';

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const EXPONENT = fc.integer({ min: -128, max: 127 });
/** Mostly book-like values (0.01 tick at exponent -8, small quantities), plus any int64 at all. */
const MANTISSA = fc.oneof(
  fc.integer({ min: 6_000_000, max: 10_000_000 }).map((ticks) => BigInt(ticks) * 1_000_000n),
  fc.integer({ min: 1, max: 100_000 }).map((lots) => BigInt(lots) * 1000n),
  fc.bigInt({ min: -(2n ** 53n) - 10n, max: 2n ** 53n + 10n }),
  INT64,
);

function words(m: bigint): [number, number] {
  const u = BigInt.asUintN(64, m);
  return [Number(BigInt.asIntN(32, u & 0xffffffffn)), Number(BigInt.asIntN(32, u >> 32n))];
}

function formatVia(cache: DecimalCache, m: bigint, e: number): string {
  const [lo, hi] = words(m);
  return cache.format(lo, hi, e);
}

describe('DecimalCache: cached formatting equals core formatDecimal', () => {
  it('for any int64 mantissa and int8 exponent, repeated and evicted (4-entry cache)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(MANTISSA, EXPONENT), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 60 }), (pool, picks) => {
        // A tiny cache sees constant evictions and set collisions; every answer must still be exact.
        const cache = new DecimalCache(2);
        const order = [...pool.keys(), ...picks.map((p) => p % pool.length)];
        for (const i of order) {
          const [m, e] = pool[i];
          expect(formatVia(cache, m, e)).toBe(formatDecimal(m, e));
        }
        expect(cache.hits + cache.misses).toBe(order.length);
      }),
      { numRuns: 400 },
    );
  });

  it('with the default size: repeats hit and still agree', () => {
    const cache = new DecimalCache();
    fc.assert(
      fc.property(fc.array(fc.tuple(MANTISSA, fc.integer({ min: -20, max: 20 })), { minLength: 1, maxLength: 50 }), (values) => {
        cache.resetStats();
        for (const [m, e] of values) expect(formatVia(cache, m, e)).toBe(formatDecimal(m, e));
        for (const [m, e] of values) expect(formatVia(cache, m, e)).toBe(formatDecimal(m, e));
        // The second pass asks only for values stored moments ago; 50 of them cannot fill 32,768 slots'
        // sets except by an unlucky 3-way collision, so nearly all of it hits.
        expect(cache.hits).toBeGreaterThanOrEqual(values.length - 2);
      }),
      { numRuns: 300 },
    );
  });

  it('the same mantissa at different exponents, and same low word with a different high word, are different keys', () => {
    const cache = new DecimalCache(1);
    expect(formatVia(cache, 12345n, -2)).toBe('123.45');
    expect(formatVia(cache, 12345n, -3)).toBe('12.345');
    expect(formatVia(cache, 12345n, -2)).toBe('123.45');
    expect(formatVia(cache, 12345n + (1n << 32n), -2)).toBe(formatDecimal(12345n + (1n << 32n), -2));
    expect(formatVia(cache, 12345n - (1n << 32n), -2)).toBe(formatDecimal(12345n - (1n << 32n), -2));
    expect(formatVia(cache, -(2n ** 63n), 0)).toBe('-9223372036854775808');
    expect(formatVia(cache, 2n ** 63n - 1n, -19)).toBe('0.9223372036854775807');
    expect(formatVia(cache, -(2n ** 53n), -8)).toBe(formatDecimal(-(2n ** 53n), -8));
  });

  it('reads the mantissa from bytes in either byte order', () => {
    fc.assert(
      fc.property(INT64, fc.integer({ min: -20, max: 20 }), fc.nat({ max: 5 }), (m, e, at) => {
        const bytes = new Uint8Array(at + 8 + 3);
        const view = new DataView(bytes.buffer);
        view.setBigInt64(at, m, true);
        expect(cachedMantissaAt(bytes, at, e, true)).toBe(formatDecimal(m, e));
        view.setBigInt64(at, m, false);
        expect(cachedMantissaAt(bytes, at, e, false)).toBe(formatDecimal(m, e));
      }),
      { numRuns: 2000 },
    );
  });

  it('is bounded: capacity is fixed whatever it is fed, and clear() forgets', () => {
    const cache = new DecimalCache(4);
    expect(cache.capacity).toBe(16);
    for (let i = 0; i < 1000; i++) formatVia(cache, BigInt(i), -2);
    expect(cache.capacity).toBe(16);
    expect(cache.misses).toBe(1000);
    cache.clear();
    expect(cache.stats()).toEqual({ hits: 0, misses: 0 });
    expect(formatVia(cache, 999n, -2)).toBe('9.99');
    expect(cache.stats()).toEqual({ hits: 0, misses: 1 });
    expect(formatVia(cache, 999n, -2)).toBe('9.99');
    expect(cache.stats()).toEqual({ hits: 1, misses: 1 });
    // An empty slot must not match a zero key with exponent 0.
    expect(new DecimalCache(1).format(0, 0, 0)).toBe('0');
  });

  it('rejects a size it cannot hold', () => {
    expect(() => new DecimalCache(0)).toThrow(RangeError);
    expect(() => new DecimalCache(21)).toThrow(RangeError);
    expect(() => new DecimalCache(2.5)).toThrow(RangeError);
  });
});
