/** Naive reference implementations used to check the core (straightforward, not fast). */
import type { Level, TradeEvent } from '../../../src/core/events.js';
import { compareDecimals, normalizeDecimal } from '../../../src/core/decimal.js';

/** A book as two Maps keyed by the canonical price string. */
export class RefBook {
  bids = new Map<string, string>();
  asks = new Map<string, string>();
  lastUpdateId = 0;

  static from(s: { lastUpdateId: number; bids: Level[]; asks: Level[] }): RefBook {
    const b = new RefBook();
    b.lastUpdateId = s.lastUpdateId;
    for (const [p, q] of s.bids) b.set('bid', p, q);
    for (const [p, q] of s.asks) b.set('ask', p, q);
    return b;
  }

  set(side: 'bid' | 'ask', price: string, qty: string): void {
    const m = side === 'bid' ? this.bids : this.asks;
    const p = normalizeDecimal(price);
    const q = normalizeDecimal(qty);
    if (q === '0') m.delete(p);
    else m.set(p, q);
  }

  applyDiff(d: { final_update_id: number; bids: Level[]; asks: Level[] }): void {
    for (const [p, q] of d.bids) this.set('bid', p, q);
    for (const [p, q] of d.asks) this.set('ask', p, q);
    this.lastUpdateId = d.final_update_id;
  }

  levels(): { bids: Level[]; asks: Level[] } {
    const bids = [...this.bids.entries()].sort((a, b) => compareDecimals(b[0], a[0]));
    const asks = [...this.asks.entries()].sort((a, b) => compareDecimals(a[0], b[0]));
    return { bids, asks };
  }

  clone(): RefBook {
    const b = new RefBook();
    b.bids = new Map(this.bids);
    b.asks = new Map(this.asks);
    b.lastUpdateId = this.lastUpdateId;
    return b;
  }
}

export interface RefWindowStats {
  count: number;
  volume: number;
  notional: number;
  buyVolume: number;
  sellVolume: number;
  signedVolume: number;
  vwap: number;
  priceStd: number;
  tradeIntensity: number;
  avgTradeSize: number;
  lastTsUs: number;
  priceMomentum: number;
  volumeAcceleration: number;
}

/**
 * Brute force over every trade (in arrival order): the window at `now` holds now − W < ts <= now.
 * First/last = oldest/newest by time, arrival order among equal times.
 */
export function refWindow(trades: readonly TradeEvent[], nowUs: number, W: number): RefWindowStats {
  const inWin = trades
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.event_ts > nowUs - W * 1e6 && t.event_ts <= nowUs)
    .sort((a, b) => a.t.event_ts - b.t.event_ts || a.i - b.i)
    .map(({ t }) => t);
  const n = inWin.length;
  let volume = 0;
  let notional = 0;
  let buy = 0;
  let sell = 0;
  let newer = 0;
  for (const t of inWin) {
    const q = Number(t.quantity);
    volume += q;
    notional += Number(t.price) * q;
    if (t.is_buyer_maker) sell += q;
    else buy += q;
    if (t.event_ts > nowUs - (W * 1e6) / 2) newer += q;
  }
  const prices = inWin.map((t) => Number(t.price));
  let std = 0;
  if (n >= 2) {
    const mean = prices.reduce((a, b) => a + b, 0) / n;
    std = Math.sqrt(prices.reduce((a, p) => a + (p - mean) ** 2, 0) / n);
  }
  return {
    count: n,
    volume,
    notional,
    buyVolume: buy,
    sellVolume: sell,
    signedVolume: buy - sell,
    vwap: volume > 0 ? notional / volume : 0,
    priceStd: std,
    tradeIntensity: n / W,
    avgTradeSize: n > 0 ? volume / n : 0,
    lastTsUs: n > 0 ? inWin[n - 1].event_ts : 0,
    priceMomentum: n > 0 ? (prices[n - 1] - prices[0]) / prices[0] : 0,
    volumeAcceleration: n > 0 ? (newer - (volume - newer)) / W : 0,
  };
}

/** |a − b| <= tol · max(1, |a|, |b|)  (relative, with an absolute floor for values near 0). */
export function close(a: number, b: number, tol = 1e-9): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}
