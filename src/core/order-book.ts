/**
 * Full-depth order book in fixed point.
 *
 * Each price is keyed by its integer number of ticks at the book's scale (10^-scale, default 8 decimals):
 * a JS number while that is a safe integer, a BigInt beyond. Mixed number/BigInt comparisons are exact in
 * JS, and a value is a number iff it is safe, so equal prices always have identical keys. A price with more
 * decimals than the scale rescales the whole book once (never happens on Binance, where scale 8 fits).
 * Quantities are mantissas at a book-wide quantity scale in the same way. Levels arrive as mantissas
 * (CoreLevels) and decimal strings are made only when levels are read (top, bestBid, levels).
 *
 * Each side is a set of parallel sorted arrays with the BEST level LAST: updates cluster at the top of the
 * book, so the splice that keeps the arrays sorted moves only a few elements, and top-N reads the tail.
 * Asks are stored under negated keys so both sides sort ascending.
 */
import type { Level } from './events.js';
import { DecimalError } from './decimal.js';
import { normalizeUnsigned } from './decimal-ops.js';
import { fixedToNumber, formatFixed, fromBig, PARSED, parseFixed, POW10, scaleUp, toBig, type Mantissa } from './fixed.js';
import { levelAt, type CoreLevels } from './fixed-events.js';

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

function neg(k: PriceKey): PriceKey {
  return typeof k === 'number' ? -k : fromBig(-k);
}

/**
 * Check a message's levels before any mutation, so a bad level never half-applies an update: prices
 * positive, quantities not negative, mantissas integers.
 */
export function checkLevels(c: CoreLevels, what: string): void {
  const lv = c.levels;
  const n = c.bid_count + c.ask_count;
  if (lv.length !== 2 * n) throw new BookError(`${what}: ${lv.length} mantissas for ${n} levels`);
  for (let i = 0; i < n; i++) {
    const p = lv[2 * i];
    const q = lv[2 * i + 1];
    if (typeof p === 'number' ? !(Number.isSafeInteger(p) && p > 0) : p <= 0n) {
      throw new BookError(`${levelName(what, i, c.bid_count)} has price ${badValue(p, c.price_e)}, not a positive decimal`);
    }
    if (typeof q === 'number' ? !(Number.isSafeInteger(q) && q >= 0) : q < 0n) {
      throw new BookError(`${levelName(what, i, c.bid_count)} has quantity ${badValue(q, c.qty_e)}, not an unsigned decimal`);
    }
  }
}

function levelName(what: string, i: number, nb: number): string {
  return i < nb ? `${what} bid level ${i}` : `${what} ask level ${i - nb}`;
}

function badValue(m: number | bigint, e: number): string {
  return typeof m === 'number' && !Number.isSafeInteger(m) ? String(m) : formatFixed(m, e);
}

class BookSide {
  keys: PriceKey[] = [];
  qtys: Mantissa[] = [];

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

  /** Quantity 0 removes. */
  set(k: PriceKey, qty: Mantissa): void {
    const i = this.lowerBound(k);
    const exists = i < this.keys.length && this.keys[i] === k;
    if (qty === 0) {
      if (exists) this.removeAt(i);
    } else if (exists) {
      this.qtys[i] = qty;
    } else {
      this.insertAt(i, k, qty);
    }
  }

  // Hand-written shifts instead of splice(): splice allocates its result array on every call, and the
  // positions touched are near the tail, so the loops are short.
  private insertAt(i: number, k: PriceKey, qty: Mantissa): void {
    const keys = this.keys;
    const qtys = this.qtys;
    let j = keys.length;
    keys.push(k);
    qtys.push(qty);
    for (; j > i; j--) {
      keys[j] = keys[j - 1];
      qtys[j] = qtys[j - 1];
    }
    keys[i] = k;
    qtys[i] = qty;
  }

  private removeAt(i: number): void {
    const keys = this.keys;
    const qtys = this.qtys;
    const last = keys.length - 1;
    for (let j = i; j < last; j++) {
      keys[j] = keys[j + 1];
      qtys[j] = qtys[j + 1];
    }
    keys.pop();
    qtys.pop();
  }

  clear(): void {
    this.keys = [];
    this.qtys = [];
  }

  rescaleKeys(by: number): void {
    for (let i = 0; i < this.keys.length; i++) this.keys[i] = scaleUp(this.keys[i], by);
  }

