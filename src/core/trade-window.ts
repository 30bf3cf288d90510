/**
 * Rolling trade window by event time (FEATURES.md, tr:{SYM}:{W}s). The window holds the trades with
 * now − W·1e6 < event_ts <= now. Entry and eviction are O(1) amortized: trades sit in a time-sorted array
 * with a head index, and every statistic is a running sum.
 *
 * Money sums (volume, notional, buy/sell/signed volume, and the newer-half volume behind
 * volume_acceleration) are EXACT decimals (BigInt mantissas), so adding and evicting never drifts and the
 * Redis strings are the exact sums of the venue's digits. Only the derived ratios are floats. price_std
 * uses shifted float sums (shift ≈ the window's mean price), clamped at 0; they are recomputed from the
 * window after as many evictions as the window holds (bounding rounding drift at O(1) amortized cost) and
 * when the mean has drifted far from the shift relative to the spread of prices.
 */
import type { TradeEvent } from './events.js';
import { DecimalError } from './decimal.js';
import { ExactSum } from './decimal-ops.js';
import { fixedToNumber, formatFixed, mulMantissas, stripZeros, type Mantissa } from './fixed.js';
import { toCoreEvent, type CoreTrade } from './fixed-events.js';
import { formatFloat } from './number-format.js';

/** A trade pre-parsed once and shared by every window and the minute statistics. */
export interface WindowTrade {
  ts: number;
  price: number;
  qty: number;
  qtyM: Mantissa;
  qtyE: number;
  notionalM: Mantissa;
  notionalE: number;
  /** Taker was the buyer (is_buyer_maker == false). */
  isBuy: boolean;
}

/** A fixed-point trade → its window entry; DecimalError when its price is not positive or its quantity negative. */
export function windowTradeOf(t: CoreTrade): WindowTrade {
  if (!(t.price_m > 0)) throw new DecimalError(`trade ${t.trade_id}: price must be positive, got ${formatFixed(t.price_m, t.price_e)}`);
  if (t.qty_m < 0) throw new DecimalError(`trade ${t.trade_id}: quantity must not be negative, got ${formatFixed(t.qty_m, t.qty_e)}`);
  if (!Number.isSafeInteger(t.event_ts)) throw new DecimalError(`trade ${t.trade_id}: bad event_ts ${t.event_ts}`);
  // Venue mantissas carry the exponent's trailing zeros (45230.5 as 4523050000000e-8): dropping them first
  // keeps the product a safe integer for ordinary prices and sizes.
  const p = stripZeros(t.price_m, t.price_e);
  const q = stripZeros(t.qty_m, t.qty_e);
  return {
    ts: t.event_ts,
    price: fixedToNumber(t.price_m, t.price_e),
    qty: fixedToNumber(t.qty_m, t.qty_e),
    qtyM: q.m,
    qtyE: q.e,
    notionalM: mulMantissas(p.m, q.m),
    notionalE: p.e + q.e,
    isBuy: !t.is_buyer_maker,
  };
}

/** A string trade → its window entry (parses its decimals once; DecimalError on a bad one). */
export function toWindowTrade(t: TradeEvent): WindowTrade {
  return windowTradeOf(toCoreEvent(t) as CoreTrade);
}

export interface TradeWindowStats {
  windowSeconds: number;
  count: number;
  /** Exact decimal strings. */
  volume: string;
  notional: string;
  buyVolume: string;
  sellVolume: string;
  signedVolume: string;
  /** The same sums as floats (feature math). */
  volumeNum: number;
  notionalNum: number;
  signedVolumeNum: number;
  vwap: number;
  priceStd: number;
  tradeIntensity: number;
  avgTradeSize: number;
  /** event_ts of the newest trade in the window (0 when empty). */
  lastTsUs: number;
  /** (last − first) / first over the window, 0 when empty. */
  priceMomentum: number;
  /** (newer-half volume − older-half volume) / W. */
  volumeAcceleration: number;
}

export interface TradeWindowOptions {
  /** Also keep the newer-half volume (volume_acceleration) and emit price_momentum (the 5 s window). */
  extended?: boolean;
}

