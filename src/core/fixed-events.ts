/**
 * The events the core consumes: the same vocabulary as events.ts, with every price and quantity a
 * fixed-point mantissa (core/fixed.ts) at one price and one quantity exponent per event, as the venue's SBE
 * messages carry them. The SBE decoder produces these straight from the frame bytes and JSON sources parse
 * each decimal string once into them; the book, windows and minute statistics never parse text.
 *
 * MarketEvent (decimal strings) stays the interchange form (JSON records, the lake, replay files);
 * toCoreEvent/toMarketEvent convert exactly both ways.
 *
 * Depth levels sit in ONE array: price, quantity, price, quantity, ... the bids first (bid_count levels),
 * then the asks. A Float64Array of safe-integer mantissas; in the rare event that any mantissa is beyond
 * 2^53 − 1, a bigint[] holds them all instead.
 */
import type { BestBidAskEvent, DepthEvent, DepthSnapshotEvent, EventSource, Level, MarketEvent, TradeEvent } from './events.js';
import { DecimalError } from './decimal.js';
import { formatFixed, fromBig, PARSED, parseFixed, scaleUp, toBig, type Mantissa } from './fixed.js';

export type LevelMantissas = Float64Array | bigint[];

interface CoreBase {
  /** Tells a CoreEvent from a MarketEvent where both may arrive. */
  core: true;
  symbol: string;
  event_ts: number;
  source: EventSource;
  recv_ts_us?: number;
}

export interface CoreTrade extends CoreBase {
  type: 'trade';
  trade_id: number;
  sequence_id: number;
  price_m: Mantissa;
  price_e: number;
  qty_m: Mantissa;
  qty_e: number;
  is_buyer_maker: boolean;
  transact_ts?: number;
}

export interface CoreBestBidAsk extends CoreBase {
  type: 'bestBidAsk';
  sequence_id: number;
  price_e: number;
  qty_e: number;
  bid_price_m: Mantissa;
  bid_qty_m: Mantissa;
  ask_price_m: Mantissa;
  ask_qty_m: Mantissa;
}

/** Levels of one book message: see the module comment for the layout of `levels`. */
export interface CoreLevels {
  price_e: number;
  qty_e: number;
  bid_count: number;
  ask_count: number;
  levels: LevelMantissas;
}

export interface CoreDepth extends CoreBase, CoreLevels {
  type: 'depth';
  first_update_id: number;
  final_update_id: number;
}

export interface CoreDepthSnapshot extends CoreBase, CoreLevels {
  type: 'depthSnapshot';
  last_update_id: number;
}

export type CoreEvent = CoreTrade | CoreBestBidAsk | CoreDepth | CoreDepthSnapshot;

/** Either form, for entry points that accept both (the aggregator's batches). */
export type AnyEvent = MarketEvent | CoreEvent;

export function isCoreEvent(ev: AnyEvent): ev is CoreEvent {
  return (ev as Partial<CoreBase>).core === true;
}

/** Raised for malformed levels (not a [price, quantity] pair of decimal strings). */
export class LevelError extends Error {
  override readonly name = 'LevelError';
}

