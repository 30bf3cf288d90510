/**
 * The decoder's hot path: an int64 mantissa in a buffer → the exact decimal string that
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

/** formatDecimal for a mantissa that is a safe integer (|m| < 2^53). */
export function formatSafeMantissa(mantissa: number, exponent: number): string {
  if (mantissa === 0) return '0';
  const negative = mantissa < 0;
  let n = negative ? -mantissa : mantissa;
  let exp = exponent;
  // Integer arithmetic on doubles below 2^53 is exact, so trimming here matches formatDecimal's digit trim.
  while (exp < 0 && n % 10 === 0) {
    n /= 10;
    exp += 1;
  }
  let out = '' + n;
  if (exp > 0) {
    out += zeros(exp);
  } else if (exp < 0) {
    const point = out.length + exp;
    out = point > 0 ? out.slice(0, point) + '.' + out.slice(point) : '0.' + zeros(-point) + out;
  }
  return negative ? '-' + out : out;
}

/** The little-endian int64 mantissa at `offset`, scaled by 10^exponent, as an exact decimal string. */
export function formatMantissaAt(view: DataView, offset: number, exponent: number, littleEndian = true): string {
  const lo = view.getUint32(littleEndian ? offset : offset + 4, littleEndian);
  const hi = view.getInt32(littleEndian ? offset + 4 : offset, littleEndian);
  if (hi <= SAFE_HI && hi >= -SAFE_HI) return formatSafeMantissa(hi * TWO_POW_32 + lo, exponent);
  return formatDecimal(view.getBigInt64(offset, littleEndian), exponent);
}