  rescaleQtys(by: number): void {
    for (let i = 0; i < this.qtys.length; i++) this.qtys[i] = scaleUp(this.qtys[i], by);
  }
}

export class OrderBook {
  private readonly bids = new BookSide();
  private readonly asks = new BookSide();
  private scaleDigits: number;
  private qtyDigits = 8;

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

  /** Set one already-validated level of canonical strings. */
  applyParsed(side: BookSideName, lv: ParsedLevel): void {
    parseFixed(lv.price);
    const pm = PARSED.m;
    const pe = PARSED.e;
    parseFixed(lv.qty);
    this.applyLevel(side, pm, pe, PARSED.m, PARSED.e);
  }

  /** Set one level given as mantissas (price > 0 and qty >= 0 already checked). Quantity 0 removes it. */
  applyLevel(side: BookSideName, pm: Mantissa, pe: number, qm: Mantissa, qe: number): void {
    const k = this.keyOfFixed(pm, pe);
    const q = qm === 0 || qm === 0n ? 0 : this.qtyOfFixed(qm, qe);
    if (side === 'bid') this.bids.set(k, q);
    else this.asks.set(neg(k), q);
  }

  /** Apply a message's levels in order, bids then asks (checkLevels() them first). */
  applyLevels(c: CoreLevels): void {
    const lv = c.levels;
    const nb = c.bid_count;
    const n = nb + c.ask_count;
    const pe = c.price_e;
    const qe = c.qty_e;
    if (lv instanceof Float64Array) {
      for (let i = 0; i < n; i++) this.applyLevel(i < nb ? 'bid' : 'ask', lv[2 * i], pe, lv[2 * i + 1], qe);
    } else {
      for (let i = 0; i < n; i++) this.applyLevel(i < nb ? 'bid' : 'ask', levelAt(lv, 2 * i), pe, levelAt(lv, 2 * i + 1), qe);
    }
  }

  /**
   * Replace the whole book (a snapshot), as if its levels were applied in order to an empty book: either
   * checked CoreLevels, or bid and ask lists from parseLevels().
   */
  load(levels: CoreLevels | readonly ParsedLevel[], asks: readonly ParsedLevel[] = []): void {
    const c = Array.isArray(levels) ? parsedToCore(levels as readonly ParsedLevel[], asks) : (levels as CoreLevels);
    this.clear();
    const n = c.bid_count + c.ask_count;
    // Pass 1 only grows the scales to what every level needs; pass 2 keys each level at the final ones.
    for (let i = 0; i < n; i++) {
      this.keyOfFixed(levelAt(c.levels, 2 * i), c.price_e);
      const qm = levelAt(c.levels, 2 * i + 1);
      if (qm !== 0) this.qtyOfFixed(qm, c.qty_e);
    }
    const bidRows: Array<{ k: PriceKey; q: Mantissa }> = [];
    const askRows: Array<{ k: PriceKey; q: Mantissa }> = [];
    for (let i = 0; i < n; i++) {
      const qm = levelAt(c.levels, 2 * i + 1);
      const row = { k: this.keyOfFixed(levelAt(c.levels, 2 * i), c.price_e), q: qm === 0 ? 0 : this.qtyOfFixed(qm, c.qty_e) };
      (i < c.bid_count ? bidRows : askRows).push(row);
    }
    this.fill(this.bids, bidRows, 1);
    this.fill(this.asks, askRows, -1);
  }

  /** Exact tick key of a canonical price string at the current scale. */
  keyOf(price: string): PriceKey {
    parseFixed(price);
    return this.keyOfFixed(PARSED.m, PARSED.e);
  }

  /** Tick key of mantissa × 10^exponent at the book's scale, first growing the scale if the value needs it. */
  keyOfFixed(m: Mantissa, e: number): PriceKey {
    const shift = this.scaleDigits + e;
    if (shift >= 0) return scaleUp(m, shift);
    const t = trimZeros(m, -shift);
    if (t.left > 0) {
      this.bids.rescaleKeys(t.left);
      this.asks.rescaleKeys(t.left);
      this.scaleDigits += t.left;
    }
    return t.m;
  }

  private qtyOfFixed(m: Mantissa, e: number): Mantissa {
    const shift = this.qtyDigits + e;
    if (shift >= 0) return scaleUp(m, shift);
    const t = trimZeros(m, -shift);
    if (t.left > 0) {
      this.bids.rescaleQtys(t.left);
      this.asks.rescaleQtys(t.left);
      this.qtyDigits += t.left;
    }
    return t.m;
  }

