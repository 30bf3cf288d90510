/**
 * Binance SBE stream frames → normalized MarketEvents (source "sbe"). All wire knowledge stays here and
 * in the generated codec; the rest of the system sees only src/core/events.ts types. Any malformed frame
 * surfaces as SbeDecodeError with a code, never as another exception, and nothing is allocated in
 * proportion to a count the frame claims (groups are bounded by the bytes present before iteration).
 */
import type { BestBidAskEvent, DepthEvent, DepthSnapshotEvent, Level, MarketEvent, TradeEvent } from '../core/events.js';
import type { CoreBestBidAsk, CoreDepth, CoreDepthSnapshot, CoreEvent, CoreLevels, CoreTrade } from '../core/fixed-events.js';
import type { Mantissa } from '../core/fixed.js';
import { fromBig } from '../core/fixed.js';
import { SbeDecodeError } from '../sbe/errors.js';
import { int64Number, rdInt8, rdInt32Le, rdInt64Le, rdUint16Le, rdUint32Le } from '../sbe/bytes.js';
import { int64AsNumber } from '../sbe/runtime.js';
import {
  BestBidAskStreamEventDecoder,
  BoolEnum,
  DepthDiffStreamEventDecoder,
  DepthSnapshotStreamEventDecoder,
  MESSAGE_HEADER_SIZE,
  MessageHeaderDecoder,
  SCHEMA_ID,
  SCHEMA_VERSION,
  TradesStreamEventDecoder,
  TradesStreamEventTradesDecoder,
  messageLength,
} from '../sbe/generated.js';
import { Utf8Cache } from '../sbe/string-cache.js';

export { SbeDecodeError } from '../sbe/errors.js';
export type { SbeDecodeErrorCode } from '../sbe/errors.js';

export const TEMPLATE_TRADES = TradesStreamEventDecoder.TEMPLATE_ID;
export const TEMPLATE_BEST_BID_ASK = BestBidAskStreamEventDecoder.TEMPLATE_ID;
export const TEMPLATE_DEPTH_SNAPSHOT = DepthSnapshotStreamEventDecoder.TEMPLATE_ID;
export const TEMPLATE_DEPTH_DIFF = DepthDiffStreamEventDecoder.TEMPLATE_ID;

// Flyweights are reused across calls: decoding allocates only the events it returns.
const header = new MessageHeaderDecoder();
const trades = new TradesStreamEventDecoder();
const bestBidAsk = new BestBidAskStreamEventDecoder();
const snapshot = new DepthSnapshotStreamEventDecoder();
const diff = new DepthDiffStreamEventDecoder();
const symbols = new Utf8Cache();

/** The templateId of a frame of this schema, or undefined when it has no complete header of schema 1. */
export function templateIdOf(frame: Uint8Array): number | undefined {
  if (frame.length < MESSAGE_HEADER_SIZE) return undefined;
  const h = header.wrap(frame, 0, frame.length);
  return h.schemaId() === SCHEMA_ID ? h.templateId() : undefined;
}

/**
 * Total bytes of the message starting at `offset` in `buf` (header + root block + groups + symbol), so
 * that a file of back-to-back frames can be split. Throws SbeDecodeError when it cannot be determined.
 */
export function frameLength(buf: Uint8Array, offset = 0): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new SbeDecodeError('TRUNCATED', `offset ${offset} is outside a ${buf.length}-byte buffer`);
  }
  return messageLength(buf, offset, buf.length);
}

function checkEnd(limit: number, end: number, version: number, name: string): void {
  // A newer schema version may append var data after the symbol; for ours the frame must end here.
  if (limit !== end && version <= SCHEMA_VERSION) {
    throw new SbeDecodeError('TRAILING_BYTES', `${name}: ${end - limit} bytes after the symbol`);
  }
}

