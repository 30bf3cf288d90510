/**
 * What the SBE ingestor needs of a frame when it forwards the venue's bytes as they are: the message
 * kind, the symbol (partition key), the event time and the sequence ids it merges and checks (trade ids;
 * U and u of a depth diff; the book update id of bestBidAsk and depth20). A flyweight: it walks the
 * frame's structure (so a truncated or inconsistent frame is refused here, counted like any decode
 * error) but reads no price or quantity and allocates nothing per frame except a new symbol's string.
 *
 * Layout knowledge is the stream_1_0 schema's (little-endian; 8-byte message header; a root block whose
 * length the header gives, so a newer schema version may lengthen it; groups of groupSizeEncoding
 * (u16 blockLength, u32 count) for trades and groupSize16Encoding (u16, u16) for book levels; the symbol
 * as varString8 last). Throws SbeDecodeError with the same codes as the full decoder.
 */
import { SbeDecodeError, TEMPLATE_BEST_BID_ASK, TEMPLATE_DEPTH_DIFF, TEMPLATE_DEPTH_SNAPSHOT, TEMPLATE_TRADES } from '../binance/sbe-decode.js';

const HEADER = 8;
const SCHEMA_ID = 1;
/** Version of the schema this reader knows: a frame of this version must end right after its symbol. */
const SCHEMA_VERSION = 0;
/** Root block bytes this reader needs per template (the fields up to the last one it reads). */
const MIN_BLOCK = { trades: 18, bestBidAsk: 50, snapshot: 18, diff: 26 } as const;
/** Bytes of one trade that hold its id (the first field). */
const TRADE_ID_BYTES = 8;
const TWO_32 = 2 ** 32;
const SYMBOL_CACHE_MAX = 4096;

export type FrameKind = 'trade' | 'bestBidAsk' | 'depth' | 'depthSnapshot';

export class SbeFrameIds {
  kind: FrameKind = 'trade';
  symbol = '';
  /** eventTime, µs. */
  eventTs = 0;
  /** depth: U; trades: the first trade's id; bestBidAsk / depthSnapshot: the book update id. */
  firstId = 0;
  /** depth: u; trades: the last trade's id; bestBidAsk / depthSnapshot: the book update id. */
  lastId = 0;
  /** Trades in a trades message (1 for every other kind). */
  count = 0;
  private frame: Uint8Array = new Uint8Array(0);
  private tradesAt = 0;
  private tradeStride = 0;
  private readonly symbols = new Map<string, string>();