  bestBid(): Level | undefined {
    return this.levelAtTop(this.bids, 1, 0);
  }

  bestAsk(): Level | undefined {
    return this.levelAtTop(this.asks, -1, 0);
  }

  /** Best bid at or above best ask: a state the venue never has, so a local book in it is wrong. */
  isCrossed(): boolean {
    const b = this.bids;
    const a = this.asks;
    if (b.size === 0 || a.size === 0) return false;
    // Ask keys are stored negated; mixed number/BigInt comparisons are exact.
    return b.keys[b.size - 1] >= neg(a.keys[a.size - 1]);
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
    const sign = side === 'bid' ? 1 : -1;
    const out: Level[] = [];
    for (let d = 0; d < s.size && out.length < n; d++) out.push(this.levelAtTop(s, sign, d) as Level);
    return out;
  }

  /** Quantities (floats) of the best n levels of a side, best first (feature math). */
  topQuantities(side: BookSideName, n: number): number[] {
    const s = side === 'bid' ? this.bids : this.asks;
    const out: number[] = [];
    for (let i = s.size - 1; i >= 0 && out.length < n; i--) out.push(fixedToNumber(s.qtys[i], -this.qtyDigits));
    return out;
  }

  /** Deep copy (for tests and for comparing states). */
  levels(): { bids: Level[]; asks: Level[] } {
    return { bids: this.top('bid', Infinity), asks: this.top('ask', Infinity) };
  }

  /** The level `depth` places from the best (0 = best) as exact strings. */
  private levelAtTop(s: BookSide, sign: 1 | -1, depth: number): Level | undefined {
    const i = s.size - 1 - depth;
    if (i < 0) return undefined;
    const k = s.keys[i];
    return [formatFixed(sign === 1 ? k : neg(k), -this.scaleDigits), formatFixed(s.qtys[i], -this.qtyDigits)];
  }

  private sideTopNumber(s: BookSide, sign: 1 | -1): number | undefined {
    const n = s.size;
    if (n === 0) return undefined;
    const k = s.keys[n - 1];
    if (typeof k === 'number' && this.scaleDigits <= 22) return (sign * k) / POW10[this.scaleDigits];
    return fixedToNumber(sign === 1 ? k : neg(k), -this.scaleDigits);
  }

  private fill(side: BookSide, rows: Array<{ k: PriceKey; q: Mantissa }>, sign: 1 | -1): void {
    if (sign === -1) for (const r of rows) r.k = neg(r.k);
    // Stable sort keeps arrival order among equal keys, so the last occurrence of a price wins (as if the
    // levels were applied one by one); zero quantities are dropped after that.
    rows.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (i + 1 < rows.length && rows[i + 1].k === r.k) continue;
      if (r.q === 0) continue;
      side.keys.push(r.k);
      side.qtys.push(r.q);
    }
  }
}

/** Drop up to `k` trailing zeros of m; `left` = how many of the k could not be dropped. */
function trimZeros(m: Mantissa, k: number): { m: Mantissa; left: number } {
  let left = k;
  if (typeof m === 'number') {
    while (left > 0 && m % 10 === 0) {
      m /= 10;
      left--;
    }
    return { m, left };
  }
  let b = m;
  while (left > 0 && b % 10n === 0n) {
    b /= 10n;
    left--;
  }
  return { m: fromBig(b), left };
}

function parsedToCore(bids: readonly ParsedLevel[], asks: readonly ParsedLevel[]): CoreLevels {
  // Each level at its own exponent would need a common one; going through BigInt keeps this rare path short.
  const all = [...bids, ...asks];
  let pe = 0;
  let qe = 0;
  const vals = all.map((lv) => {
    parseFixed(lv.price);
    const p = { m: toBig(PARSED.m), e: PARSED.e };
    parseFixed(lv.qty);
    const q = { m: toBig(PARSED.m), e: PARSED.e };
    pe = Math.min(pe, p.e);
    qe = Math.min(qe, q.e);
    return [p, q] as const;
  });
  const levels: bigint[] = [];
  for (const [p, q] of vals) levels.push(toBig(scaleUp(p.m, p.e - pe)), toBig(scaleUp(q.m, q.e - qe)));
  return { price_e: pe, qty_e: qe, bid_count: bids.length, ask_count: asks.length, levels };
}

