import type { Level, MarketEvent } from '../core/events.js';

/**
 * UTF-8 JSON of the normalized market events, written byte by byte into a shared slab instead of
 * JSON.stringify + Buffer.from (the largest cost of the ingest hot path: a generic walk of the object,
 * a string, then a second pass to encode it).
 *
 * For an event whose properties were created in the decoder's order (type, symbol, event_ts, source,
 * the type's own fields, then the optional transact_ts and recv_ts_us) the bytes are identical to
 * Buffer.from(JSON.stringify(event)); for another creation order they are the same JSON value with keys
 * in that canonical order. A string holding anything but printable ASCII without `"` or `\` (symbols are
 * arbitrary UTF-8) goes through JSON.stringify, so escaping is exactly JSON.stringify's. An event whose
 * `type` is unknown at run time is serialized by JSON.stringify as a whole. Pure; no I/O.
 */

/** Slab size: small, because every event still buffered keeps its whole slab alive. */
const SLAB_BYTES = 64 * 1024;
const SYMBOL_CACHE_MAX = 4_096;
/** Longest decimal form of a safe integer: "-9007199254740991". */
const MAX_INT_CHARS = 17;

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

type Heads = Record<MarketEvent['type'], Buffer>;

/** `{"type":"<type>","symbol":<symbol as JSON>,"event_ts":` per event type. */
function headsFor(symbol: string): Heads {
  const head = (type: string): Buffer => Buffer.from(`{"type":"${type}","symbol":${JSON.stringify(symbol)},"event_ts":`);
  return { trade: head('trade'), bestBidAsk: head('bestBidAsk'), depth: head('depth'), depthSnapshot: head('depthSnapshot') };
}

const K = {
  source: ascii(',"source":'),
  sourceSbe: ascii(',"source":"sbe"'),
  sourceJson: ascii(',"source":"json"'),
  sourceRest: ascii(',"source":"rest"'),
  tradeId: ascii(',"trade_id":'),
  price: ascii(',"price":'),
  quantity: ascii(',"quantity":'),
  buyerMakerTrue: ascii(',"is_buyer_maker":true'),
  buyerMakerFalse: ascii(',"is_buyer_maker":false'),
  sequenceId: ascii(',"sequence_id":'),
  transactTs: ascii(',"transact_ts":'),
  recvTs: ascii(',"recv_ts_us":'),
  bidPrice: ascii(',"bid_price":'),
  bidQuantity: ascii(',"bid_quantity":'),
  askPrice: ascii(',"ask_price":'),
  askQuantity: ascii(',"ask_quantity":'),
  firstUpdateId: ascii(',"first_update_id":'),
  finalUpdateId: ascii(',"final_update_id":'),
  lastUpdateId: ascii(',"last_update_id":'),
  bids: ascii(',"bids":'),
  asks: ascii(',"asks":'),
  nullValue: ascii('null'),
};

const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * Serializes MarketEvents. Each result is a view into a slab shared with later events (never written
 * again once returned), so callers may keep it as long as they like.
 */
export class MarketEventEncoder {
  private slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  private pos = 0;
  /** Start of the event being written (moved along when the slab is replaced mid-event). */
  private start = 0;
  /** Per recent symbol (one per partition key, repeated on every event) the event heads' bytes. */
  private readonly heads = new Map<string, Heads>();

  encode(ev: MarketEvent): Buffer {
    this.start = this.pos;
    switch (ev.type) {
      case 'trade':
        this.head('trade', ev);
        this.bytes(K.tradeId);
        this.num(ev.trade_id);
        this.bytes(K.price);
        this.str(ev.price);
        this.bytes(K.quantity);
        this.str(ev.quantity);
        this.bytes(ev.is_buyer_maker ? K.buyerMakerTrue : K.buyerMakerFalse);
        this.bytes(K.sequenceId);
        this.num(ev.sequence_id);
        if (ev.transact_ts !== undefined) {
          this.bytes(K.transactTs);
          this.num(ev.transact_ts);
        }
        break;
      case 'bestBidAsk':
        this.head('bestBidAsk', ev);
        this.bytes(K.bidPrice);
        this.str(ev.bid_price);
        this.bytes(K.bidQuantity);
        this.str(ev.bid_quantity);
        this.bytes(K.askPrice);
        this.str(ev.ask_price);
        this.bytes(K.askQuantity);
        this.str(ev.ask_quantity);
        this.bytes(K.sequenceId);
        this.num(ev.sequence_id);
        break;
      case 'depth':
        this.head('depth', ev);
        this.bytes(K.firstUpdateId);
        this.num(ev.first_update_id);
        this.bytes(K.finalUpdateId);
        this.num(ev.final_update_id);
        this.bytes(K.bids);
        this.levels(ev.bids);
        this.bytes(K.asks);
        this.levels(ev.asks);
        break;
      case 'depthSnapshot':
        this.head('depthSnapshot', ev);
        this.bytes(K.lastUpdateId);
        this.num(ev.last_update_id);
        this.bytes(K.bids);
        this.levels(ev.bids);
        this.bytes(K.asks);
        this.levels(ev.asks);
        break;
      default:
        return Buffer.from(JSON.stringify(ev));
    }
    if (ev.recv_ts_us !== undefined) {
      this.bytes(K.recvTs);
      this.num(ev.recv_ts_us);
    }
    this.byte(CLOSE_BRACE);
    return this.slab.subarray(this.start, this.pos);
  }

