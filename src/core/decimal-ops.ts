/**
 * Exact decimal arithmetic the core needs beyond decimal.ts: fast validation/normalization of unsigned venue
 * strings, exact differences and midpoints, and a running exact sum that supports removal (rolling windows).
 */
import { DecimalError, formatDecimal, parseDecimal } from './decimal.js';

const POW10: bigint[] = [1n];
/** 10^k as a BigInt, cached (exponent gaps are small: venue exponents stay within int8). */
export function pow10n(k: number): bigint {
  if (k < 0 || !Number.isInteger(k)) throw new DecimalError(`pow10n needs a non-negative integer, got ${k}`);
  while (POW10.length <= k) POW10.push(POW10[POW10.length - 1] * 10n);
  return POW10[k];
}

const UNSIGNED_RE = /^\d+(?:\.\d+)?$/;

/**
 * Canonical form of an unsigned decimal string without going through BigInt (hot path of the order book):
 * "45230.50000000" → "45230.5", "0.00" → "0", "007" → "7". Throws DecimalError on anything else.
 */
export function normalizeUnsigned(text: string): string {
  if (!UNSIGNED_RE.test(text)) throw new DecimalError(`not an unsigned decimal number: ${JSON.stringify(text)}`);
  let end = text.length;
  const dot = text.indexOf('.');
  if (dot >= 0) {
    while (text.charCodeAt(end - 1) === 48) end--; // trailing zeros of the fraction
    if (end === dot + 1) end = dot; // nothing left after the point
  }
  let start = 0;
  const intEnd = dot >= 0 ? Math.min(dot, end) : end;
  while (start < intEnd - 1 && text.charCodeAt(start) === 48) start++; // leading zeros, keep one digit
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function aligned(a: string, b: string): { x: bigint; y: bigint; e: number } {
  const da = parseDecimal(a);
  const db = parseDecimal(b);
  const e = Math.min(da.exponent, db.exponent);
  return { x: da.mantissa * pow10n(da.exponent - e), y: db.mantissa * pow10n(db.exponent - e), e };
}

/** a − b exactly. */
export function subDecimals(a: string, b: string): string {
  const { x, y, e } = aligned(a, b);
  return formatDecimal(x - y, e);
}

/** (a + b) / 2 exactly: halving a decimal needs at most one more digit (×5 at exponent − 1). */
export function midDecimal(a: string, b: string): string {
  const { x, y, e } = aligned(a, b);
  return formatDecimal((x + y) * 5n, e - 1);
}

/** a × b exactly. */
export function mulDecimals(a: string, b: string): string {
  const da = parseDecimal(a);
  const db = parseDecimal(b);
  return formatDecimal(da.mantissa * db.mantissa, da.exponent + db.exponent);
}

/**
 * An exact running sum of decimals that supports subtraction, so a sliding window can add on entry and
 * subtract on eviction without drift. The accumulator's exponent is the finest exponent seen so far.
 */
export class ExactSum {
  private mantissa = 0n;
  private exponent = 0;

  add(mantissa: bigint, exponent: number): void {
    this.accumulate(mantissa, exponent);
  }

  sub(mantissa: bigint, exponent: number): void {
    this.accumulate(-mantissa, exponent);
  }

  addSum(other: ExactSum): void {
    this.accumulate(other.mantissa, other.exponent);
  }

  reset(): void {
    this.mantissa = 0n;
    this.exponent = 0;
  }

  get isZero(): boolean {
    return this.mantissa === 0n;
  }

  toString(): string {
    return formatDecimal(this.mantissa, this.exponent);
  }

  toNumber(): number {
    return this.mantissa === 0n ? 0 : Number(this.toString());
  }

  private accumulate(m: bigint, e: number): void {
    if (e < this.exponent) {
      this.mantissa = this.mantissa * pow10n(this.exponent - e) + m;
      this.exponent = e;
    } else if (e === this.exponent) {
      this.mantissa += m;
    } else {
      this.mantissa += m * pow10n(e - this.exponent);
    }
  }
}