function decodeTrades(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): TradeEvent[] {
  const d = trades.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const transactTs = d.transactTimeAsNumber();
  const group = d.trades();
  // count is already bounded by the frame's size (GROUP_TOO_LARGE otherwise), so this allocation is too.
  const out: TradeEvent[] = new Array<TradeEvent>(group.count);
  for (let i = 0; group.hasNext(); i++) {
    group.next();
    const id = group.idAsNumber();
    const price = group.priceDecimal();
    const quantity = group.qtyDecimal();
    const isBuyerMaker = group.isBuyerMaker() === BoolEnum.True;
    // One literal per shape: adding recv_ts_us afterwards would cost a map transition and a property
    // store per event. The key order (recv_ts_us last) is the one JSON output always had.
    out[i] =
      recvTsUs === undefined
        ? { type: 'trade', symbol: '', event_ts: eventTs, source: 'sbe', trade_id: id, price, quantity, is_buyer_maker: isBuyerMaker, sequence_id: id, transact_ts: transactTs }
        : {
            type: 'trade',
            symbol: '',
            event_ts: eventTs,
            source: 'sbe',
            trade_id: id,
            price,
            quantity,
            is_buyer_maker: isBuyerMaker,
            sequence_id: id,
            transact_ts: transactTs,
            recv_ts_us: recvTsUs,
          };
  }
  // The symbol follows the groups on the wire, so it is filled in last.
  const symbol = symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'TradesStreamEvent.symbol');
  for (let i = 0; i < out.length; i++) out[i].symbol = symbol;
  checkEnd(d.limit, end, version, 'TradesStreamEvent');
  return out;
}

function decodeBestBidAsk(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): BestBidAskEvent {
  const d = bestBidAsk.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const bidPrice = d.bidPriceDecimal();
  const bidQty = d.bidQtyDecimal();
  const askPrice = d.askPriceDecimal();
  const askQty = d.askQtyDecimal();
  const sequenceId = d.bookUpdateIdAsNumber();
  const symbol = symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'BestBidAskStreamEvent.symbol');
  checkEnd(d.limit, end, version, 'BestBidAskStreamEvent');
  return recvTsUs === undefined
    ? { type: 'bestBidAsk', symbol, event_ts: eventTs, source: 'sbe', bid_price: bidPrice, bid_quantity: bidQty, ask_price: askPrice, ask_quantity: askQty, sequence_id: sequenceId }
    : {
        type: 'bestBidAsk',
        symbol,
        event_ts: eventTs,
        source: 'sbe',
        bid_price: bidPrice,
        bid_quantity: bidQty,
        ask_price: askPrice,
        ask_quantity: askQty,
        sequence_id: sequenceId,
        recv_ts_us: recvTsUs,
      };
}

interface LevelGroup {
  count: number;
  hasNext(): boolean;
  next(): unknown;
  priceDecimal(): string;
  qtyDecimal(): string;
}

function readLevels(group: LevelGroup): Level[] {
  // count is already bounded by the frame's size (GROUP_TOO_LARGE otherwise), so this allocation is too.
  const levels: Level[] = new Array<Level>(group.count);
  for (let i = 0; group.hasNext(); i++) {
    group.next();
    levels[i] = [group.priceDecimal(), group.qtyDecimal()];
  }
  return levels;
}

function decodeSnapshot(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): DepthSnapshotEvent {
  const d = snapshot.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const lastUpdateId = d.bookUpdateIdAsNumber();
  const bids = readLevels(d.bids());
  const asks = readLevels(d.asks());
  const ev: DepthSnapshotEvent = {
    type: 'depthSnapshot',
    symbol: symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'DepthSnapshotStreamEvent.symbol'),
    event_ts: eventTs,
    source: 'sbe',
    last_update_id: lastUpdateId,
    bids,
    asks,
  };
  if (recvTsUs !== undefined) ev.recv_ts_us = recvTsUs;
  checkEnd(d.limit, end, version, 'DepthSnapshotStreamEvent');
  return ev;
}

function decodeDiff(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): DepthEvent {
  const d = diff.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const first = d.firstBookUpdateIdAsNumber();
  const last = d.lastBookUpdateIdAsNumber();
  const bids = readLevels(d.bids());
  const asks = readLevels(d.asks());
  const symbol = symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'DepthDiffStreamEvent.symbol');
  checkEnd(d.limit, end, version, 'DepthDiffStreamEvent');
  return recvTsUs === undefined
    ? { type: 'depth', symbol, event_ts: eventTs, source: 'sbe', first_update_id: first, final_update_id: last, bids, asks }
    : { type: 'depth', symbol, event_ts: eventTs, source: 'sbe', first_update_id: first, final_update_id: last, bids, asks, recv_ts_us: recvTsUs };
}