export class TradeWindow {
  readonly windowUs: number;
  private readonly halfUs: number;
  private readonly extended: boolean;
  private items: WindowTrade[] = [];
  private head = 0;
  /** Absolute index of the first trade in the newer half (ts > now − W/2). */
  private half = 0;
  private nowUs = 0;

  private readonly volume = new ExactSum();
  private readonly notional = new ExactSum();
  private readonly buyVolume = new ExactSum();
  private readonly sellVolume = new ExactSum();
  private readonly signedVolume = new ExactSum();
  private readonly newerVolume = new ExactSum();
  private shift = 0;
  private sumD = 0;
  private sumD2 = 0;
  private evictionsSinceRecompute = 0;

  constructor(
    readonly windowSeconds: number,
    opts: TradeWindowOptions = {},
  ) {
    if (!(windowSeconds > 0)) throw new RangeError(`window must be positive, got ${windowSeconds}`);
    this.windowUs = windowSeconds * 1e6;
    this.halfUs = this.windowUs / 2;
    this.extended = opts.extended ?? false;
  }

  get count(): number {
    return this.items.length - this.head;
  }

  get now(): number {
    return this.nowUs;
  }

  /** Move `now` forward (never back) and evict what fell out of the window. */
  advance(nowUs: number): void {
    if (nowUs <= this.nowUs) return;
    this.nowUs = nowUs;
    const cutoff = nowUs - this.windowUs;
    const items = this.items;
    while (this.head < items.length && items[this.head].ts <= cutoff) {
      const t = items[this.head];
      // Still counted in the newer half if the half boundary has not passed it yet.
      if (this.extended && this.head >= this.half) this.newerVolume.sub(t.qtyM, t.qtyE);
      this.remove(t);
      this.head++;
    }
    if (this.half < this.head) this.half = this.head;
    if (this.extended) {
      const boundary = nowUs - this.halfUs;
      while (this.half < items.length && items[this.half].ts <= boundary) {
        this.newerVolume.sub(items[this.half].qtyM, items[this.half].qtyE);
        this.half++;
      }
    }
    if (this.head === items.length) this.resetEmpty();
    else if (this.evictionsSinceRecompute > 64 && this.evictionsSinceRecompute >= this.count) this.recomputeFloats();
    this.compact();
  }

  /** Add a trade (advancing `now` to its time if newer). Returns false when it is already outside the window. */
  add(t: WindowTrade): boolean {
    this.advance(t.ts);
    if (t.ts <= this.nowUs - this.windowUs) return false;
    const items = this.items;
    if (this.head === items.length) this.shift = t.price;
    let pos = items.length;
    // Trades arrive in time order; a late one is placed by insertion from the tail (after equal times).
    while (pos > this.head && items[pos - 1].ts > t.ts) pos--;
    if (pos === items.length) items.push(t);
    else items.splice(pos, 0, t);
    const newer = this.extended && t.ts > this.nowUs - this.halfUs;
    if (!newer && pos <= this.half) this.half++;
    if (newer) this.newerVolume.add(t.qtyM, t.qtyE);
    this.volume.add(t.qtyM, t.qtyE);
    this.notional.add(t.notionalM, t.notionalE);
    if (t.isBuy) {
      this.buyVolume.add(t.qtyM, t.qtyE);
      this.signedVolume.add(t.qtyM, t.qtyE);
    } else {
      this.sellVolume.add(t.qtyM, t.qtyE);
      this.signedVolume.sub(t.qtyM, t.qtyE);
    }
    const d = t.price - this.shift;
    this.sumD += d;
    this.sumD2 += d * d;
    return true;
  }

