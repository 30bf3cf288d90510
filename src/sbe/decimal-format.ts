/**
 * The decoder's hot path (on a DecimalCache miss): an int64 mantissa → the exact decimal string that
 * core/decimal.ts formatDecimal would produce. Most mantissas fit in a double exactly, so those are
 * formatted from Number digits without allocating a BigInt; the rest fall back to formatDecimal.
 */
import { formatDecimal } from '../core/decimal.js';

const TWO_POW_32 = 4294967296;
/** |hi| ≤ 2^21 - 1 keeps hi·2^32 + lo inside ±(2^53 - 1). */
const SAFE_HI = 0x1fffff;

const zeroCache: string[] = [];
function zeros(n: number): string {
  let z = zeroCache[n];
  if (z === undefined) {
    z = '0'.repeat(n);
    if (n < 512) zeroCache[n] = z;
  }
  return z;
}

/** 10^k for k ≤ 15: every one is exact and, times any quotient below 2^53, stays exact. */
const POW10: number[] = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** formatDecimal for a mantissa that is a safe integer (|m| < 2^53). */
export function formatSafeMantissa(mantissa: number, exponent: number): string {
  if (mantissa === 0) return '0';
  const negative = mantissa < 0;
  const n = negative ? -mantissa : mantissa;
  let out: string;
  if (exponent >= 0) {
    out = exponent === 0 ? '' + n : '' + n + zeros(exponent);
  } else if (exponent >= -15) {
    // Split at the decimal point with exact double arithmetic: for n < 2^53 the rounded quotient never
    // reaches the next integer, so floor() is the true integer part and the remainder is exact.
    const scale = POW10[-exponent];
    const intPart = Math.floor(n / scale);
    const frac = n - intPart * scale;
    if (frac === 0) {
      out = '' + intPart;
    } else {
      // frac + scale prints as "1" followed by exactly -exponent digits, leading zeros included.
      const digits = '' + (frac + scale);
      let end = digits.length;
      while (digits.charCodeAt(end - 1) === 48) end--;
      out = intPart + '.' + digits.slice(1, end);
    }
  } else {
    return formatDecimal(BigInt(mantissa), exponent);
  }
  return negative ? '-' + out : out;
}

/**
 * The int64 mantissa whose 32-bit words are `lo` and `hi` (either signedness for `lo`), scaled by
 * 10^exponent, as an exact decimal string: Number digits when it is a safe integer, else BigInt.
 */
export function formatInt64Words(lo: number, hi: number, exponent: number): string {
  if (hi <= SAFE_HI && hi >= -SAFE_HI) return formatSafeMantissa(hi * TWO_POW_32 + (lo >>> 0), exponent);
  return formatDecimal((BigInt(hi) << 32n) + BigInt(lo >>> 0), exponent);
}
