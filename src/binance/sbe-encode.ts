/**
 * Encoders for the four Binance SBE stream messages (schema stream_1_0, id 1, version 0), on top of the
 * generated flyweight encoders. The simulator and tests build wire frames with these; decimal strings
 * become mantissas at the frame's exponents, and a value with more digits than the exponent allows (or an
 * int64 overflow, a symbol over 255 bytes, more than 65535 levels) throws SbeEncodeError, never rounds.
 */
import { DecimalError, toMantissa } from '../core/decimal.js';
import type { Level, MarketEvent } from '../core/events.js';
import { SbeEncodeError } from '../sbe/errors.js';
import {
  BestBidAskStreamEventEncoder,
  BoolEnum,
  DepthDiffStreamEventBidsEncoder,
  DepthDiffStreamEventEncoder,
  DepthSnapshotStreamEventEncoder,
  MESSAGE_HEADER_SIZE,
  TradesStreamEventEncoder,
  TradesStreamEventTradesEncoder,
} from '../sbe/generated.js';

export { SbeEncodeError } from '../sbe/errors.js';

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

const utf8 = new TextEncoder();
const tradesEncoder = new TradesStreamEventEncoder();
const bestBidAskEncoder = new BestBidAskStreamEventEncoder();
const snapshotEncoder = new DepthSnapshotStreamEventEncoder();
const diffEncoder = new DepthDiffStreamEventEncoder();

function symbolBytes(symbol: string): Uint8Array {
  const b = utf8.encode(symbol);
  if (b.length === 0) throw new SbeEncodeError('symbol is empty');
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
  try {
    return toMantissa(text, exp);
  } catch (err) {
    if (err instanceof DecimalError) throw new SbeEncodeError(`${name}: ${err.message}`);
    throw err;
  }
}

function frame(size: number): DataView {
  return new DataView(new ArrayBuffer(size));
}

function bytesOf(view: DataView, length: number): Uint8Array {
  return new Uint8Array(view.buffer, 0, length);
}

export function encodeTradesFrame(e: TradesFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const G = TradesStreamEventTradesEncoder;
  const view = frame(MESSAGE_HEADER_SIZE + TradesStreamEventEncoder.BLOCK_LENGTH + G.HEADER_SIZE + e.trades.length * G.BLOCK_LENGTH + 1 + sym.length);
  const enc = tradesEncoder
    .wrapAndApplyHeader(view, 0)
    .eventTime(int64('eventTimeUs', e.eventTimeUs))
    .transactTime(int64('transactTimeUs', e.transactTimeUs))
    .priceExponent(pe)
    .qtyExponent(qe);
  const group = enc.tradesCount(e.trades.length);
  for (const t of e.trades) {
    group
      .next()
      .id(int64('trade id', t.id))
      .price(mantissa('trade price', t.price, pe))
      .qty(mantissa('trade qty', t.qty, qe))
      .isBuyerMaker(t.isBuyerMaker ? BoolEnum.True : BoolEnum.False);
  }
  enc.symbol(sym);
  return bytesOf(view, enc.encodedLength());
}

export function encodeBestBidAskFrame(e: BestBidAskFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const view = frame(MESSAGE_HEADER_SIZE + BestBidAskStreamEventEncoder.BLOCK_LENGTH + 1 + sym.length);
  const enc = bestBidAskEncoder
    .wrapAndApplyHeader(view, 0)
    .eventTime(int64('eventTimeUs', e.eventTimeUs))
    .bookUpdateId(int64('bookUpdateId', e.bookUpdateId))
    .priceExponent(pe)
    .qtyExponent(qe)
    .bidPrice(mantissa('bidPrice', e.bidPrice, pe))
    .bidQty(mantissa('bidQty', e.bidQty, qe))
    .askPrice(mantissa('askPrice', e.askPrice, pe))
    .askQty(mantissa('askQty', e.askQty, qe))
    .symbol(sym);
  return bytesOf(view, enc.encodedLength());
}

interface LevelGroupEncoder {
  next(): { price(v: bigint): { qty(v: bigint): unknown } };
}

function writeLevels(group: LevelGroupEncoder, side: string, levels: [string, string][], pe: number, qe: number): void {
  for (const [p, q] of levels) group.next().price(mantissa(`${side} price`, p, pe)).qty(mantissa(`${side} qty`, q, qe));
}

/** Both depth messages share the level group layout (groupSize16Encoding, 16-byte entries). */
function levelsSize(bids: unknown[], asks: unknown[]): number {
  const G = DepthDiffStreamEventBidsEncoder;
  for (const [side, n] of [['bids', bids.length], ['asks', asks.length]] as const) {
    if (n > G.MAX_COUNT) throw new SbeEncodeError(`${side} has ${n} levels; groupSize16Encoding holds at most ${G.MAX_COUNT}`);
  }
  return 2 * G.HEADER_SIZE + (bids.length + asks.length) * G.BLOCK_LENGTH;
}

export function encodeDepthSnapshotFrame(e: DepthSnapshotFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const view = frame(MESSAGE_HEADER_SIZE + DepthSnapshotStreamEventEncoder.BLOCK_LENGTH + levelsSize(e.bids, e.asks) + 1 + sym.length);
  const enc = snapshotEncoder
    .wrapAndApplyHeader(view, 0)
    .eventTime(int64('eventTimeUs', e.eventTimeUs))
    .bookUpdateId(int64('bookUpdateId', e.bookUpdateId))
    .priceExponent(pe)
    .qtyExponent(qe);
  writeLevels(enc.bidsCount(e.bids.length), 'bids', e.bids, pe, qe);
  writeLevels(enc.asksCount(e.asks.length), 'asks', e.asks, pe, qe);
  enc.symbol(sym);
  return bytesOf(view, enc.encodedLength());
}

export function encodeDepthDiffFrame(e: DepthDiffFrameInput): Uint8Array {
  const pe = exponent('priceExponent', e.priceExponent);
  const qe = exponent('qtyExponent', e.qtyExponent);
  const sym = symbolBytes(e.symbol);
  const view = frame(MESSAGE_HEADER_SIZE + DepthDiffStreamEventEncoder.BLOCK_LENGTH + levelsSize(e.bids, e.asks) + 1 + sym.length);
  const enc = diffEncoder
    .wrapAndApplyHeader(view, 0)
    .eventTime(int64('eventTimeUs', e.eventTimeUs))
    .firstBookUpdateId(int64('firstBookUpdateId', e.firstBookUpdateId))
    .lastBookUpdateId(int64('lastBookUpdateId', e.lastBookUpdateId))
    .priceExponent(pe)
    .qtyExponent(qe);
  writeLevels(enc.bidsCount(e.bids.length), 'bids', e.bids, pe, qe);
  writeLevels(enc.asksCount(e.asks.length), 'asks', e.asks, pe, qe);
  enc.symbol(sym);
  return bytesOf(view, enc.encodedLength());
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
