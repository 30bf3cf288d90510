/**
 * Exact decimals. The venue sends prices and quantities as (int64 mantissa, int8 exponent); we keep its
 * digits as strings everywhere money is stored and only turn them into floats inside feature math.
 */

export class DecimalError extends Error {
  override readonly name = 'DecimalError';
}

/** mantissa × 10^exponent as the shortest exact decimal string ("45230.5", "0.1567", "-3", "1200"). */
export function formatDecimal(mantissa: bigint, exponent: number): string {
  if (mantissa === 0n) return '0';
  const negative = mantissa < 0n;
  let digits = (negative ? -mantissa : mantissa).toString();
  let exp = exponent;
  // Trim trailing zeros of the mantissa into the exponent so "4523050000000 e-8" prints as "45230.5".
  while (exp < 0 && digits.length > 1 && digits.charCodeAt(digits.length - 1) === 48) {
    digits = digits.slice(0, -1);
    exp += 1;
  }
  let out: string;
  if (exp >= 0) {
    out = exp === 0 ? digits : digits + '0'.repeat(exp);
  } else {
    const point = digits.length + exp;
    out = point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${'0'.repeat(-point)}${digits}`;
  }
  return negative ? `-${out}` : out;
}

/** A Number through the exact string, never mantissa * Math.pow(10, exp) (which adds float noise). */
export function decimalToNumber(mantissa: bigint, exponent: number): number {
  return Number(formatDecimal(mantissa, exponent));
}

const DECIMAL_RE = /^(-)?(\d+)(?:\.(\d+))?$/;

export interface ScaledDecimal {
  mantissa: bigint;
  exponent: number;
}

/** Parse "45230.50" into {mantissa: 4523050n, exponent: -2}. Rejects exponents, signs other than '-', blanks. */
export function parseDecimal(text: string): ScaledDecimal {
  const m = DECIMAL_RE.exec(text);
  if (!m) throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
  const frac = m[3] ?? '';
  const mantissa = BigInt(m[2] + frac);
  return { mantissa: m[1] ? -mantissa : mantissa, exponent: -frac.length };
}

/** The mantissa of `text` at a fixed exponent; throws when the value has more digits than the exponent allows. */
export function toMantissa(text: string, exponent: number): bigint {
  const d = parseDecimal(text);
  const shift = d.exponent - exponent;
  if (shift >= 0) return d.mantissa * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  if (d.mantissa % div !== 0n) {
    throw new DecimalError(`${text} is not representable with exponent ${exponent}`);
  }
  return d.mantissa / div;
}

/** Canonical form of a decimal string: "45230.50" → "45230.5", "0.00" → "0". */
export function normalizeDecimal(text: string): string {
  const d = parseDecimal(text);
  return formatDecimal(d.mantissa, d.exponent);
}

/** Exact sum of decimal strings (used for volume checks against kline `v`). */
export function addDecimals(values: Iterable<string>): string {
  let acc = 0n;
  let accExp = 0;
  for (const v of values) {
    const d = parseDecimal(v);
    if (d.exponent < accExp) {
      acc *= 10n ** BigInt(accExp - d.exponent);
      accExp = d.exponent;
      acc += d.mantissa;
    } else {
      acc += d.mantissa * 10n ** BigInt(d.exponent - accExp);
    }
  }
  return formatDecimal(acc, accExp);
}

/** Compare two decimal strings numerically and exactly: -1, 0 or 1. */
export function compareDecimals(a: string, b: string): number {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const e = Math.min(x.exponent, y.exponent);
  const xm = x.mantissa * 10n ** BigInt(x.exponent - e);
  const ym = y.mantissa * 10n ** BigInt(y.exponent - e);
  return xm < ym ? -1 : xm > ym ? 1 : 0;
}
