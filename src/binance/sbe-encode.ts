/**
 * Encoders for the four Binance SBE stream messages (schema stream_1_0, id 1, version 0). The simulator
 * and tests build wire frames with these; decimal strings become mantissas at the frame's exponents, and
 * a value with more digits than the exponent allows throws instead of being rounded.
 */
import { DecimalError, toMantissa } from '../core/decimal.js';
import type { Level, MarketEvent } from '../core/events.js';

export class SbeEncodeError extends Error {
  override readonly name = 'SbeEncodeError';
}

export interface TradeEntry {
  id: number;
  price: string;
  qty: string;
  isBuyerMaker: boolean;
}

export interface TradesFrameInput {
  symbol: string;
  eventTimeUs: number;
  transactTimeUs: number;
  priceExponent: number;
  qtyExponent: number;
  trades: TradeEntry[];
}

export interface BestBidAskFrameInput {
  symbol: string;
  eventTimeUs: number;
  bookUpdateId: number;
  priceExponent: number;
  qtyExponent: number;
  bidPrice: string;
  bidQty: string;
  askPrice: string;
  askQty: string;
}

export interface DepthSnapshotFrameInput {
  symbol: string;
  eventTimeUs: number;
  bookUpdateId: number;
  priceExponent: number;
  qtyExponent: number;
  bids: [string, string][];
  asks: [string, string][];
}

export interface DepthDiffFrameInput {
  symbol: string;
  eventTimeUs: number;
  firstBookUpdateId: number;
  lastBookUpdateId: number;
  priceExponent: number;
  qtyExponent: number;
  bids: [string, string][];
  asks: [string, string][];
}

export interface FrameExponents {
  priceExponent: number;
  qtyExponent: number;
}

const SCHEMA_ID = 1;
const SCHEMA_VERSION = 0;
const HEADER_SIZE = 8;
const TRADE_ENTRY_SIZE = 25;
const LEVEL_ENTRY_SIZE = 16;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();