/**
 * One binary WebSocket frame (exactly one SBE message) → its normalized events: one TradeEvent per trade
 * of a TradesStreamEvent, otherwise one event. `recvTsUs` is copied to each event's recv_ts_us.
 * Throws only SbeDecodeError.
 */
export function decodeFrame(frame: Uint8Array, recvTsUs?: number): MarketEvent[] {
  return decodeWith(frame, recvTsUs, STRING_DECODERS);
}

type MessageDecoder<T> = (frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined) => T;

/** One decoder per stream_1_0 message: the string path's and the fixed-point path's. */
interface MessageDecoders<T> {
  trades: MessageDecoder<T[]>;
  bestBidAsk: MessageDecoder<T>;
  snapshot: MessageDecoder<T>;
  diff: MessageDecoder<T>;
}

const STRING_DECODERS: MessageDecoders<MarketEvent> = { trades: decodeTrades, bestBidAsk: decodeBestBidAsk, snapshot: decodeSnapshot, diff: decodeDiff };

/** The header check and dispatch both paths share, so they accept the same messages. */
function decodeWith<T>(frame: Uint8Array, recvTsUs: number | undefined, d: MessageDecoders<T>): T[] {
  const end = frame.length;
  const h = header.wrap(frame, 0, end).validate();
  const root = MESSAGE_HEADER_SIZE;
  const blockLength = h.blockLength();
  const version = h.version();
  switch (h.templateId()) {
    case TEMPLATE_TRADES:
      return d.trades(frame, root, end, blockLength, version, recvTsUs);
    case TEMPLATE_BEST_BID_ASK:
      return [d.bestBidAsk(frame, root, end, blockLength, version, recvTsUs)];
    case TEMPLATE_DEPTH_SNAPSHOT:
      return [d.snapshot(frame, root, end, blockLength, version, recvTsUs)];
    case TEMPLATE_DEPTH_DIFF:
      return [d.diff(frame, root, end, blockLength, version, recvTsUs)];
    default:
      throw new SbeDecodeError('UNKNOWN_TEMPLATE', `templateId ${h.templateId()} is not a stream_1_0 message`);
  }
}

// ---- Fast path: frame bytes → CoreEvents (fixed point, no decimal strings) ----

/** The int64 mantissa at `o`: a number when safe, else a BigInt. */
function mantissaAt(b: Uint8Array, o: number): Mantissa {
  const v = int64Number(b, o, true);
  return v === undefined ? fromBig(rdInt64Le(b, o)) : v;
}

interface GroupCursor {
  count: number;
  blockLength: number;
  skipAll(): void;
}

/**
 * Both level groups of a depth message into one mantissa array (bids then asks). The groups' bounds were
 * checked by wrap(); entries are read in place by offset (no per-entry cursor calls).
 */
function readCoreLevels(buf: Uint8Array, msg: { limit: number; bids(): GroupCursor; asks(): GroupCursor }, priceE: number, qtyE: number): CoreLevels {
  const bg = msg.bids();
  const nb = bg.count;
  const bStart = msg.limit;
  const bStep = bg.blockLength;
  bg.skipAll();
  const ag = msg.asks();
  const na = ag.count;
  const aStart = msg.limit;
  const aStep = ag.blockLength;
  ag.skipAll();
  const out = new Float64Array(2 * (nb + na));
  let j = 0;
  for (let i = 0, o = bStart; i < nb; i++, o += bStep) {
    const p = int64Number(buf, o, true);
    const q = int64Number(buf, o + 8, true);
    if (p === undefined || q === undefined) return bigLevels(buf, bStart, bStep, nb, aStart, aStep, na, priceE, qtyE);
    out[j++] = p;
    out[j++] = q;
  }
  for (let i = 0, o = aStart; i < na; i++, o += aStep) {
    const p = int64Number(buf, o, true);
    const q = int64Number(buf, o + 8, true);
    if (p === undefined || q === undefined) return bigLevels(buf, bStart, bStep, nb, aStart, aStep, na, priceE, qtyE);
    out[j++] = p;
    out[j++] = q;
  }
  return { price_e: priceE, qty_e: qtyE, bid_count: nb, ask_count: na, levels: out };
}

