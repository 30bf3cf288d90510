/** A deterministic synthetic market (book + diffs + trades + bestBidAsk) for property tests and fixtures. */
import type { BestBidAskEvent, DepthEvent, Level, MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { formatDecimal } from '../../../src/core/decimal.js';
import { RefBook } from './reference.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticMarket {
  symbol: string;
  snapshot: { lastUpdateId: number; bids: Level[]; asks: Level[] };
  /** All events in arrival order (depth diffs chain from snapshot.lastUpdateId + 1). */
  events: MarketEvent[];
  diffs: DepthEvent[];
  trades: TradeEvent[];
  /** Reference book after each diff (index-aligned with `diffs`). */
  truth: RefBook[];
}

export interface MarketGenOptions {
  events?: number;
  symbol?: string;
  startTsUs?: number;
  /** Max µs between events. */
  maxStepUs?: number;
  /** Venue-style fixed 8 decimals ("110.25000000") instead of canonical strings. */
  padded?: boolean;
  /** Keep a reference book copy after every diff (default true; costly for long runs). */
  truth?: boolean;
}

export function generateMarket(seed: number, opts: MarketGenOptions = {}): SyntheticMarket {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const symbol = opts.symbol ?? 'BTCUSDT';
  const fmt = (m: number, e: number) => {
    const s = formatDecimal(BigInt(m), e);
    if (!opts.padded) return s;
    const dot = s.indexOf('.');
    const frac = dot < 0 ? '' : s.slice(dot + 1);
    return `${dot < 0 ? s : s.slice(0, dot)}.${frac.padEnd(8, '0')}`;
  };
  const bidPrice = () => fmt(int(10_000, 10_999), -2); // 100.00 .. 109.99
  const askPrice = () => fmt(int(11_000, 11_999), -2); // 110.00 .. 119.99
  const qty = () => fmt(int(1, 500_000_000), -8);

  const snapBids: Level[] = [];
  const snapAsks: Level[] = [];
  for (let i = 0; i < 40; i++) snapBids.push([bidPrice(), qty()]);
  for (let i = 0; i < 40; i++) snapAsks.push([askPrice(), qty()]);
  const L = int(1_000, 100_000);
  const snapshot = { lastUpdateId: L, bids: snapBids, asks: snapAsks };
  const ref = RefBook.from(snapshot);

  const events: MarketEvent[] = [];
  const diffs: DepthEvent[] = [];
  const trades: TradeEvent[] = [];
  const truth: RefBook[] = [];
  let ts = opts.startTsUs ?? 1_700_000_000_000_000;
  let u = L;
  let tradeId = int(1, 1_000_000);
  let lastBbaSeq = -1;
  const n = opts.events ?? 200;
  for (let i = 0; i < n; i++) {
    ts += int(0, opts.maxStepUs ?? 300_000);
    const kind = r();
    if (kind < 0.55) {
      const U = u + 1;
      u = U + int(0, 3);
      const bids: Level[] = [];
      const asks: Level[] = [];
      for (let k = int(1, 6); k > 0; k--) {
        const zero = r() < 0.25;
        const lv: Level = [r() < 0.5 ? bidPrice() : askPrice(), zero ? fmt(0, -8) : qty()];
        (Number(lv[0]) < 110 ? bids : asks).push(lv);
      }
      const d: DepthEvent = { type: 'depth', symbol, event_ts: ts, source: 'json', first_update_id: U, final_update_id: u, bids, asks };
      ref.applyDiff(d);
      diffs.push(d);
      if (opts.truth !== false) truth.push(ref.clone());
      events.push(d);
    } else if (kind < 0.9) {
      tradeId += 1;
      const t: TradeEvent = {
        type: 'trade',
        symbol,
        event_ts: ts,
        source: 'json',
        trade_id: tradeId,
        sequence_id: tradeId,
        price: fmt(int(10_900, 11_100), -2),
        quantity: fmt(int(1, 200_000_000), -8),
        is_buyer_maker: r() < 0.5,
      };
      trades.push(t);
      events.push(t);
    } else {
      // bestBidAsk carries the book update id: a second one for the same book state would be a duplicate.
      if (u === lastBbaSeq) continue;
      const bid = best(ref.bids, 1);
      const ask = best(ref.asks, -1);
      if (!bid || !ask) continue;
      lastBbaSeq = u;
      const b: BestBidAskEvent = {
        type: 'bestBidAsk',
        symbol,
        event_ts: ts,
        source: 'json',
        sequence_id: u,
        bid_price: bid[0],
        bid_quantity: bid[1],
        ask_price: ask[0],
        ask_quantity: ask[1],
      };
      events.push(b);
    }
  }
  return { symbol, snapshot, events, diffs, trades, truth };
}

/** Best level of a reference side (prices here are small decimals, so float comparison is exact enough). */
function best(side: Map<string, string>, sign: 1 | -1): Level | undefined {
  let out: Level | undefined;
  for (const [p, q] of side) if (!out || sign * (Number(p) - Number(out[0])) > 0) out = [p, q];
  return out;
}