function fracDigits(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * [price, qty] string levels → CoreLevels at the finest exponent any of them needs (every digit kept, so
 * the values are exact). Unsigned decimals unless `signed` (then the book rejects negative ones itself);
 * throws LevelError naming the level otherwise.
 */
export function levelsToCore(bids: readonly Level[], asks: readonly Level[], what = 'book', signed = false): CoreLevels {
  const nb = bids.length;
  const na = asks.length;
  let pFrac = 0;
  let qFrac = 0;
  for (let i = 0; i < nb + na; i++) {
    const lv = i < nb ? bids[i] : asks[i - nb];
    if (!Array.isArray(lv) || lv.length < 2 || typeof lv[0] !== 'string' || typeof lv[1] !== 'string') {
      throw new LevelError(`${levelName(what, i, nb)} is not a [price, quantity] pair of strings`);
    }
    const pf = fracDigits(lv[0]);
    const qf = fracDigits(lv[1]);
    if (pf > pFrac) pFrac = pf;
    if (qf > qFrac) qFrac = qf;
  }
  const out = new Float64Array(2 * (nb + na));
  let big: bigint[] | undefined;
  for (let i = 0; i < nb + na; i++) {
    const lv = i < nb ? bids[i] : asks[i - nb];
    const p = parseLevelValue(lv[0], pFrac, what, i, nb, signed);
    const q = parseLevelValue(lv[1], qFrac, what, i, nb, signed);
    if (big === undefined && (typeof p === 'bigint' || typeof q === 'bigint')) {
      big = Array.from(out.subarray(0, 2 * i), (x) => BigInt(x));
    }
    if (big !== undefined) {
      big.push(toBig(p), toBig(q));
    } else {
      out[2 * i] = p as number;
      out[2 * i + 1] = q as number;
    }
  }
  return { price_e: -pFrac, qty_e: -qFrac, bid_count: nb, ask_count: na, levels: big ?? out };
}

function levelName(what: string, i: number, nb: number): string {
  return i < nb ? `${what} bid level ${i}` : `${what} ask level ${i - nb}`;
}

function parseLevelValue(text: string, frac: number, what: string, i: number, nb: number, signed: boolean): Mantissa {
  try {
    parseFixed(text, signed);
  } catch (err) {
    if (err instanceof DecimalError) throw new LevelError(`${levelName(what, i, nb)}: ${err.message}`);
    throw err;
  }
  return scaleUp(PARSED.m, PARSED.e + frac);
}

/** The i-th mantissa of a level array (price at 2k, quantity at 2k + 1). */
export function levelAt(levels: LevelMantissas, i: number): Mantissa {
  const v = levels[i];
  return typeof v === 'bigint' ? fromBig(v) : v;
}

/** CoreLevels → [price, qty] strings per side, exact and canonical. */
export function levelsToStrings(c: CoreLevels): { bids: Level[]; asks: Level[] } {
  const bids: Level[] = new Array<Level>(c.bid_count);
  const asks: Level[] = new Array<Level>(c.ask_count);
  for (let i = 0; i < c.bid_count + c.ask_count; i++) {
    const lv: Level = [formatFixed(levelAt(c.levels, 2 * i), c.price_e), formatFixed(levelAt(c.levels, 2 * i + 1), c.qty_e)];
    if (i < c.bid_count) bids[i] = lv;
    else asks[i - c.bid_count] = lv;
  }
  return { bids, asks };
}

function parsed(text: string, signed: boolean): Mantissa {
  if (typeof text !== 'string') throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
  parseFixed(text, signed);
  return PARSED.m;
}

/**
 * MarketEvent → CoreEvent, each decimal string parsed once (every digit kept), so that any CoreEvent
 * survives toMarketEvent → toCoreEvent. Throws DecimalError for a price/quantity that is not a decimal
 * string, LevelError for malformed levels. Value checks (positive prices, ids) are the core's.
 * `unsignedBook`: book and bestBidAsk decimals must also be unsigned, as the string core always required.
 */
export function toCoreEvent(ev: MarketEvent, unsignedBook = false): CoreEvent {
  const signed = !unsignedBook;
  switch (ev.type) {
    case 'trade': {
      const pm = parsed(ev.price, true);
      const pe = PARSED.e;
      const qm = parsed(ev.quantity, true);
      const out: CoreTrade = {
        core: true,
        type: 'trade',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        trade_id: ev.trade_id,
        sequence_id: ev.sequence_id,
        price_m: pm,
        price_e: pe,
        qty_m: qm,
        qty_e: PARSED.e,
        is_buyer_maker: ev.is_buyer_maker,
      };
      if (ev.transact_ts !== undefined) out.transact_ts = ev.transact_ts;
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    case 'bestBidAsk': {
      const bp = parsed(ev.bid_price, signed);
      const bpe = PARSED.e;
      const ap = parsed(ev.ask_price, signed);
      const ape = PARSED.e;
      const bq = parsed(ev.bid_quantity, signed);
      const bqe = PARSED.e;
      const aq = parsed(ev.ask_quantity, signed);
      const aqe = PARSED.e;
      const pe = Math.min(bpe, ape);
      const qe = Math.min(bqe, aqe);
      const out: CoreBestBidAsk = {
        core: true,
        type: 'bestBidAsk',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        sequence_id: ev.sequence_id,
        price_e: pe,
        qty_e: qe,
        bid_price_m: scaleUp(bp, bpe - pe),
        bid_qty_m: scaleUp(bq, bqe - qe),
        ask_price_m: scaleUp(ap, ape - pe),
        ask_qty_m: scaleUp(aq, aqe - qe),
      };
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    case 'depth': {
      const lv = levelsToCore(ev.bids, ev.asks, 'depth', signed);
      const out: CoreDepth = {
        core: true,
        type: 'depth',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        first_update_id: ev.first_update_id,
        final_update_id: ev.final_update_id,
        price_e: lv.price_e,
        qty_e: lv.qty_e,
        bid_count: lv.bid_count,
        ask_count: lv.ask_count,
        levels: lv.levels,
      };
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    case 'depthSnapshot': {
      const lv = levelsToCore(ev.bids, ev.asks, 'snapshot', signed);
      const out: CoreDepthSnapshot = {
        core: true,
        type: 'depthSnapshot',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        last_update_id: ev.last_update_id,
        price_e: lv.price_e,
        qty_e: lv.qty_e,
        bid_count: lv.bid_count,
        ask_count: lv.ask_count,
        levels: lv.levels,
      };
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    default:
      throw new DecimalError(`unknown event type ${JSON.stringify((ev as { type?: unknown }).type)}`);
  }
}

/** CoreEvent → MarketEvent with exact canonical decimal strings (what formatDecimal prints). */
export function toMarketEvent(ev: CoreEvent): MarketEvent {
  switch (ev.type) {
    case 'trade': {
      const out: TradeEvent = {
        type: 'trade',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        trade_id: ev.trade_id,
        price: formatFixed(ev.price_m, ev.price_e),
        quantity: formatFixed(ev.qty_m, ev.qty_e),
        is_buyer_maker: ev.is_buyer_maker,
        sequence_id: ev.sequence_id,
      };
      if (ev.transact_ts !== undefined) out.transact_ts = ev.transact_ts;
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    case 'bestBidAsk': {
      const out: BestBidAskEvent = {
        type: 'bestBidAsk',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        bid_price: formatFixed(ev.bid_price_m, ev.price_e),
        bid_quantity: formatFixed(ev.bid_qty_m, ev.qty_e),
        ask_price: formatFixed(ev.ask_price_m, ev.price_e),
        ask_quantity: formatFixed(ev.ask_qty_m, ev.qty_e),
        sequence_id: ev.sequence_id,
      };
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    case 'depth': {
      const { bids, asks } = levelsToStrings(ev);
      const out: DepthEvent = {
        type: 'depth',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        first_update_id: ev.first_update_id,
        final_update_id: ev.final_update_id,
        bids,
        asks,
      };
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
    case 'depthSnapshot': {
      const { bids, asks } = levelsToStrings(ev);
      const out: DepthSnapshotEvent = {
        type: 'depthSnapshot',
        symbol: ev.symbol,
        event_ts: ev.event_ts,
        source: ev.source,
        last_update_id: ev.last_update_id,
        bids,
        asks,
      };
      if (ev.recv_ts_us !== undefined) out.recv_ts_us = ev.recv_ts_us;
      return out;
    }
  }
}
