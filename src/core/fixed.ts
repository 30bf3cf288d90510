/**
 * Fixed-point decimals as the core carries them: mantissa × 10^exponent, the mantissa a JS number while it
 * is a safe integer (the venue's int64 mantissas almost always are) and a BigInt beyond. A value is a number
 * iff it is safe, so equal values at equal exponents always have identical representations.
 *
 * Exact decimal strings are made from these only where a person or Redis reads them (formatFixed); floats
 * only where feature math needs them (fixedToNumber, correctly rounded: the same double as Number(text)).
 */
import { DecimalError, formatDecimal } from './decimal.js';

export type Mantissa = number | bigint;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_N = BigInt(MAX_SAFE);
/** 10^k for k ≤ 22: every one is an exact double. */
export const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
const POW10N: bigint[] = [1n];

/** 10^k as a BigInt, cached. */
export function pow10big(k: number): bigint {
  while (POW10N.length <= k) POW10N.push(POW10N[POW10N.length - 1] * 10n);
  return POW10N[k];
}

/** A BigInt as the canonical Mantissa: a number when it is a safe integer. */
export function fromBig(m: bigint): Mantissa {
  return m <= MAX_SAFE_N && m >= -MAX_SAFE_N ? Number(m) : m;
}

export function toBig(m: Mantissa): bigint {
  return typeof m === 'bigint' ? m : BigInt(m);
}

const zeroCache: string[] = [];
function zeros(n: number): string {
  let z = zeroCache[n];
  if (z === undefined) {
    z = '0'.repeat(n);
    if (n < 512) zeroCache[n] = z;
  }
  return z;
}

/** formatDecimal for a mantissa that is a safe integer, from Number digits (no BigInt). */
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

/** The exact shortest decimal string (what formatDecimal prints for the same value). */
export function formatFixed(m: Mantissa, e: number): string {
  return typeof m === 'number' ? formatSafeMantissa(m, e) : formatDecimal(m, e);
}

/** The double nearest to m × 10^e: one correctly rounded operation on exact operands, so equal to Number(text). */
export function fixedToNumber(m: Mantissa, e: number): number {
  if (typeof m === 'number') {
    if (m === 0) return 0;
    if (e === 0) return m;
    if (e < 0 && e >= -22) return m / POW10[-e];
    if (e > 0 && e <= 22) return m * POW10[e];
  }
  return Number(formatDecimal(toBig(m), e));
}

/** m × 10^k (k ≥ 0) exactly. */
export function scaleUp(m: Mantissa, k: number): Mantissa {
  if (k === 0) return m;
  if (typeof m === 'number' && k <= 22) {
    const r = m * POW10[k];
    // Rounding is monotonic: a true product beyond 2^53 - 1 rounds to at least 2^53, so a safe result is exact.
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  return fromBig(toBig(m) * pow10big(k));
}

/** a + b exactly. */
export function addMantissas(a: Mantissa, b: Mantissa): Mantissa {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  return fromBig(toBig(a) + toBig(b));
}

/** a × b exactly. */
export function mulMantissas(a: Mantissa, b: Mantissa): Mantissa {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  return fromBig(toBig(a) * toBig(b));
}

/** Sign of a mantissa: -1, 0 or 1. */
export function signOf(m: Mantissa): number {
  return m > 0 ? 1 : m < 0 ? -1 : 0;
}

/**
 * Scratch result of parseFixed (module state instead of an object per value: this runs for every price
 * and quantity a JSON source hands over). Read PARSED.m / PARSED.e right after the call.
 */
export const PARSED: { m: Mantissa; e: number } = { m: 0, e: 0 };

/**
 * Parse a decimal string ("45230.50000000", "-3", "1200") into PARSED as mantissa and exponent, keeping
 * every digit given (no normalization). `signed` also allows a leading '-'. Throws DecimalError otherwise
 * (exponents, '+', blanks, a bare point).
 */
export function parseFixed(text: string, signed = false): void {
  const n = text.length;
  let i = 0;
  let negative = false;
  if (signed && n > 0 && text.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  let acc = 0;
  let digits = 0;
  let fracLen = -1;
  const start = i;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      acc = acc * 10 + (c - 48);
      digits++;
      if (fracLen >= 0) fracLen++;
    } else if (c === 46 && fracLen < 0 && i > start) {
      fracLen = 0;
    } else {
      throw notDecimal(text);
    }
  }
  if (digits === 0 || fracLen === 0) throw notDecimal(text);
  const e = fracLen < 0 ? 0 : -fracLen;
  let m: Mantissa;
  // Up to 15 digits the running value is exact; beyond, redo the digits as a BigInt.
  if (digits <= 15) m = acc;
  else m = fromBig(BigInt(fracLen < 0 ? text.slice(start) : text.slice(start).replace('.', '')));
  PARSED.m = negative && m !== 0 ? -m : m;
  PARSED.e = e;
}

function notDecimal(text: string): DecimalError {
  return new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
}

/** Trailing decimal zeros of m moved into the exponent, at most `maxShift` of them. */
export function stripZeros(m: Mantissa, e: number, maxShift = Infinity): { m: Mantissa; e: number } {
  if (m === 0 || m === 0n) return { m: 0, e };
  let shift = 0;
  if (typeof m === 'number') {
    while (shift < maxShift && m % 10 === 0) {
      m /= 10;
      shift++;
    }
    return { m, e: e + shift };
  }
  let b = m;
  while (shift < maxShift && b % 10n === 0n) {
    b /= 10n;
    shift++;
  }
  return { m: fromBig(b), e: e + shift };
}

/** Compare m1 × 10^e1 with m2 × 10^e2 exactly: -1, 0 or 1. */
export function compareFixed(m1: Mantissa, e1: number, m2: Mantissa, e2: number): number {
  const e = Math.min(e1, e2);
  const a = scaleUp(m1, e1 - e);
  const b = scaleUp(m2, e2 - e);
  return a < b ? -1 : a > b ? 1 : 0;
}