/** Some mantissa is beyond 2^53 − 1: all of them as BigInts. */
function bigLevels(buf: Uint8Array, bStart: number, bStep: number, nb: number, aStart: number, aStep: number, na: number, priceE: number, qtyE: number): CoreLevels {
  const levels: bigint[] = [];
  for (let i = 0, o = bStart; i < nb; i++, o += bStep) levels.push(rdInt64Le(buf, o), rdInt64Le(buf, o + 8));
  for (let i = 0, o = aStart; i < na; i++, o += aStep) levels.push(rdInt64Le(buf, o), rdInt64Le(buf, o + 8));
  return { price_e: priceE, qty_e: qtyE, bid_count: nb, ask_count: na, levels };
}

function decodeTradesCore(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): CoreTrade[] {
  const d = trades.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const transactTs = d.transactTimeAsNumber();
  const pe = d.priceExponent();
  const qe = d.qtyExponent();
  const group = d.trades();
  // Entries are read in place by offset (the group's bounds were checked by wrap()), in the order and with
  // the errors of the cursor reads decodeFrame makes.
  const n = group.count;
  const step = group.blockLength;
  let o = d.limit;
  group.skipAll();
  const out: CoreTrade[] = new Array<CoreTrade>(n);
  for (let i = 0; i < n; i++, o += step) {
    const id = int64AsNumber(frame, o, 'TradesStreamEvent.trades.id', true);
    const price = mantissaAt(frame, o + 8);
    const qty = mantissaAt(frame, o + 16);
    const bm = frame[o + 24];
    if (bm !== BoolEnum.True && bm !== BoolEnum.False) throw new SbeDecodeError('BAD_ENUM', `TradesStreamEvent.trades.isBuyerMaker = ${bm} is not a BoolEnum value`);
    const isBuyerMaker = bm === BoolEnum.True;
    out[i] =
      recvTsUs === undefined
        ? { core: true, type: 'trade', symbol: '', event_ts: eventTs, source: 'sbe', trade_id: id, sequence_id: id, price_m: price, price_e: pe, qty_m: qty, qty_e: qe, is_buyer_maker: isBuyerMaker, transact_ts: transactTs }
        : {
            core: true,
            type: 'trade',
            symbol: '',
            event_ts: eventTs,
            source: 'sbe',
            trade_id: id,
            sequence_id: id,
            price_m: price,
            price_e: pe,
            qty_m: qty,
            qty_e: qe,
            is_buyer_maker: isBuyerMaker,
            transact_ts: transactTs,
            recv_ts_us: recvTsUs,
          };
  }
  const symbol = symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'TradesStreamEvent.symbol');
  for (let i = 0; i < out.length; i++) out[i].symbol = symbol;
  checkEnd(d.limit, end, version, 'TradesStreamEvent');
  return out;
}

/** The core bestBidAsk of both SBE paths: one place for its two literals, so each has one shape (key order included). */
function coreBestBidAsk(
  symbol: string,
  eventTs: number,
  sequenceId: number,
  pe: number,
  qe: number,
  bidPrice: Mantissa,
  bidQty: Mantissa,
  askPrice: Mantissa,
  askQty: Mantissa,
  recvTsUs: number | undefined,
): CoreBestBidAsk {
  return recvTsUs === undefined
    ? { core: true, type: 'bestBidAsk', symbol, event_ts: eventTs, source: 'sbe', sequence_id: sequenceId, price_e: pe, qty_e: qe, bid_price_m: bidPrice, bid_qty_m: bidQty, ask_price_m: askPrice, ask_qty_m: askQty }
    : {
        core: true,
        type: 'bestBidAsk',
        symbol,
        event_ts: eventTs,
        source: 'sbe',
        sequence_id: sequenceId,
        price_e: pe,
        qty_e: qe,
        bid_price_m: bidPrice,
        bid_qty_m: bidQty,
        ask_price_m: askPrice,
        ask_qty_m: askQty,
        recv_ts_us: recvTsUs,
      };
}

