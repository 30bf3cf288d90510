/**
 * A bounded cache of decimal strings keyed by the exact wire value (int64 mantissa, int8 exponent).
 * Book prices and common quantities repeat from message to message, so most decimals a decoder produces
 * were produced moments ago; formatting one costs far more than finding it again.
 *
 * Layout: a 2-way set-associative table in typed arrays (no per-entry objects, no Map boxing of the
 * 64-bit key; one cache line of keys per lookup). The key is compared in full (low word, high word, exponent), so a hash collision can only
 * cost a miss, never a wrong string. A miss overwrites the older way of its set: memory stays fixed at
 * `2^bits` entries whatever the input.
 */
import { rdInt32Be, rdInt32Le } from './bytes.js';
import { formatInt64Words } from './decimal-format.js';

/** No int8 exponent has this value, so it marks an empty slot. */
const EMPTY = 0x7fff;

export interface DecimalCacheStats {
  hits: number;
  misses: number;
}

export class DecimalCache {
  /**
   * Keys, 4 int32 per entry (low word, high word, exponent, unused) and the two ways of a set side by
   * side: a lookup touches one 32-byte run of this array and one slot of `text`.
   */
  private readonly keys: Int32Array;
  private readonly text: string[];
  /** Per set: the way (0/1) filled last, so that a miss replaces the other one. */
  private readonly recent: Uint8Array;
  private readonly shift: number;
  hits = 0;
  misses = 0;

  /** Holds 2^bits strings (bits 1..20). */
  constructor(bits = 15) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 20) throw new RangeError(`DecimalCache bits must be an integer in 1..20, got ${bits}`);
    const size = 1 << bits;
    this.keys = new Int32Array(size * 4);
    this.text = new Array<string>(size).fill('');
    this.recent = new Uint8Array(size >> 1);
    // The set index is the top (bits - 1) bits of a 32-bit hash.
    this.shift = 33 - bits;
    this.clear();
  }

  get capacity(): number {
    return this.text.length;
  }

  /**
   * The decimal string of the int64 whose low and high 32-bit words are `lo` and `hi` (both as int32),
   * times 10^exponent: exactly what core/decimal.ts formatDecimal returns for it.
   */
  format(lo: number, hi: number, exponent: number): string {
    // Multiplicative mixing of both words; prices differ mostly in the middle bits of `lo`.
    const set = Math.imul(lo ^ Math.imul(hi ^ exponent, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
    const keys = this.keys;
    const k = set << 3;
    if (keys[k] === lo && keys[k + 1] === hi && keys[k + 2] === exponent) {
      this.hits++;
      return this.text[set << 1];
    }
    if (keys[k + 4] === lo && keys[k + 5] === hi && keys[k + 6] === exponent) {
      this.hits++;
      return this.text[(set << 1) + 1];
    }
    return this.miss(set, lo, hi, exponent);
  }

  private miss(set: number, lo: number, hi: number, exponent: number): string {
    this.misses++;
    const s = formatInt64Words(lo, hi, exponent);
    const way = this.recent[set] ^ 1;
    this.recent[set] = way;
    const k = (set << 3) + (way << 2);
    this.keys[k] = lo;
    this.keys[k + 1] = hi;
    this.keys[k + 2] = exponent;
    this.text[(set << 1) + way] = s;
    return s;
  }

  stats(): DecimalCacheStats {
    return { hits: this.hits, misses: this.misses };
  }

  /** Forgets every string (and the counts). */
  clear(): void {
    for (let k = 2; k < this.keys.length; k += 4) this.keys[k] = EMPTY;
    this.text.fill('');
    this.recent.fill(0);
    this.resetStats();
  }

  resetStats(): void {
    this.hits = 0;
    this.misses = 0;
  }
}

/** The process-wide cache the SBE decoder uses: 32,768 strings, under 2 MB. */
export const decimalCache = new DecimalCache();

/** The little-endian (or big-endian) int64 mantissa at `offset` × 10^exponent, through the shared cache. */
export function cachedMantissaAt(b: Uint8Array, offset: number, exponent: number, littleEndian = true): string {
  return littleEndian
    ? decimalCache.format(rdInt32Le(b, offset), rdInt32Le(b, offset + 4), exponent)
    : decimalCache.format(rdInt32Be(b, offset + 4), rdInt32Be(b, offset), exponent);
}
