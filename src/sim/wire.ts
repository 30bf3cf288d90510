/**
 * The simulator's hot-path SBE writer: engine events (integer ticks and lots) straight into stream_1_0
 * frames, without the decimal-string round trip of binance/sbe-encode.ts. Byte-for-byte identical to
 * that encoder (a unit test checks it); it exists only because the venue must produce 50k+ frames/s.
 *
 * Frames are carved out of a shared slab (a Buffer view each, written through one DataView), so a frame
 * costs one small object instead of a typed array, a backing store and a DataView; being Buffers, they
 * also go to the socket without another wrapper. A frame is never written again once returned.
 */
import type { EngineEvent } from './engine.js';
import type { SymbolSpec } from './symbols.js';

const HEADER = 8;
const SCHEMA_ID = 1;
const VERSION = 0;
const TRADE_ENTRY = 25;
const LEVEL_ENTRY = 16;
const TWO32 = 4294967296;
/** Bytes per slab: a few hundred frames, so a new slab is rare and a held frame retains little. */
const SLAB_BYTES = 64 * 1024;

export class WireEncoder {
  private readonly sym: Uint8Array;
  private readonly priceScale: number;
  private readonly qtyScale: number;
  private readonly priceExp: number;
  private readonly qtyExp: number;
  private slab: Buffer = Buffer.alloc(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  /** Next free byte of the slab. */
  private free = 0;

  constructor(spec: SymbolSpec) {
    this.sym = new TextEncoder().encode(spec.symbol);
    this.priceScale = 10 ** (-spec.priceExponent - spec.tickDecimals);
    this.qtyScale = 10 ** (-spec.qtyExponent - spec.lotDecimals);
    this.priceExp = spec.priceExponent;
    this.qtyExp = spec.qtyExponent;
  }

  encode(ev: EngineEvent): Buffer {
    const tail = 1 + this.sym.length;
    switch (ev.kind) {
      case 'trade': {
        const n = ev.trades.length;
        const start = this.begin(HEADER + 18 + 6 + n * TRADE_ENTRY + tail, 18, 10000);
        const v = this.view;
        let p = start + HEADER;
        p = i64(v, p, ev.timeUs);
        p = i64(v, p, ev.timeUs);
        p = this.exps(p);
        v.setUint16(p, TRADE_ENTRY, true);
        v.setUint32(p + 2, n, true);
        p += 6;
        for (const t of ev.trades) {
          p = i64(v, p, t.id);
          p = i64(v, p, t.price * this.priceScale);
          p = i64(v, p, t.qty * this.qtyScale);
          v.setUint8(p, t.isBuyerMaker ? 1 : 0);
          p += 1;
        }
        return this.finish(start, p);
      }
      case 'bestBidAsk': {
        const start = this.begin(HEADER + 50 + tail, 50, 10001);
        const v = this.view;
        let p = start + HEADER;
        p = i64(v, p, ev.timeUs);
        p = i64(v, p, ev.updateId);
        p = this.exps(p);
        p = i64(v, p, ev.bidPrice * this.priceScale);
        p = i64(v, p, ev.bidQty * this.qtyScale);
        p = i64(v, p, ev.askPrice * this.priceScale);
        p = i64(v, p, ev.askQty * this.qtyScale);
        return this.finish(start, p);
      }
      case 'depth': {
        const size = HEADER + 26 + 8 + (ev.bids.length + ev.asks.length) * LEVEL_ENTRY + tail;
        const start = this.begin(size, 26, 10003);
        let p = start + HEADER;
        p = i64(this.view, p, ev.timeUs);
        p = i64(this.view, p, ev.firstUpdateId);
        p = i64(this.view, p, ev.lastUpdateId);
        p = this.exps(p);
        p = this.levels(p, ev.bids);
        p = this.levels(p, ev.asks);
        return this.finish(start, p);
      }
      case 'depth20': {
        const size = HEADER + 18 + 8 + (ev.bids.length + ev.asks.length) * LEVEL_ENTRY + tail;
        const start = this.begin(size, 18, 10002);
        let p = start + HEADER;
        p = i64(this.view, p, ev.timeUs);
        p = i64(this.view, p, ev.updateId);
        p = this.exps(p);
        p = this.levels(p, ev.bids);
        p = this.levels(p, ev.asks);
        return this.finish(start, p);
      }
    }
  }

  private levels(p: number, levels: Array<[number, number]>): number {
    const v = this.view;
    v.setUint16(p, LEVEL_ENTRY, true);
    v.setUint16(p + 2, levels.length, true);
    p += 4;
    for (const [price, qty] of levels) {
      p = i64(v, p, price * this.priceScale);
      p = i64(v, p, qty * this.qtyScale);
    }
    return p;
  }

  private exps(p: number): number {
    this.view.setInt8(p, this.priceExp);
    this.view.setInt8(p + 1, this.qtyExp);
    return p + 2;
  }

  /** Reserve `size` bytes for one frame (a new slab when the current one is short) and write its header. */
  private begin(size: number, blockLength: number, templateId: number): number {
    if (this.free + size > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, size));
      this.view = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.length);
      this.free = 0;
    }
    const start = this.free;
    // Claimed before the body is written: a frame that throws half-way leaves a hole, never a shared byte.
    this.free += size;
    const v = this.view;
    v.setUint16(start, blockLength, true);
    v.setUint16(start + 2, templateId, true);
    v.setUint16(start + 4, SCHEMA_ID, true);
    v.setUint16(start + 6, VERSION, true);
    return start;
  }

  /** Write the symbol (varString8) at `p` and return the frame, which must end exactly there. */
  private finish(start: number, p: number): Buffer {
    const sym = this.sym;
    this.view.setUint8(p, sym.length);
    this.slab.set(sym, p + 1);
    p += 1 + sym.length;
    if (p !== this.free) throw new RangeError(`frame size mismatch: wrote ${p - start} of ${this.free - start}`);
    return this.slab.subarray(start, p);
  }
}

/** A non-negative safe integer as little-endian int64 at `p`, without BigInt; returns the next offset. */
function i64(v: DataView, p: number, x: number): number {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`int64 field out of range: ${x}`);
  v.setUint32(p, x % TWO32, true);
  v.setUint32(p + 4, Math.floor(x / TWO32), true);
  return p + 8;
}