function decodeBestBidAskCore(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): CoreBestBidAsk {
  const d = bestBidAsk.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const o = d.offset;
  const sequenceId = d.bookUpdateIdAsNumber();
  const pe = d.priceExponent();
  const qe = d.qtyExponent();
  const bidPrice = mantissaAt(frame, o + 18);
  const bidQty = mantissaAt(frame, o + 26);
  const askPrice = mantissaAt(frame, o + 34);
  const askQty = mantissaAt(frame, o + 42);
  const symbol = symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'BestBidAskStreamEvent.symbol');
  checkEnd(d.limit, end, version, 'BestBidAskStreamEvent');
  return coreBestBidAsk(symbol, eventTs, sequenceId, pe, qe, bidPrice, bidQty, askPrice, askQty, recvTsUs);
}

function decodeSnapshotCore(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): CoreDepthSnapshot {
  const d = snapshot.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const lastUpdateId = d.bookUpdateIdAsNumber();
  const lv = readCoreLevels(frame, d, d.priceExponent(), d.qtyExponent());
  const ev: CoreDepthSnapshot = {
    core: true,
    type: 'depthSnapshot',
    symbol: symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'DepthSnapshotStreamEvent.symbol'),
    event_ts: eventTs,
    source: 'sbe',
    last_update_id: lastUpdateId,
    price_e: lv.price_e,
    qty_e: lv.qty_e,
    bid_count: lv.bid_count,
    ask_count: lv.ask_count,
    levels: lv.levels,
  };
  if (recvTsUs !== undefined) ev.recv_ts_us = recvTsUs;
  checkEnd(d.limit, end, version, 'DepthSnapshotStreamEvent');
  return ev;
}

function decodeDiffCore(frame: Uint8Array, root: number, end: number, blockLength: number, version: number, recvTsUs: number | undefined): CoreDepth {
  const d = diff.wrap(frame, root, end, blockLength, version);
  const eventTs = d.eventTimeAsNumber();
  const first = d.firstBookUpdateIdAsNumber();
  const last = d.lastBookUpdateIdAsNumber();
  const lv = readCoreLevels(frame, d, d.priceExponent(), d.qtyExponent());
  const symbol = symbols.read(frame, d.symbolOffset(), d.skipSymbol(), 'DepthDiffStreamEvent.symbol');
  checkEnd(d.limit, end, version, 'DepthDiffStreamEvent');
  return recvTsUs === undefined
    ? { core: true, type: 'depth', symbol, event_ts: eventTs, source: 'sbe', first_update_id: first, final_update_id: last, price_e: lv.price_e, qty_e: lv.qty_e, bid_count: lv.bid_count, ask_count: lv.ask_count, levels: lv.levels }
    : {
        core: true,
        type: 'depth',
        symbol,
        event_ts: eventTs,
        source: 'sbe',
        first_update_id: first,
        final_update_id: last,
        price_e: lv.price_e,
        qty_e: lv.qty_e,
        bid_count: lv.bid_count,
        ask_count: lv.ask_count,
        levels: lv.levels,
        recv_ts_us: recvTsUs,
      };
}

/**
 * One binary frame → the fixed-point events the core consumes, with no decimal string made: the venue's
 * int64 mantissas and exponents as they are on the wire. Accepts and rejects exactly the frames
 * decodeFrame() does; toMarketEvent() of each event equals decodeFrame()'s event. Throws only SbeDecodeError.
 */
export function decodeFrameCore(frame: Uint8Array, recvTsUs?: number): CoreEvent[] {
  const end = frame.length;
  if (end >= MESSAGE_HEADER_SIZE && rdUint16Le(frame, 2) === TEMPLATE_TRADES && rdUint16Le(frame, 4) === SCHEMA_ID) {
    const version = rdUint16Le(frame, 6);
    if (version >= SCHEMA_VERSION) {
      const out = tradesFast(frame, end, rdUint16Le(frame, 0), version, recvTsUs);
      if (out !== undefined) return out;
    }
  } else if (end >= MESSAGE_HEADER_SIZE && rdUint16Le(frame, 2) === TEMPLATE_BEST_BID_ASK && rdUint16Le(frame, 4) === SCHEMA_ID) {
    const version = rdUint16Le(frame, 6);
    if (version >= SCHEMA_VERSION) {
      const ev = bestBidAskFast(frame, end, rdUint16Le(frame, 0), version, recvTsUs);
      if (ev !== undefined) return [ev];
    }
  }
  return decodeWith(frame, recvTsUs, CORE_DECODERS);
}

