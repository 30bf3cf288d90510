/**
 * Binance JSON market-data payloads (WebSocket streams, replayed recordings, the REST depth snapshot) →
 * normalized MarketEvents. Binance's single-letter keys stop here. JSON times are milliseconds and become
 * µs; prices and quantities are validated and put in the canonical form formatDecimal produces, so an
 * event is identical whether it arrived as SBE or JSON.
 *
 * aggTrade decision: an aggregate trade maps to ONE TradeEvent whose trade_id (and sequence_id) is the
 * aggregate id `a`. Aggregate ids are contiguous within the aggTrade stream, which is what the sequence
 * monitor needs; `l` (last trade id) would jump by the number of fills and look like gaps. The first/last
 * trade ids are not carried (the normalized vocabulary has no field for them).
 */
import type { BestBidAskEvent, DepthEvent, DepthSnapshotEvent, Level, MarketEvent, TradeEvent } from '../core/events.js';
import { DecimalError } from '../core/decimal.js';
import { PARSED, parseFixed, scaleUp, type Mantissa } from '../core/fixed.js';
import { levelsToCore, LevelError, type CoreBestBidAsk, type CoreDepth, type CoreEvent, type CoreTrade } from '../core/fixed-events.js';

export class JsonEventError extends Error {
  override readonly name = 'JsonEventError';
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new JsonEventError(`${what}: "${key}" must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function msToUs(ms: number, key: string, what: string): number {
  const us = ms * 1000;
  if (!Number.isSafeInteger(us)) throw new JsonEventError(`${what}: "${key}" ${ms} ms overflows µs`);
  return us;
}

function str(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw new JsonEventError(`${what}: "${key}" must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function bool(o: Obj, key: string, what: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new JsonEventError(`${what}: "${key}" must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

const DECIMAL_RE = /^-?\d+(?:\.\d+)?$/;

/**
 * "45230.50000000" → "45230.5", "0.00000000" → "0", "007" → "7": the same text formatDecimal yields for
 * the value, by string surgery (no BigInt) because this runs for every price and quantity.
 */
export function canonicalDecimal(text: string, what = 'decimal'): string {
  if (!DECIMAL_RE.test(text)) throw new JsonEventError(`${what}: not a decimal number: ${JSON.stringify(text)}`);
  let negative = text.charCodeAt(0) === 45;
  let s = negative ? text.slice(1) : text;
  const dot = s.indexOf('.');
  let intPart = dot < 0 ? s : s.slice(0, dot);
  let frac = dot < 0 ? '' : s.slice(dot + 1);
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  frac = frac.slice(0, end);
  let start = 0;
  while (start < intPart.length - 1 && intPart.charCodeAt(start) === 48) start++;
  intPart = intPart.slice(start);
  if (intPart === '0' && frac === '') negative = false;
  s = frac === '' ? intPart : `${intPart}.${frac}`;
  return negative ? `-${s}` : s;
}

function decimal(o: Obj, key: string, what: string): string {
  return canonicalDecimal(str(o, key, what), `${what}: "${key}"`);
}

function levels(v: unknown, what: string): Level[] {
  if (!Array.isArray(v)) throw new JsonEventError(`${what}: levels must be an array, got ${JSON.stringify(v)}`);
  const out: Level[] = new Array<Level>(v.length);
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      throw new JsonEventError(`${what}: level ${i} must be ["price","qty"], got ${JSON.stringify(l)}`);
    }
    out[i] = [canonicalDecimal(l[0], `${what}: level ${i} price`), canonicalDecimal(l[1], `${what}: level ${i} qty`)];
  }
  return out;
}

function withRecv<T extends MarketEvent>(ev: T, recvTsUs: number | undefined): T {
  if (recvTsUs !== undefined) ev.recv_ts_us = recvTsUs;
  return ev;
}

/** `trade` (id `t`) and `aggTrade` (id `a`) share every other field. */
function tradeLike(p: Obj, recvTsUs: number | undefined, what: 'trade' | 'aggTrade', idKey: 't' | 'a'): TradeEvent {
  const id = int(p, idKey, what);
  return withRecv<TradeEvent>(
    {
      type: 'trade',
      symbol: str(p, 's', what),
      event_ts: msToUs(int(p, 'E', what), 'E', what),
      source: 'json',
      trade_id: id,
      price: decimal(p, 'p', what),
      quantity: decimal(p, 'q', what),
      is_buyer_maker: bool(p, 'm', what),
      sequence_id: id,
      transact_ts: msToUs(int(p, 'T', what), 'T', what),
    },
    recvTsUs,
  );
}

function trade(p: Obj, recvTsUs: number | undefined): TradeEvent {
  return tradeLike(p, recvTsUs, 'trade', 't');
}

function aggTrade(p: Obj, recvTsUs: number | undefined): TradeEvent {
  return tradeLike(p, recvTsUs, 'aggTrade', 'a');
}

function bookTicker(p: Obj, recvTsUs: number | undefined): BestBidAskEvent {
  const what = 'bookTicker';
  // The spot bookTicker carries no event time: use the receive time when we have one.
  const eventTs = typeof p.E === 'number' ? msToUs(int(p, 'E', what), 'E', what) : (recvTsUs ?? 0);
  return withRecv<BestBidAskEvent>(
    {
      type: 'bestBidAsk',
      symbol: str(p, 's', what),
      event_ts: eventTs,
      source: 'json',
      bid_price: decimal(p, 'b', what),
      bid_quantity: decimal(p, 'B', what),
      ask_price: decimal(p, 'a', what),
      ask_quantity: decimal(p, 'A', what),
      sequence_id: int(p, 'u', what),
    },
    recvTsUs,
  );
}

function depthUpdate(p: Obj, recvTsUs: number | undefined): DepthEvent {
  const what = 'depthUpdate';
  const first = int(p, 'U', what);
  const last = int(p, 'u', what);
  if (last < first) throw new JsonEventError(`${what}: u ${last} < U ${first}`);
  return withRecv<DepthEvent>(
    {
      type: 'depth',
      symbol: str(p, 's', what),
      event_ts: msToUs(int(p, 'E', what), 'E', what),
      source: 'json',
      first_update_id: first,
      final_update_id: last,
      bids: levels(p.b, `${what} bids`),
      asks: levels(p.a, `${what} asks`),
    },
    recvTsUs,
  );
}

const looksLikeBookTicker = (p: Obj): boolean => p.e === undefined && 'u' in p && 's' in p && 'b' in p && 'B' in p && 'a' in p && 'A' in p;

/**
 * A parsed Binance JSON stream payload (bare or in the combined {"stream","data"} wrapper) → events.
 * Control messages that carry no market data (serverShutdown, subscription results) → [].
 */
export function jsonPayloadToEvents(payload: unknown, recvTsUs?: number): MarketEvent[] {
  return payloadWith(payload, recvTsUs, STRING_PAYLOADS);
}

type PayloadDecoder<T> = (p: Obj, recvTsUs: number | undefined) => T;

/** One decoder per market-data payload type: the string path's and the fixed-point path's. */
interface PayloadDecoders<T> {
  trade: PayloadDecoder<T>;
  aggTrade: PayloadDecoder<T>;
  depthUpdate: PayloadDecoder<T>;
  bookTicker: PayloadDecoder<T>;
}

const STRING_PAYLOADS: PayloadDecoders<MarketEvent> = { trade, aggTrade, depthUpdate, bookTicker };

/** The unwrapping and dispatch both paths share, so they accept and skip the same payloads. */
function payloadWith<T>(payload: unknown, recvTsUs: number | undefined, d: PayloadDecoders<T>): T[] {
  if (!isObj(payload)) throw new JsonEventError(`payload must be a JSON object, got ${JSON.stringify(payload)?.slice(0, 80)}`);
  if ('stream' in payload && 'data' in payload) return payloadWith(payload.data, recvTsUs, d);
  if ('result' in payload && 'id' in payload) return [];
  switch (payload.e) {
    case 'trade':
      return [d.trade(payload, recvTsUs)];
    case 'aggTrade':
      return [d.aggTrade(payload, recvTsUs)];
    case 'depthUpdate':
      return [d.depthUpdate(payload, recvTsUs)];
    case 'bookTicker':
      return [d.bookTicker(payload, recvTsUs)];
    case 'serverShutdown':
      return [];
    case undefined:
      if (looksLikeBookTicker(payload)) return [d.bookTicker(payload, recvTsUs)];
      throw new JsonEventError(`payload has no event type "e" and is not a bookTicker: ${JSON.stringify(payload).slice(0, 120)}`);
    default:
      throw new JsonEventError(`unsupported event type ${JSON.stringify(payload.e)}`);
  }
}

/** A `GET /api/v3/depth` body (which names no symbol) → a DepthSnapshotEvent, source "rest". */
export function depthSnapshotFromRest(symbol: string, body: unknown, eventTsUs: number): DepthSnapshotEvent {
  const what = 'depth snapshot';
  if (!isObj(body)) throw new JsonEventError(`${what}: body must be a JSON object`);
  if (symbol.length === 0) throw new JsonEventError(`${what}: symbol is empty`);
  return {
    type: 'depthSnapshot',
    symbol,
    event_ts: eventTsUs,
    source: 'rest',
    last_update_id: int(body, 'lastUpdateId', what),
    bids: levels(body.bids, `${what} bids`),
    asks: levels(body.asks, `${what} asks`),
  };
}

/** JSON.parse of one line, its failure a JsonEventError like any other bad payload. */
function jsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new JsonEventError(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One line of recorded JSON (one stream payload) → events; malformed JSON is a JsonEventError too. */
export function parseJsonLine(line: string, recvTsUs?: number): MarketEvent[] {
  return jsonPayloadToEvents(jsonLine(line), recvTsUs);
}

// ---- Straight into the core's fixed point: each decimal string parsed once, no canonical strings ----

function fixedOf(o: Obj, key: string, what: string): Mantissa {
  const text = str(o, key, what);
  try {
    parseFixed(text, true);
  } catch (err) {
    if (err instanceof DecimalError) throw new JsonEventError(`${what}: "${key}": ${err.message}`);
    throw err;
  }
  return PARSED.m;
}

function coreTradeLike(p: Obj, recvTsUs: number | undefined, what: 'trade' | 'aggTrade', idKey: 't' | 'a'): CoreTrade {
  const id = int(p, idKey, what);
  const pm = fixedOf(p, 'p', what);
  const pe = PARSED.e;
  const qm = fixedOf(p, 'q', what);
  const ev: CoreTrade = {
    core: true,
    type: 'trade',
    symbol: str(p, 's', what),
    event_ts: msToUs(int(p, 'E', what), 'E', what),
    source: 'json',
    trade_id: id,
    sequence_id: id,
    price_m: pm,
    price_e: pe,
    qty_m: qm,
    qty_e: PARSED.e,
    is_buyer_maker: bool(p, 'm', what),
    transact_ts: msToUs(int(p, 'T', what), 'T', what),
  };
  if (recvTsUs !== undefined) ev.recv_ts_us = recvTsUs;
  return ev;
}

function coreBookTicker(p: Obj, recvTsUs: number | undefined): CoreBestBidAsk {
  const what = 'bookTicker';
  const eventTs = typeof p.E === 'number' ? msToUs(int(p, 'E', what), 'E', what) : (recvTsUs ?? 0);
  const bp = fixedOf(p, 'b', what);
  const bpe = PARSED.e;
  const ap = fixedOf(p, 'a', what);
  const ape = PARSED.e;
  const bq = fixedOf(p, 'B', what);
  const bqe = PARSED.e;
  const aq = fixedOf(p, 'A', what);
  const aqe = PARSED.e;
  const pe = Math.min(bpe, ape);
  const qe = Math.min(bqe, aqe);
  const ev: CoreBestBidAsk = {
    core: true,
    type: 'bestBidAsk',
    symbol: str(p, 's', what),
    event_ts: eventTs,
    source: 'json',
    sequence_id: int(p, 'u', what),
    price_e: pe,
    qty_e: qe,
    bid_price_m: scaleUp(bp, bpe - pe),
    bid_qty_m: scaleUp(bq, bqe - qe),
    ask_price_m: scaleUp(ap, ape - pe),
    ask_qty_m: scaleUp(aq, aqe - qe),
  };
  if (recvTsUs !== undefined) ev.recv_ts_us = recvTsUs;
  return ev;
}

function coreDepthUpdate(p: Obj, recvTsUs: number | undefined): CoreDepth {
  const what = 'depthUpdate';
  const first = int(p, 'U', what);
  const last = int(p, 'u', what);
  if (last < first) throw new JsonEventError(`${what}: u ${last} < U ${first}`);
  if (!Array.isArray(p.b)) throw new JsonEventError(`${what} bids: levels must be an array, got ${JSON.stringify(p.b)}`);
  if (!Array.isArray(p.a)) throw new JsonEventError(`${what} asks: levels must be an array, got ${JSON.stringify(p.a)}`);
  let lv;
  try {
    lv = levelsToCore(p.b as Level[], p.a as Level[], what, true);
  } catch (err) {
    if (err instanceof LevelError) throw new JsonEventError(err.message);
    throw err;
  }
  const ev: CoreDepth = {
    core: true,
    type: 'depth',
    symbol: str(p, 's', what),
    event_ts: msToUs(int(p, 'E', what), 'E', what),
    source: 'json',
    first_update_id: first,
    final_update_id: last,
    price_e: lv.price_e,
    qty_e: lv.qty_e,
    bid_count: lv.bid_count,
    ask_count: lv.ask_count,
    levels: lv.levels,
  };
  if (recvTsUs !== undefined) ev.recv_ts_us = recvTsUs;
  return ev;
}

/**
 * jsonPayloadToEvents, but into the core's fixed-point events: accepts the same payloads, and
 * toMarketEvent() of each result equals jsonPayloadToEvents()'s event.
 */
export function jsonPayloadToCoreEvents(payload: unknown, recvTsUs?: number): CoreEvent[] {
  return payloadWith(payload, recvTsUs, CORE_PAYLOADS);
}

const CORE_PAYLOADS: PayloadDecoders<CoreEvent> = {
  trade: (p, recvTsUs) => coreTradeLike(p, recvTsUs, 'trade', 't'),
  aggTrade: (p, recvTsUs) => coreTradeLike(p, recvTsUs, 'aggTrade', 'a'),
  depthUpdate: coreDepthUpdate,
  bookTicker: coreBookTicker,
};

/** parseJsonLine into fixed-point events (Binance's JSON text → JSON.parse → CoreEvents). */
export function parseJsonLineCore(line: string, recvTsUs?: number): CoreEvent[] {
  return jsonPayloadToCoreEvents(jsonLine(line), recvTsUs);
}
