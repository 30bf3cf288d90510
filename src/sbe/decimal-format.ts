/**
 * The decoder's hot path (on a DecimalCache miss): an int64 mantissa → the exact decimal string that
 * core/decimal.ts formatDecimal would produce. Most mantissas fit in a double exactly, so those are
 * formatted from Number digits by the core's formatter (formatSafeMantissa) without allocating a BigInt;
 * the rest fall back to formatDecimal.
 */
import { formatDecimal } from '../core/decimal.js';
import { formatSafeMantissa } from '../core/fixed.js';

export { formatSafeMantissa };

const TWO_POW_32 = 4294967296;
/** |hi| ≤ 2^21 - 1 keeps hi·2^32 + lo inside ±(2^53 - 1). */
const SAFE_HI = 0x1fffff;

/**
 * The int64 mantissa whose 32-bit words are `lo` and `hi` (either signedness for `lo`), scaled by
 * 10^exponent, as an exact decimal string: Number digits when it is a safe integer, else BigInt.
 */
export function formatInt64Words(lo: number, hi: number, exponent: number): string {
  if (hi <= SAFE_HI && hi >= -SAFE_HI) return formatSafeMantissa(hi * TWO_POW_32 + (lo >>> 0), exponent);
  return formatDecimal((BigInt(hi) << 32n) + BigInt(lo >>> 0), exponent);
}