// ---- Trades, fastest: one flat function for the well-formed common case ----
//
// Trades are most of a stream's messages. tradesFast decodes a TradesStreamEvent only when every check the
// flyweight path makes is known to pass, and returns undefined otherwise (a malformed frame, an id or time
// beyond 2^53 - 1, ...) so that decodeWith decodes the frame again and raises exactly its error. It
// calls nothing but small byte readers the JIT inlines, so each int64 stays an unboxed double until it
// is stored in the event (through the flyweights and helpers each one was boxed on return).

const TWO_POW_32 = 4294967296;
/** |hi| ≤ 2^21 - 1 keeps hi·2^32 + lo a safe integer (the fallback handles the edge at -2^53 + x). */
const SAFE_HI = 0x1fffff;
/** The last symbol the fast path read, so a stream's one symbol is compared, not looked up, per trade. */
let lastSymbolBytes: Uint8Array = new Uint8Array(0);
let lastSymbol = '';

/** The symbol of `len` bytes at `at`: the last one read when the bytes match (a stream has one symbol). */
function symbolAt(frame: Uint8Array, at: number, len: number, field: string): string {
  const cached = lastSymbolBytes;
  let hit = len > 0 && cached.length === len;
  for (let i = 0; hit && i < len; i++) hit = cached[i] === frame[at + i];
  if (hit) return lastSymbol;
  const symbol = symbols.read(frame, at, len, field);
  lastSymbolBytes = frame.slice(at, at + len);
  lastSymbol = symbol;
  return symbol;
}

function tradesFast(frame: Uint8Array, end: number, blockLength: number, version: number, recvTsUs: number | undefined): CoreTrade[] | undefined {
  const root = MESSAGE_HEADER_SIZE;
  if (blockLength < TradesStreamEventDecoder.BLOCK_LENGTH || root + blockLength + 6 > end) return undefined;
  const evLo = rdUint32Le(frame, root);
  const evHi = rdInt32Le(frame, root + 4);
  const ttLo = rdUint32Le(frame, root + 8);
  const ttHi = rdInt32Le(frame, root + 12);
  if (evHi > SAFE_HI || evHi < -SAFE_HI || ttHi > SAFE_HI || ttHi < -SAFE_HI) return undefined;
  const eventTs = evHi * TWO_POW_32 + evLo;
  const transactTs = ttHi * TWO_POW_32 + ttLo;
  const pe = rdInt8(frame, root + 16);
  const qe = rdInt8(frame, root + 17);
  const g = root + blockLength;
  const step = rdUint16Le(frame, g);
  const n = rdUint32Le(frame, g + 2);
  const first = g + 6;
  if (step < TradesStreamEventTradesDecoder.BLOCK_LENGTH || n * step > end - first) return undefined;
  const s = first + n * step;
  for (let o = first; o < s; o += step) {
    const idHi = rdInt32Le(frame, o + 4);
    const bm = frame[o + 24];
    if (idHi > SAFE_HI || idHi < -SAFE_HI || (bm !== BoolEnum.True && bm !== BoolEnum.False)) return undefined;
  }
  if (s + 1 > end) return undefined;
  const len = frame[s];
  if (s + 1 + len > end) return undefined;
  // Every check before the symbol passed, so a symbol error here is the one decodeWith would raise.
  const symbol = symbolAt(frame, s + 1, len, 'TradesStreamEvent.symbol');
  checkEnd(s + 1 + len, end, version, 'TradesStreamEvent');
  const out: CoreTrade[] = new Array<CoreTrade>(n);
  for (let i = 0, o = first; i < n; i++, o += step) {
    const id = rdInt32Le(frame, o + 4) * TWO_POW_32 + rdUint32Le(frame, o);
    const pLo = rdUint32Le(frame, o + 8);
    const pHi = rdInt32Le(frame, o + 12);
    const qLo = rdUint32Le(frame, o + 16);
    const qHi = rdInt32Le(frame, o + 20);
    const price: Mantissa = pHi <= SAFE_HI && pHi >= -SAFE_HI ? pHi * TWO_POW_32 + pLo : fromBig(rdInt64Le(frame, o + 8));
    const qty: Mantissa = qHi <= SAFE_HI && qHi >= -SAFE_HI ? qHi * TWO_POW_32 + qLo : fromBig(rdInt64Le(frame, o + 16));
    const isBuyerMaker = frame[o + 24] === BoolEnum.True;
    // The same two literals (key order included) as decodeTradesCore, so both paths make one shape each.
    out[i] =
      recvTsUs === undefined
        ? { core: true, type: 'trade', symbol, event_ts: eventTs, source: 'sbe', trade_id: id, sequence_id: id, price_m: price, price_e: pe, qty_m: qty, qty_e: qe, is_buyer_maker: isBuyerMaker, transact_ts: transactTs }
        : {
            core: true,
            type: 'trade',
            symbol,
            event_ts: eventTs,
            source: 'sbe',
            trade_id: id,
            sequence_id: id,
            price_m: price,
            price_e: pe,
            qty_m: qty,
            qty_e: qe,
            is_buyer_maker: isBuyerMaker,
            transact_ts: transactTs,
            recv_ts_us: recvTsUs,
          };
  }
  return out;
}

