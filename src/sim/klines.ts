/**
 * Klines for any Binance interval, computed from the engine's 1-minute bars (or, for 1s, from its trades).
 * Buckets without trades are filled like Binance does: open = high = low = close = previous close, zeros.
 */
import type { MarketEngine } from './engine.js';
import type { SymbolFormat } from './symbols.js';
import type { RestKline } from '../binance/rest-types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const FIXED: Record<string, number> = {
  '1s': 1000,
  '1m': MIN,
  '3m': 3 * MIN,
  '5m': 5 * MIN,
  '15m': 15 * MIN,
  '30m': 30 * MIN,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '4h': 4 * HOUR,
  '6h': 6 * HOUR,
  '8h': 8 * HOUR,
  '12h': 12 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
  '1w': 7 * DAY,
};
/** Binance weeks open on Monday 00:00 UTC; the epoch was a Thursday. */
const WEEK_OFFSET = 4 * DAY;

export function isKlineInterval(interval: string): boolean {
  return interval in FIXED || interval === '1M';
}

/** Open time of the bucket containing tMs, and of the next one. */
function bucket(interval: string, tMs: number): [number, number] {
  if (interval === '1M') {
    const d = new Date(tMs);
    return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)];
  }
  const len = FIXED[interval];
  const off = interval === '1w' ? WEEK_OFFSET : 0;
  const open = Math.floor((tMs - off) / len) * len + off;
  return [open, open + len];
}

interface Acc {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quote: bigint;
  count: number;
  takerVolume: number;
  takerQuote: bigint;
}

export interface KlineQuery {
  interval: string;
  startTimeMs?: number;
  endTimeMs?: number;
  limit: number;
}

/** Klines whose open time lies in [startTime, endTime] (defaults: the most recent `limit`), oldest first. */
export function computeKlines(
  engine: MarketEngine,
  fmt: SymbolFormat,
  marketStartMs: number,
  nowMs: number,
  q: KlineQuery,
): RestKline[] {
  const [firstOpen] = bucket(q.interval, marketStartMs);
  const [lastOpen] = bucket(q.interval, nowMs);
  // Enumerate the open times we will answer with.
  const opens: number[] = [];
  if (q.startTimeMs === undefined && q.endTimeMs === undefined) {
    let t = lastOpen;
    while (opens.length < q.limit && t >= firstOpen) {
      opens.unshift(t);
      t = bucket(q.interval, t - 1)[0];
    }
  } else if (q.startTimeMs === undefined) {
    let t = Math.min(bucket(q.interval, q.endTimeMs as number)[0], lastOpen);
    while (opens.length < q.limit && t >= firstOpen) {
      opens.unshift(t);
      t = bucket(q.interval, t - 1)[0];
    }
  } else {
    const [b, next] = bucket(q.interval, Math.max(q.startTimeMs, marketStartMs));
    let t = b >= q.startTimeMs ? b : next;
    const end = Math.min(q.endTimeMs ?? Infinity, lastOpen);
    while (opens.length < q.limit && t <= end) {
      opens.push(t);
      t = bucket(q.interval, t)[1];
    }
  }
  if (opens.length === 0) return [];

  const accs = new Map<number, Acc>();
  const add = (open: number, qty: number, quote: bigint, takerQty: number, takerQuote: bigint, n: number, hi: number, lo: number, o: number, c: number) => {
    let a = accs.get(open);
    if (!a) {
      a = { open: o, high: hi, low: lo, close: c, volume: 0, quote: 0n, count: 0, takerVolume: 0, takerQuote: 0n };
      accs.set(open, a);
    } else {
      if (hi > a.high) a.high = hi;
      if (lo < a.low) a.low = lo;
      a.close = c;
    }
    a.volume += qty;
    a.quote += quote;
    a.count += n;
    a.takerVolume += takerQty;
    a.takerQuote += takerQuote;
  };
  const from = opens[0];
  const to = bucket(q.interval, opens[opens.length - 1])[1];
  if (q.interval === '1s') {
    const trades = engine.trades;
    for (let id = trades.firstAtOrAfter(from * 1000); id <= trades.newestId; id++) {
      const t = trades.get(id);
      if (!t || t.timeUs >= to * 1000) break;
      const quote = BigInt(t.price) * BigInt(t.qty);
      const taker = !t.isBuyerMaker;
      add(bucket('1s', Math.floor(t.timeUs / 1000))[0], t.qty, quote, taker ? t.qty : 0, taker ? quote : 0n, 1, t.price, t.price, t.price, t.price);
    }
  } else {
    for (const bar of engine.bars.all()) {
      if (bar.openTimeMs < from || bar.openTimeMs >= to) continue;
      add(bucket(q.interval, bar.openTimeMs)[0], bar.volume, bar.quote, bar.takerBuyVolume, bar.takerBuyQuote, bar.count, bar.high, bar.low, bar.open, bar.close);
    }
  }

  // The close before the first bucket, for filling empty buckets.
  let prevClose = lastCloseBefore(engine, from) ?? engine.spec.initialPriceTicks;
  const out: RestKline[] = [];
  for (const open of opens) {
    const next = bucket(q.interval, open)[1];
    const a = accs.get(open);
    if (a) prevClose = a.close;
    const o = a?.open ?? prevClose;
    out.push([
      open,
      fmt.price(o),
      fmt.price(a?.high ?? prevClose),
      fmt.price(a?.low ?? prevClose),
      fmt.price(a?.close ?? prevClose),
      fmt.qty(a?.volume ?? 0),
      next - 1,
      fmt.quoteBig(a?.quote ?? 0n),
      a?.count ?? 0,
      fmt.qty(a?.takerVolume ?? 0),
      fmt.quoteBig(a?.takerQuote ?? 0n),
      '0',
    ]);
  }
  return out;
}

function lastCloseBefore(engine: MarketEngine, tMs: number): number | undefined {
  const bars = engine.bars.all();
  for (let i = bars.length - 1; i >= 0; i--) if (bars[i].openTimeMs < tMs) return bars[i].close;
  return undefined;
}
