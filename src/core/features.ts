/**
 * The feature vector of FEATURES.md (feat:{SYM}), as a pure function of the symbol's current inputs.
 * Every value is finite; a feature whose inputs are missing is 0 and lowers `completeness`.
 */
import { finiteOr0 } from './number-format.js';
import { vwapMinusMid, type TradeWindowStats } from './trade-window.js';

export interface FeatureInputs {
  /** Newest event time of the symbol, µs (0 = nothing seen yet). */
  nowUs: number;
  lastTradePrice: number | undefined;
  bestBid: number | undefined;
  bestAsk: number | undefined;
  /** The full book is live (synced) — required for the depth-shape features. */
  bookLive: boolean;
  /** Quantities of the best 10 levels, best first. */
  bidQtys: readonly number[];
  askQtys: readonly number[];
  tr1: TradeWindowStats;
  tr5: TradeWindowStats;
  /** As-of mid lookup: the last mid at or before the given µs time. */
  midAt: (tsUs: number) => number | undefined;
}

/** The features `completeness` is the share of (metadata excluded). */
export const FEATURE_NAMES = [
  'price',
  'mid_price',
  'ret_1s',
  'ret_5s',
  'ret_10s',
  'volume_1s',
  'volume_5s',
  'vol_imbalance_1s',
  'vol_imbalance_5s',
  'spread_bp',
  'ob_imbalance',
  'bid_strength',
  'ask_strength',
  'trade_intensity_1s',
  'avg_trade_size_1s',
  'dollar_volume_1s',
  'vwap_dev_1s',
  'vwap_dev_5s',
  'price_volatility',
  'momentum',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export type FeatureVector = Record<FeatureName | 'feature_ts' | 'event_ts_us' | 'data_age_ms' | 'completeness', number>;

const BOOK_LEVELS = 10;

function sum(xs: readonly number[], n: number): number {
  let s = 0;
  for (let i = 0; i < Math.min(n, xs.length); i++) s += xs[i];
  return s;
}

/** Σ_{i=1..10} qty_i / i. */
export function strength(qtys: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < Math.min(BOOK_LEVELS, qtys.length); i++) s += qtys[i] / (i + 1);
  return s;
}

export function computeFeatures(inp: FeatureInputs, wallMs: number): FeatureVector {
  const { tr1, tr5 } = inp;
  const hasMid = inp.bestBid !== undefined && inp.bestAsk !== undefined;
  const mid = hasMid ? ((inp.bestBid as number) + (inp.bestAsk as number)) / 2 : undefined;
  const present = new Set<FeatureName>();
  const has1 = tr1.count > 0;
  const has5 = tr5.count > 0;
  const bookOk = inp.bookLive && inp.bidQtys.length > 0 && inp.askQtys.length > 0;

  const ret = (seconds: number, name: FeatureName): number => {
    if (mid === undefined) return 0;
    const past = inp.midAt(inp.nowUs - seconds * 1e6);
    if (past === undefined || !(past > 0) || !(mid > 0)) return 0;
    present.add(name);
    return Math.log(mid / past);
  };
  const when = (ok: boolean, name: FeatureName, value: () => number): number => {
    if (!ok) return 0;
    present.add(name);
    return value();
  };

  const bidSum = sum(inp.bidQtys, BOOK_LEVELS);
  const askSum = sum(inp.askQtys, BOOK_LEVELS);
  const values: Record<FeatureName, number> = {
    price: when(inp.lastTradePrice !== undefined, 'price', () => inp.lastTradePrice as number),
    mid_price: when(hasMid, 'mid_price', () => mid as number),
    ret_1s: ret(1, 'ret_1s'),
    ret_5s: ret(5, 'ret_5s'),
    ret_10s: ret(10, 'ret_10s'),
    volume_1s: when(has1, 'volume_1s', () => tr1.volumeNum),
    volume_5s: when(has5, 'volume_5s', () => tr5.volumeNum),
    vol_imbalance_1s: when(has1, 'vol_imbalance_1s', () => imbalance(tr1)),
    vol_imbalance_5s: when(has5, 'vol_imbalance_5s', () => imbalance(tr5)),
    spread_bp: when(hasMid, 'spread_bp', () => {
      const bid = inp.bestBid as number;
      return bid > 0 ? (((inp.bestAsk as number) - bid) / bid) * 10_000 : 0;
    }),
    ob_imbalance: when(bookOk, 'ob_imbalance', () =>
      bidSum + askSum > 0 ? (bidSum - askSum) / (bidSum + askSum) : 0,
    ),
    bid_strength: when(bookOk, 'bid_strength', () => strength(inp.bidQtys)),
    ask_strength: when(bookOk, 'ask_strength', () => strength(inp.askQtys)),
    trade_intensity_1s: when(has1, 'trade_intensity_1s', () => tr1.tradeIntensity),
    avg_trade_size_1s: when(has1, 'avg_trade_size_1s', () => tr1.avgTradeSize),
    dollar_volume_1s: when(has1, 'dollar_volume_1s', () => tr1.notionalNum),
    vwap_dev_1s: when(has1 && hasMid, 'vwap_dev_1s', () => vwapMinusMid(tr1, mid)),
    vwap_dev_5s: when(has5 && hasMid, 'vwap_dev_5s', () => vwapMinusMid(tr5, mid)),
    price_volatility: when(has1, 'price_volatility', () => tr1.priceStd),
    momentum: when(has5, 'momentum', () => tr5.priceMomentum),
  };
  const out = {} as FeatureVector;
  for (const name of FEATURE_NAMES) out[name] = finiteOr0(values[name]);
  out.feature_ts = Math.floor(wallMs / 1000);
  out.event_ts_us = inp.nowUs;
  out.data_age_ms = inp.nowUs > 0 ? finiteOr0(wallMs - inp.nowUs / 1000) : 0;
  out.completeness = present.size / FEATURE_NAMES.length;
  return out;
}

function imbalance(s: TradeWindowStats): number {
  return s.volumeNum > 0 ? s.signedVolumeNum / s.volumeNum : 0;
}