  /** Read `frame`'s ids; throws SbeDecodeError when the frame is not a whole, consistent message. */
  wrap(frame: Uint8Array): this {
    const end = frame.length;
    this.frame = frame;
    if (end < HEADER) throw new SbeDecodeError('TRUNCATED', `frame of ${end} bytes is shorter than the ${HEADER}-byte message header`);
    const blockLength = u16(frame, 0);
    const template = u16(frame, 2);
    const schemaId = u16(frame, 4);
    const version = u16(frame, 6);
    if (schemaId !== SCHEMA_ID) throw new SbeDecodeError('SCHEMA_MISMATCH', `schemaId ${schemaId} is not ${SCHEMA_ID}`);
    const root = HEADER;
    let p = root + blockLength;
    if (p > end) throw new SbeDecodeError('TRUNCATED', `root block of ${blockLength} bytes runs past the ${end}-byte frame`);
    switch (template) {
      case TEMPLATE_TRADES: {
        need(blockLength, MIN_BLOCK.trades, 'TradesStreamEvent');
        this.kind = 'trade';
        this.eventTs = i64(frame, root, 'eventTime');
        if (p + 6 > end) throw new SbeDecodeError('TRUNCATED', 'TradesStreamEvent: trades group header runs past the frame');
        const stride = u16(frame, p);
        const count = u32(frame, p + 2);
        p += 6;
        if (count > 0 && stride < TRADE_ID_BYTES) throw new SbeDecodeError('BAD_BLOCK_LENGTH', `TradesStreamEvent.trades: blockLength ${stride} < ${TRADE_ID_BYTES}`);
        if (count * stride > end - p) throw new SbeDecodeError('GROUP_TOO_LARGE', `TradesStreamEvent.trades: ${count} × ${stride} bytes exceed the ${end - p} left`);
        this.tradesAt = p;
        this.tradeStride = stride;
        this.count = count;
        if (count > 0) {
          this.firstId = i64(frame, p, 'trade id');
          this.lastId = count === 1 ? this.firstId : i64(frame, p + (count - 1) * stride, 'trade id');
        }
        p += count * stride;
        break;
      }
      case TEMPLATE_BEST_BID_ASK:
        need(blockLength, MIN_BLOCK.bestBidAsk, 'BestBidAskStreamEvent');
        this.kind = 'bestBidAsk';
        this.eventTs = i64(frame, root, 'eventTime');
        this.firstId = this.lastId = i64(frame, root + 8, 'bookUpdateId');
        this.count = 1;
        break;
      case TEMPLATE_DEPTH_SNAPSHOT:
        need(blockLength, MIN_BLOCK.snapshot, 'DepthSnapshotStreamEvent');
        this.kind = 'depthSnapshot';
        this.eventTs = i64(frame, root, 'eventTime');
        this.firstId = this.lastId = i64(frame, root + 8, 'bookUpdateId');
        this.count = 1;
        p = levelGroup(frame, levelGroup(frame, p, end, 'DepthSnapshotStreamEvent.bids'), end, 'DepthSnapshotStreamEvent.asks');
        break;
      case TEMPLATE_DEPTH_DIFF:
        need(blockLength, MIN_BLOCK.diff, 'DepthDiffStreamEvent');
        this.kind = 'depth';
        this.eventTs = i64(frame, root, 'eventTime');
        this.firstId = i64(frame, root + 8, 'firstBookUpdateId');
        this.lastId = i64(frame, root + 16, 'lastBookUpdateId');
        if (this.firstId > this.lastId) throw new SbeDecodeError('VALUE_OUT_OF_RANGE', `DepthDiffStreamEvent: U ${this.firstId} > u ${this.lastId}`);
        this.count = 1;
        p = levelGroup(frame, levelGroup(frame, p, end, 'DepthDiffStreamEvent.bids'), end, 'DepthDiffStreamEvent.asks');
        break;
      default:
        throw new SbeDecodeError('UNKNOWN_TEMPLATE', `templateId ${template} is not a stream_1_0 message`);
    }
    if (p >= end) throw new SbeDecodeError('TRUNCATED', 'symbol length runs past the frame');
    const n = frame[p];
    if (n === 0) throw new SbeDecodeError('BAD_SYMBOL', 'symbol is empty');
    if (p + 1 + n > end) throw new SbeDecodeError('TRUNCATED', `symbol of ${n} bytes runs past the frame`);
    this.symbol = this.symbolOf(frame, p + 1, p + 1 + n);
    p += 1 + n;
    if (p !== end && version <= SCHEMA_VERSION) throw new SbeDecodeError('TRAILING_BYTES', `${end - p} bytes after the symbol`);
    return this;
  }

  /** The id of trade `i` (0 ≤ i < count) of the trades message last wrapped. */
  tradeId(i: number): number {
    return i64(this.frame, this.tradesAt + i * this.tradeStride, 'trade id');
  }

  private symbolOf(frame: Uint8Array, start: number, end: number): string {
    // Symbols are a handful of ASCII bytes repeated on every frame: look the bytes up before decoding them.
    let key = '';
    for (let i = start; i < end; i++) {
      const c = frame[i];
      if (c >= 0x80) return this.utf8(frame, start, end);
      key += String.fromCharCode(c);
    }
    const hit = this.symbols.get(key);
    if (hit !== undefined) return hit;
    if (this.symbols.size >= SYMBOL_CACHE_MAX) this.symbols.clear();
    this.symbols.set(key, key);
    return key;
  }

  private utf8(frame: Uint8Array, start: number, end: number): string {
    try {
      return utf8Decoder.decode(frame.subarray(start, end));
    } catch {
      throw new SbeDecodeError('BAD_STRING', 'symbol is not UTF-8');
    }
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function need(blockLength: number, min: number, name: string): void {
  if (blockLength < min) throw new SbeDecodeError('BAD_BLOCK_LENGTH', `${name}: root blockLength ${blockLength} < ${min}`);
}

/** Skip one groupSize16Encoding group of book levels; returns the offset after it. */
function levelGroup(frame: Uint8Array, p: number, end: number, name: string): number {
  if (p + 4 > end) throw new SbeDecodeError('TRUNCATED', `${name}: group header runs past the frame`);
  const stride = u16(frame, p);
  const count = u16(frame, p + 2);
  p += 4;
  if (count * stride > end - p) throw new SbeDecodeError('GROUP_TOO_LARGE', `${name}: ${count} × ${stride} bytes exceed the ${end - p} left`);
  return p + count * stride;
}

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

/** A non-negative int64 below 2^53 (ids and times). */
function i64(b: Uint8Array, at: number, what: string): number {
  const lo = u32(b, at);
  const hi = u32(b, at + 4);
  if (hi > 0x1fffff) throw new SbeDecodeError('VALUE_OUT_OF_RANGE', `${what} is negative or not below 2^53`);
  return hi * TWO_32 + lo;
}