  /** `{"type":…,"symbol":…,"event_ts":<n>,"source":<s>`, the start every event shares. */
  private head(type: MarketEvent['type'], ev: MarketEvent): void {
    let heads = this.heads.get(ev.symbol);
    if (heads === undefined) {
      heads = headsFor(ev.symbol);
      if (this.heads.size >= SYMBOL_CACHE_MAX) this.heads.clear();
      this.heads.set(ev.symbol, heads);
    }
    this.bytes(heads[type]);
    this.num(ev.event_ts);
    const source = ev.source;
    if (source === 'sbe') this.bytes(K.sourceSbe);
    else if (source === 'json') this.bytes(K.sourceJson);
    else if (source === 'rest') this.bytes(K.sourceRest);
    else {
      this.bytes(K.source);
      this.str(source);
    }
  }

  private levels(levels: readonly Level[]): void {
    this.byte(OPEN_BRACKET);
    for (let i = 0; i < levels.length; i++) {
      const price = levels[i][0];
      const qty = levels[i][1];
      // One check for the level's punctuation and both strings when they need no escaping.
      this.reserve(price.length + qty.length + 8);
      if (i > 0) this.slab[this.pos++] = COMMA;
      this.slab[this.pos++] = OPEN_BRACKET;
      this.str(price);
      this.byte(COMMA);
      this.str(qty);
      this.byte(CLOSE_BRACKET);
    }
    this.byte(CLOSE_BRACKET);
  }

  /** A string, written directly when it is printable ASCII without `"` or `\`, else JSON.stringify's. */
  private str(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.slab;
    let p = this.pos;
    buf[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return this.escaped(s);
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  private escaped(s: string): void {
    const json = JSON.stringify(s);
    this.reserve(Buffer.byteLength(json));
    this.pos += this.slab.write(json, this.pos, 'utf8');
  }

  /** A number as JSON.stringify writes it: ToString for finite values (−0 → "0"), else null. */
  private num(n: number): void {
    if (Number.isSafeInteger(n)) {
      this.reserve(MAX_INT_CHARS);
      let v = n;
      if (v < 0) {
        this.slab[this.pos++] = 0x2d;
        v = -v;
      }
      if (v < 1e8) {
        this.small(v);
      } else {
        // Two int32 halves: int32 division by a constant is a multiply; double division is slow.
        const hi = Math.floor(v / 1e8);
        this.small(hi);
        this.eightDigits(v - hi * 1e8);
      }
    } else if (Number.isFinite(n)) {
      this.asciiText(String(n));
    } else {
      this.bytes(K.nullValue);
    }
  }

  /** 0 ≤ v < 1e8, no leading zeros. Room already reserved. */
  private small(v: number): void {
    let x = v | 0;
    const end = this.pos + digits(x);
    const buf = this.slab;
    let p = end;
    do {
      const q = (x / 10) | 0;
      buf[--p] = 0x30 + (x - q * 10);
      x = q;
    } while (x > 0);
    this.pos = end;
  }

  /** 0 ≤ v < 1e8 as exactly eight digits. Room already reserved. */
  private eightDigits(v: number): void {
    let x = v | 0;
    const buf = this.slab;
    const end = this.pos + 8;
    for (let p = end - 1; p >= this.pos; p--) {
      const q = (x / 10) | 0;
      buf[p] = 0x30 + (x - q * 10);
      x = q;
    }
    this.pos = end;
  }

  private asciiText(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.slab[this.pos++] = s.charCodeAt(i);
  }

  private bytes(b: Buffer): void {
    this.reserve(b.length);
    this.slab.set(b, this.pos);
    this.pos += b.length;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.slab[this.pos++] = b;
  }

  /** Make room for `n` more bytes; a new slab takes over the event written so far. */
  private reserve(n: number): void {
    if (this.pos + n <= this.slab.length) return;
    const sofar = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, 2 * (sofar + n)));
    this.slab.copy(next, 0, this.start, this.pos);
    this.slab = next;
    this.start = 0;
    this.pos = sofar;
  }
}

/** Decimal digits of 0 ≤ x < 1e8. */
function digits(x: number): number {
  if (x < 10_000) return x < 10 ? 1 : x < 100 ? 2 : x < 1_000 ? 3 : 4;
  return x < 100_000 ? 5 : x < 1_000_000 ? 6 : x < 10_000_000 ? 7 : 8;
}
