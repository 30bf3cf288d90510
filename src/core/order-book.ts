/**
 * Full-depth order book with exact price keys.
 *
 * Each price is keyed by its integer number of ticks at the book's scale (10^-scale, default 8 decimals):
 * a JS number while that is a safe integer, a BigInt beyond. Mixed number/BigInt comparisons are exact in
 * JS, and a value is a number iff it is safe, so equal prices always have identical keys. A price with more
 * decimals than the scale rescales the whole book once (never happens on Binance, where scale 8 fits).
 *
 * Each side is a set of parallel sorted arrays with the BEST level LAST: updates cluster at the top of the
 * book, so the splice that keeps the arrays sorted moves only a few elements, and top-N reads the tail.
 * Asks are stored under negated keys so both sides sort ascending.
 */
import type { Level } from './events.js';
import { DecimalError } from './decimal.js';
import { normalizeUnsigned } from './decimal-ops.js';

export type PriceKey = number | bigint;
export type BookSideName = 'bid' | 'ask';

export class BookError extends Error {
  override readonly name = 'BookError';
}

/** A validated level: canonical price and quantity strings ("0" quantity = remove). */
export interface ParsedLevel {
  price: string;
  qty: string;
}

/** Validate and canonicalize levels before any mutation, so a bad level never half-applies an update. */
export function parseLevels(levels: readonly Level[], what: string): ParsedLevel[] {
  const out: ParsedLevel[] = new Array(levels.length);
  for (let i = 0; i < levels.length; i++) {
    const lv = levels[i];
    if (!Array.isArray(lv) || lv.length < 2 || typeof lv[0] !== 'string' || typeof lv[1] !== 'string') {
      throw new BookError(`${what} level ${i} is not a [price, quantity] pair of strings`);
    }
    try {
      const price = normalizeUnsigned(lv[0]);
      if (price === '0') throw new BookError(`${what} level ${i} has price 0`);
      out[i] = { price, qty: normalizeUnsigned(lv[1]) };
    } catch (err) {
      if (err instanceof DecimalError) throw new BookError(`${what} level ${i}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 1e22

function normalizeKey(k: bigint): PriceKey {
  return k <= MAX_SAFE && k >= -MAX_SAFE ? Number(k) : k;
}

class BookSide {
  keys: PriceKey[] = [];
  prices: string[] = [];
  qtys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key >= k (ascending arrays). */
  lowerBound(k: PriceKey): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    // Fast path: most updates touch the top of the book, which is the tail.
    if (hi > 0 && keys[hi - 1] < k) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(k: PriceKey, price: string, qty: string): void {
    const i = this.lowerBound(k);
    const exists = i < this.keys.length && this.keys[i] === k;
    if (qty === '0') {
      if (exists) this.removeAt(i);
    } else if (exists) {
      this.qtys[i] = qty;
    } else {
      this.insertAt(i, k, price, qty);
    }
  }

  // Hand-written shifts instead of splice(): splice allocates its result array on every call, and the
  // positions touched are near the tail, so the loops are short.
  private insertAt(i: number, k: PriceKey, price: string, qty: string): void {
    const keys = this.keys;
    const prices = this.prices;
    const qtys = this.qtys;
    let j = keys.length;
    keys.push(k);
    prices.push(price);
    qtys.push(qty);
    for (; j > i; j--) {
      keys[j] = keys[j - 1];
      prices[j] = prices[j - 1];
      qtys[j] = qtys[j - 1];
    }
    keys[i] = k;
    prices[i] = price;
    qtys[i] = qty;
  }

  private removeAt(i: number): void {
    const keys = this.keys;
    const prices = this.prices;
    const qtys = this.qtys;
    const last = keys.length - 1;
    for (let j = i; j < last; j++) {
      keys[j] = keys[j + 1];
      prices[j] = prices[j + 1];
      qtys[j] = qtys[j + 1];
    }
    keys.pop();
    prices.pop();
    qtys.pop();
  }

  clear(): void {
    this.keys = [];
    this.prices = [];
    this.qtys = [];
  }

  rescale(factor: bigint): void {
    for (let i = 0; i < this.keys.length; i++) this.keys[i] = normalizeKey(BigInt(this.keys[i]) * factor);
  }
}

export class OrderBook {
  private readonly bids = new BookSide();
  private readonly asks = new BookSide();
  private scaleDigits: number;

  constructor(scale = 8) {
    if (!Number.isInteger(scale) || scale < 0 || scale > 30) throw new BookError(`bad book scale ${scale}`);
    this.scaleDigits = scale;
  }

  /** Decimal digits of the tick keys (grows if the venue ever sends finer prices). */
  get scale(): number {
    return this.scaleDigits;
  }

  get bidCount(): number {
    return this.bids.size;
  }

  get askCount(): number {
    return this.asks.size;
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /** Set one level from raw strings (validates). Quantity 0 removes the level. */
  update(side: BookSideName, price: string, qty: string): void {
    const [lv] = parseLevels([[price, qty]], side);
    this.applyParsed(side, lv);
  }

  /** Set one already-validated level. */
  applyParsed(side: BookSideName, lv: ParsedLevel): void {
    const k = this.keyOf(lv.price);
    if (side === 'bid') this.bids.set(k, lv.price, lv.qty);
    else this.asks.set(-k, lv.price, lv.qty);
  }

  /** Replace the whole book (a snapshot), as if its levels were applied in order to an empty book. */
  load(bids: readonly ParsedLevel[], asks: readonly ParsedLevel[]): void {
    this.clear();
    // Rescale first so all keys below are computed at the final scale.
    for (const lv of bids) this.ensureScale(lv.price);
    for (const lv of asks) this.ensureScale(lv.price);
    this.fill(this.bids, bids, 1);
    this.fill(this.asks, asks, -1);
  }

  /** Exact tick key of a canonical price string at the current scale. */
  keyOf(price: string): PriceKey {
    this.ensureScale(price);
    // Fast path without allocation: accumulate the digits while the integer stays exact (<= 15 digits),
    // then scale by a power of ten; both factors are exact, so the product is exact while it is safe.
    let acc = 0;
    let digits = 0;
    let fracLen = -1;
    for (let i = 0; i < price.length; i++) {
      const c = price.charCodeAt(i);
      if (c === 46) {
        fracLen = 0;
        continue;
      }
      acc = acc * 10 + (c - 48);
      digits++;
      if (fracLen >= 0) fracLen++;
    }
    const shift = this.scaleDigits - (fracLen < 0 ? 0 : fracLen);
    if (digits <= 15 && shift <= 22) {
      const k = acc * POW10[shift];
      if (k <= Number.MAX_SAFE_INTEGER) return k;
    }
    return normalizeKey(BigInt(price.replace('.', '')) * 10n ** BigInt(shift));
  }

  bestBid(): Level | undefined {
    const s = this.bids;
    const n = s.size;
    return n === 0 ? undefined : [s.prices[n - 1], s.qtys[n - 1]];
  }

  bestAsk(): Level | undefined {
    const s = this.asks;
    const n = s.size;
    return n === 0 ? undefined : [s.prices[n - 1], s.qtys[n - 1]];
  }

  /** Best bid at or above best ask: a state the venue never has, so a local book in it is wrong. */
  isCrossed(): boolean {
    const b = this.bids;
    const a = this.asks;
    if (b.size === 0 || a.size === 0) return false;
    // Ask keys are stored negated; mixed number/BigInt comparisons are exact.
    return b.keys[b.size - 1] >= -a.keys[a.size - 1];
  }

  /** Best bid as a float: ticks / 10^scale is correctly rounded, i.e. equal to Number(priceString). */
  bestBidNumber(): number | undefined {
    return this.sideTopNumber(this.bids, 1);
  }

  bestAskNumber(): number | undefined {
    return this.sideTopNumber(this.asks, -1);
  }

  /** The best n levels of a side, best first, as exact [price, qty] strings. */
  top(side: BookSideName, n: number): Level[] {
    const s = side === 'bid' ? this.bids : this.asks;
    const out: Level[] = [];
    for (let i = s.size - 1; i >= 0 && out.length < n; i--) out.push([s.prices[i], s.qtys[i]]);
    return out;
  }

  /** Quantities (floats) of the best n levels of a side, best first (feature math). */
  topQuantities(side: BookSideName, n: number): number[] {
    const s = side === 'bid' ? this.bids : this.asks;
    const out: number[] = [];
    for (let i = s.size - 1; i >= 0 && out.length < n; i--) out.push(Number(s.qtys[i]));
    return out;
  }

  /** Deep copy (for tests and for comparing states). */
  levels(): { bids: Level[]; asks: Level[] } {
    return { bids: this.top('bid', Infinity), asks: this.top('ask', Infinity) };
  }

  private sideTopNumber(s: BookSide, sign: 1 | -1): number | undefined {
    const n = s.size;
    if (n === 0) return undefined;
    const k = s.keys[n - 1];
    if (typeof k === 'number' && this.scaleDigits <= 22) return (sign * k) / 10 ** this.scaleDigits;
    return Number(s.prices[n - 1]);
  }

  private fill(side: BookSide, levels: readonly ParsedLevel[], sign: 1 | -1): void {
    const rows: Array<{ k: PriceKey; p: string; q: string }> = [];
    for (const lv of levels) {
      const k = this.keyOf(lv.price);
      rows.push({ k: sign === 1 ? k : -k, p: lv.price, q: lv.qty });
    }
    // Stable sort keeps arrival order among equal keys, so the last occurrence of a price wins (as if the
    // levels were applied one by one); zero quantities are dropped after that.
    rows.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (i + 1 < rows.length && rows[i + 1].k === r.k) continue;
      if (r.q === '0') continue;
      side.keys.push(r.k);
      side.prices.push(r.p);
      side.qtys.push(r.q);
    }
  }

  private ensureScale(price: string): void {
    const dot = price.indexOf('.');
    const fracLen = dot < 0 ? 0 : price.length - dot - 1;
    if (fracLen <= this.scaleDigits) return;
    const factor = 10n ** BigInt(fracLen - this.scaleDigits);
    this.bids.rescale(factor);
    this.asks.rescale(factor);
    this.scaleDigits = fracLen;
  }
}