// ---- BestBidAsk, fastest: the same treatment (one flat function, undefined → decodeWith) ----

function bestBidAskFast(frame: Uint8Array, end: number, blockLength: number, version: number, recvTsUs: number | undefined): CoreBestBidAsk | undefined {
  const root = MESSAGE_HEADER_SIZE;
  if (blockLength < BestBidAskStreamEventDecoder.BLOCK_LENGTH) return undefined;
  const s = root + blockLength;
  if (s + 1 > end) return undefined;
  const len = frame[s];
  if (s + 1 + len > end) return undefined;
  const evLo = rdUint32Le(frame, root);
  const evHi = rdInt32Le(frame, root + 4);
  const idLo = rdUint32Le(frame, root + 8);
  const idHi = rdInt32Le(frame, root + 12);
  if (evHi > SAFE_HI || evHi < -SAFE_HI || idHi > SAFE_HI || idHi < -SAFE_HI) return undefined;
  // Every check before the symbol passed, so a symbol error here is the one decodeWith would raise.
  const symbol = symbolAt(frame, s + 1, len, 'BestBidAskStreamEvent.symbol');
  checkEnd(s + 1 + len, end, version, 'BestBidAskStreamEvent');
  const eventTs = evHi * TWO_POW_32 + evLo;
  const sequenceId = idHi * TWO_POW_32 + idLo;
  const pe = rdInt8(frame, root + 16);
  const qe = rdInt8(frame, root + 17);
  const bpHi = rdInt32Le(frame, root + 22);
  const bqHi = rdInt32Le(frame, root + 30);
  const apHi = rdInt32Le(frame, root + 38);
  const aqHi = rdInt32Le(frame, root + 46);
  const bidPrice: Mantissa = bpHi <= SAFE_HI && bpHi >= -SAFE_HI ? bpHi * TWO_POW_32 + rdUint32Le(frame, root + 18) : fromBig(rdInt64Le(frame, root + 18));
  const bidQty: Mantissa = bqHi <= SAFE_HI && bqHi >= -SAFE_HI ? bqHi * TWO_POW_32 + rdUint32Le(frame, root + 26) : fromBig(rdInt64Le(frame, root + 26));
  const askPrice: Mantissa = apHi <= SAFE_HI && apHi >= -SAFE_HI ? apHi * TWO_POW_32 + rdUint32Le(frame, root + 34) : fromBig(rdInt64Le(frame, root + 34));
  const askQty: Mantissa = aqHi <= SAFE_HI && aqHi >= -SAFE_HI ? aqHi * TWO_POW_32 + rdUint32Le(frame, root + 42) : fromBig(rdInt64Le(frame, root + 42));
  return coreBestBidAsk(symbol, eventTs, sequenceId, pe, qe, bidPrice, bidQty, askPrice, askQty, recvTsUs);
}

const CORE_DECODERS: MessageDecoders<CoreEvent> = { trades: decodeTradesCore, bestBidAsk: decodeBestBidAskCore, snapshot: decodeSnapshotCore, diff: decodeDiffCore };
