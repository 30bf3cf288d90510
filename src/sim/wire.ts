/**
 * The simulator's hot-path SBE writer: engine events (integer ticks and lots) straight into stream_1_0
 * frames, without the decimal-string round trip of binance/sbe-encode.ts. Byte-for-byte identical to
 * that encoder (a unit test checks it); it exists only because the venue must produce 50k+ frames/s.
 */
import type { EngineEvent } from './engine.js';
import type { SymbolSpec } from './symbols.js';

const HEADER = 8;
const SCHEMA_ID = 1;
const VERSION = 0;
const TRADE_ENTRY = 25;
const LEVEL_ENTRY = 16;
const TWO32 = 4294967296;

export class WireEncoder {
  private readonly sym: Uint8Array;
  private readonly priceScale: number;
  private readonly qtyScale: number;
  private readonly priceExp: number;
  private readonly qtyExp: number;

  constructor(spec: SymbolSpec) {
    this.sym = new TextEncoder().encode(spec.symbol);
    this.priceScale = 10 ** (-spec.priceExponent - spec.tickDecimals);
    this.qtyScale = 10 ** (-spec.qtyExponent - spec.lotDecimals);
    this.priceExp = spec.priceExponent;
    this.qtyExp = spec.qtyExponent;
  }

  encode(ev: EngineEvent): Uint8Array {
    switch (ev.kind) {
      case 'trade': {
        const n = ev.trades.length;
        const w = this.writer(HEADER + 18 + 6 + n * TRADE_ENTRY + 1 + this.sym.length, 18, 10000);
        w.i64(ev.timeUs);
        w.i64(ev.timeUs);
        w.exps();
        w.u16(TRADE_ENTRY);
        w.u32(n);
        for (const t of ev.trades) {
          w.i64(t.id);
          w.i64(t.price * this.priceScale);
          w.i64(t.qty * this.qtyScale);
          w.u8(t.isBuyerMaker ? 1 : 0);
        }
        return w.finish();
      }
      case 'bestBidAsk': {
        const w = this.writer(HEADER + 50 + 1 + this.sym.length, 50, 10001);
        w.i64(ev.timeUs);
        w.i64(ev.updateId);
        w.exps();
        w.i64(ev.bidPrice * this.priceScale);
        w.i64(ev.bidQty * this.qtyScale);
        w.i64(ev.askPrice * this.priceScale);
        w.i64(ev.askQty * this.qtyScale);
        return w.finish();
      }
      case 'depth': {
        const size = HEADER + 26 + 8 + (ev.bids.length + ev.asks.length) * LEVEL_ENTRY + 1 + this.sym.length;
        const w = this.writer(size, 26, 10003);
        w.i64(ev.timeUs);
        w.i64(ev.firstUpdateId);
        w.i64(ev.lastUpdateId);
        w.exps();
        this.levels(w, ev.bids);
        this.levels(w, ev.asks);
        return w.finish();
      }
      case 'depth20': {
        const size = HEADER + 18 + 8 + (ev.bids.length + ev.asks.length) * LEVEL_ENTRY + 1 + this.sym.length;
        const w = this.writer(size, 18, 10002);
        w.i64(ev.timeUs);
        w.i64(ev.updateId);
        w.exps();
        this.levels(w, ev.bids);
        this.levels(w, ev.asks);
        return w.finish();
      }
    }
  }

  private levels(w: Writer, levels: Array<[number, number]>): void {
    w.u16(LEVEL_ENTRY);
    w.u16(levels.length);
    for (const [p, q] of levels) {
      w.i64(p * this.priceScale);
      w.i64(q * this.qtyScale);
    }
  }

  private writer(size: number, blockLength: number, templateId: number): Writer {
    const w = new Writer(size, this.sym, this.priceExp, this.qtyExp);
    w.u16(blockLength);
    w.u16(templateId);
    w.u16(SCHEMA_ID);
    w.u16(VERSION);
    return w;
  }
}

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(
    size: number,
    private readonly sym: Uint8Array,
    private readonly priceExp: number,
    private readonly qtyExp: number,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
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

  /** A non-negative safe integer as little-endian int64, without BigInt. */
  i64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`int64 field out of range: ${v}`);
    this.view.setUint32(this.pos, v % TWO32, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / TWO32), true);
    this.pos += 8;
  }

  exps(): void {
    this.view.setInt8(this.pos, this.priceExp);
    this.view.setInt8(this.pos + 1, this.qtyExp);
    this.pos += 2;
  }

  finish(): Uint8Array {
    this.u8(this.sym.length);
    this.bytes.set(this.sym, this.pos);
    this.pos += this.sym.length;
    if (this.pos !== this.bytes.length) throw new RangeError(`frame size mismatch: wrote ${this.pos} of ${this.bytes.length}`);
    return this.bytes;
  }
}
