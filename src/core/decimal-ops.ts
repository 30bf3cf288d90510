/**
 * Exact decimal arithmetic the core needs beyond decimal.ts: fast validation/normalization of unsigned venue
 * strings, exact differences and midpoints, and a running exact sum that supports removal (rolling windows).
 */
import { DecimalError, formatDecimal, parseDecimal } from './decimal.js';
import { fixedToNumber, formatFixed, fromBig, POW10 as POW10_NUM, toBig, type Mantissa } from './fixed.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

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
 * subtract on eviction without drift. The accumulator's exponent is the finest exponent seen so far; its
 * mantissa is a JS number while it is a safe integer and a BigInt only beyond.
 */
export class ExactSum {
  private num = 0;
  private big: bigint | undefined;
  private exponent = 0;

  add(mantissa: Mantissa, exponent: number): void {
    this.accumulate(mantissa, exponent, false);
  }

  sub(mantissa: Mantissa, exponent: number): void {
    this.accumulate(mantissa, exponent, true);
  }

  addSum(other: ExactSum): void {
    this.accumulate(other.big ?? other.num, other.exponent, false);
  }

  reset(): void {
    this.num = 0;
    this.big = undefined;
    this.exponent = 0;
  }

  get isZero(): boolean {
    return this.big === undefined && this.num === 0;
  }

  toString(): string {
    return formatFixed(this.big ?? this.num, this.exponent);
  }

  toNumber(): number {
    return this.isZero ? 0 : fixedToNumber(this.big ?? this.num, this.exponent);
  }

  private accumulate(m: Mantissa, e: number, negate: boolean): void {
    if (this.big === undefined && typeof m === 'number') {
      let acc = this.num;
      let add = negate ? -m : m;
      let ok = true;
      if (e < this.exponent) {
        const k = this.exponent - e;
        acc = k <= 22 ? acc * POW10_NUM[k] : Infinity;
        ok = acc <= MAX_SAFE && acc >= -MAX_SAFE;
      } else if (e > this.exponent) {
        const k = e - this.exponent;
        add = k <= 22 ? add * POW10_NUM[k] : Infinity;
        ok = add <= MAX_SAFE && add >= -MAX_SAFE;
      }
      if (ok) {
        // Both operands are exact safe integers: a safe result is exact (rounding is monotonic).
        const r = acc + add;
        if (r <= MAX_SAFE && r >= -MAX_SAFE) {
          this.num = r === 0 ? 0 : r;
          if (e < this.exponent) this.exponent = e;
          return;
        }
      }
    }
    this.accumulateBig(toBig(m), e, negate);
  }

  private accumulateBig(m: bigint, e: number, negate: boolean): void {
    let acc = this.big ?? BigInt(this.num);
    const add = negate ? -m : m;
    if (e < this.exponent) {
      acc = acc * pow10n(this.exponent - e) + add;
      this.exponent = e;
    } else {
      acc += add * pow10n(e - this.exponent);
    }
    const small = fromBig(acc);
    if (typeof small === 'number') {
      this.num = small;
      this.big = undefined;
    } else {
      this.big = small;
    }
  }
}