/** A cursor over a frame of known size; every write is bounds-checked by DataView itself. */
class FrameWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  header(blockLength: number, templateId: number): void {
    this.u16(blockLength);
    this.u16(templateId);
    this.u16(SCHEMA_ID);
    this.u16(SCHEMA_VERSION);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  i8(v: number): void {
    this.view.setInt8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  i64(v: bigint): void {
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }
}

function symbolBytes(symbol: string): Uint8Array {
  const b = utf8.encode(symbol);
  if (b.length > 255) throw new SbeEncodeError(`symbol is ${b.length} UTF-8 bytes; varString8 holds at most 255`);
  return b;
}

function exponent(name: string, v: number): number {
  if (!Number.isInteger(v) || v < -128 || v > 127) throw new SbeEncodeError(`${name} ${v} is not an int8`);
  return v;
}

function int64(name: string, v: number): bigint {
  if (!Number.isSafeInteger(v)) throw new SbeEncodeError(`${name} ${v} is not a safe integer`);
  return BigInt(v);
}

function mantissa(name: string, text: string, exp: number): bigint {
  let m: bigint;
  try {
    m = toMantissa(text, exp);
  } catch (err) {
    if (err instanceof DecimalError) throw new SbeEncodeError(`${name}: ${err.message}`);
    throw err;
  }
  if (m < INT64_MIN || m > INT64_MAX) throw new SbeEncodeError(`${name} ${text} overflows an int64 mantissa at exponent ${exp}`);
  return m;
}

function levelCount(side: string, n: number): number {
  if (n > 0xffff) throw new SbeEncodeError(`${side} has ${n} levels; groupSize16Encoding holds at most 65535`);
  return n;
}

export function encodeTradesFrame(e: TradesFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const n = e.trades.length;
  const w = new FrameWriter(HEADER_SIZE + 18 + 6 + n * TRADE_ENTRY_SIZE + 1 + sym.length);
  w.header(18, 10000);
  w.i64(int64('eventTimeUs', e.eventTimeUs));
  w.i64(int64('transactTimeUs', e.transactTimeUs));
  w.i8(pe);
  w.i8(qe);
  w.u16(TRADE_ENTRY_SIZE);
  w.u32(n);
  for (const t of e.trades) {
    w.i64(int64('trade id', t.id));
    w.i64(mantissa('trade price', t.price, pe));
    w.i64(mantissa('trade qty', t.qty, qe));
    w.u8(t.isBuyerMaker ? 1 : 0);
  }
  w.u8(sym.length);
  w.raw(sym);
  return w.bytes;
}

export function encodeBestBidAskFrame(e: BestBidAskFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const w = new FrameWriter(HEADER_SIZE + 50 + 1 + sym.length);
  w.header(50, 10001);
  w.i64(int64('eventTimeUs', e.eventTimeUs));
  w.i64(int64('bookUpdateId', e.bookUpdateId));
  w.i8(pe);
  w.i8(qe);
  w.i64(mantissa('bidPrice', e.bidPrice, pe));
  w.i64(mantissa('bidQty', e.bidQty, qe));
  w.i64(mantissa('askPrice', e.askPrice, pe));
  w.i64(mantissa('askQty', e.askQty, qe));
  w.u8(sym.length);
  w.raw(sym);
  return w.bytes;
}

function writeLevels(w: FrameWriter, side: string, levels: [string, string][], pe: number, qe: number): void {
  w.u16(LEVEL_ENTRY_SIZE);
  w.u16(levelCount(side, levels.length));
  for (const [p, q] of levels) {
    w.i64(mantissa(`${side} price`, p, pe));
    w.i64(mantissa(`${side} qty`, q, qe));
  }
}

function levelsSize(bids: unknown[], asks: unknown[]): number {
  return 4 + bids.length * LEVEL_ENTRY_SIZE + 4 + asks.length * LEVEL_ENTRY_SIZE;
}

export function encodeDepthSnapshotFrame(e: DepthSnapshotFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const w = new FrameWriter(HEADER_SIZE + 18 + levelsSize(e.bids, e.asks) + 1 + sym.length);
  w.header(18, 10002);
  w.i64(int64('eventTimeUs', e.eventTimeUs));
  w.i64(int64('bookUpdateId', e.bookUpdateId));
  w.i8(pe);
  w.i8(qe);
  writeLevels(w, 'bids', e.bids, pe, qe);
  writeLevels(w, 'asks', e.asks, pe, qe);
  w.u8(sym.length);
  w.raw(sym);
  return w.bytes;
}

export function encodeDepthDiffFrame(e: DepthDiffFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const w = new FrameWriter(HEADER_SIZE + 26 + levelsSize(e.bids, e.asks) + 1 + sym.length);
  w.header(26, 10003);
  w.i64(int64('eventTimeUs', e.eventTimeUs));
  w.i64(int64('firstBookUpdateId', e.firstBookUpdateId));
  w.i64(int64('lastBookUpdateId', e.lastBookUpdateId));
  w.i8(pe);
  w.i8(qe);
  writeLevels(w, 'bids', e.bids, pe, qe);
  writeLevels(w, 'asks', e.asks, pe, qe);
  w.u8(sym.length);
  w.raw(sym);
  return w.bytes;
}

const asPairs = (levels: Level[]): [string, string][] => levels;

/**
 * One normalized event as one frame (a trade → a 1-trade TradesStreamEvent). A trade without transact_ts
 * uses its event_ts; recv_ts_us and source are not on the wire.
 */
export function encodeEventFrame(
  ev: MarketEvent,
  exps: FrameExponents = { priceExponent: -8, qtyExponent: -8 },
): Uint8Array {
  const { priceExponent, qtyExponent } = exps;
  switch (ev.type) {
    case 'trade':
      return encodeTradesFrame({
        symbol: ev.symbol,
        eventTimeUs: ev.event_ts,
        transactTimeUs: ev.transact_ts ?? ev.event_ts,
        priceExponent,
        qtyExponent,
        trades: [{ id: ev.trade_id, price: ev.price, qty: ev.quantity, isBuyerMaker: ev.is_buyer_maker }],
      });
    case 'bestBidAsk':
      return encodeBestBidAskFrame({
        symbol: ev.symbol,
        eventTimeUs: ev.event_ts,
        bookUpdateId: ev.sequence_id,
        priceExponent,
        qtyExponent,
        bidPrice: ev.bid_price,
        bidQty: ev.bid_quantity,
        askPrice: ev.ask_price,
        askQty: ev.ask_quantity,
      });
    case 'depth':
      return encodeDepthDiffFrame({
        symbol: ev.symbol,
        eventTimeUs: ev.event_ts,
        firstBookUpdateId: ev.first_update_id,
        lastBookUpdateId: ev.final_update_id,
        priceExponent,
        qtyExponent,
        bids: asPairs(ev.bids),
        asks: asPairs(ev.asks),
      });
    case 'depthSnapshot':
      return encodeDepthSnapshotFrame({
        symbol: ev.symbol,
        eventTimeUs: ev.event_ts,
        bookUpdateId: ev.last_update_id,
        priceExponent,
        qtyExponent,
        bids: asPairs(ev.bids),
        asks: asPairs(ev.asks),
      });
  }
}