  stats(): TradeWindowStats {
    const n = this.count;
    const volumeNum = this.volume.toNumber();
    const notionalNum = this.notional.toNumber();
    const buy = this.buyVolume.toString();
    const sell = this.sellVolume.toString();
    let priceStd = 0;
    if (n >= 2) {
      let mean = this.sumD / n;
      let variance = this.sumD2 / n - mean * mean;
      // The shift has drifted far from the prices (cancellation would cost digits): re-centre once.
      if (mean * mean > 100 * Math.max(variance, 0)) {
        this.recomputeFloats();
        mean = this.sumD / n;
        variance = this.sumD2 / n - mean * mean;
      }
      priceStd = variance > 0 ? Math.sqrt(variance) : 0;
    }
    const first = n > 0 ? this.items[this.head] : undefined;
    const last = n > 0 ? this.items[this.items.length - 1] : undefined;
    const W = this.windowSeconds;
    let volumeAcceleration = 0;
    if (this.extended && n > 0) {
      const newer = this.newerVolume.toNumber();
      volumeAcceleration = (newer - (volumeNum - newer)) / W;
    }
    return {
      windowSeconds: W,
      count: n,
      volume: this.volume.toString(),
      notional: this.notional.toString(),
      buyVolume: buy,
      sellVolume: sell,
      signedVolume: this.signedVolume.toString(),
      volumeNum,
      notionalNum,
      signedVolumeNum: this.signedVolume.toNumber(),
      vwap: volumeNum > 0 ? notionalNum / volumeNum : 0,
      priceStd,
      tradeIntensity: n / W,
      avgTradeSize: n > 0 ? volumeNum / n : 0,
      lastTsUs: last ? last.ts : 0,
      priceMomentum: first && last ? (last.price - first.price) / first.price : 0,
      volumeAcceleration,
    };
  }

  /** tr:{SYM}:{W}s fields (SPEC.md); `mid` is the current mid price (undefined when there is none). */
  toHash(mid: number | undefined): Record<string, string> {
    const s = this.stats();
    const h: Record<string, string> = {
      count: String(s.count),
      volume: s.volume,
      notional: s.notional,
      buy_volume: s.buyVolume,
      sell_volume: s.sellVolume,
      signed_volume: s.signedVolume,
      vwap: formatFloat(s.vwap),
      vwap_minus_mid: formatFloat(vwapMinusMid(s, mid)),
      price_std: formatFloat(s.priceStd),
      trade_intensity: formatFloat(s.tradeIntensity),
      avg_trade_size: formatFloat(s.avgTradeSize),
      last_ts_us: String(s.lastTsUs),
    };
    if (this.extended) {
      h.price_momentum = formatFloat(s.priceMomentum);
      h.volume_acceleration = formatFloat(s.volumeAcceleration);
    }
    return h;
  }

  private remove(t: WindowTrade): void {
    this.volume.sub(t.qtyM, t.qtyE);
    this.notional.sub(t.notionalM, t.notionalE);
    if (t.isBuy) {
      this.buyVolume.sub(t.qtyM, t.qtyE);
      this.signedVolume.sub(t.qtyM, t.qtyE);
    } else {
      this.sellVolume.sub(t.qtyM, t.qtyE);
      this.signedVolume.add(t.qtyM, t.qtyE);
    }
    const d = t.price - this.shift;
    this.sumD -= d;
    this.sumD2 -= d * d;
    this.evictionsSinceRecompute++;
  }

  private resetEmpty(): void {
    // Exact sums are already exactly zero; floats may carry rounding residue, so zero them.
    this.sumD = 0;
    this.sumD2 = 0;
    this.evictionsSinceRecompute = 0;
    this.newerVolume.reset();
    this.volume.reset();
    this.notional.reset();
    this.buyVolume.reset();
    this.sellVolume.reset();
    this.signedVolume.reset();
  }

  private recomputeFloats(): void {
    const items = this.items;
    let total = 0;
    for (let i = this.head; i < items.length; i++) total += items[i].price;
    this.shift = total / (items.length - this.head);
    let s = 0;
    let s2 = 0;
    for (let i = this.head; i < items.length; i++) {
      const d = items[i].price - this.shift;
      s += d;
      s2 += d * d;
    }
    this.sumD = s;
    this.sumD2 = s2;
    this.evictionsSinceRecompute = 0;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.half -= this.head;
      this.head = 0;
    }
  }
}

/** vwap − mid, 0 when the window has no volume or there is no mid. */
export function vwapMinusMid(s: TradeWindowStats, mid: number | undefined): number {
  return s.volumeNum > 0 && mid !== undefined ? s.vwap - mid : 0;
}
