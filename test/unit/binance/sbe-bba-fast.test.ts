import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBig } from '../../../src/core/fixed.js';
import { toMarketEvent, type CoreBestBidAsk } from '../../../src/core/fixed-events.js';
import { decodeFrame, decodeFrameCore } from '../../../src/binance/sbe-decode.js';
import { INT64, ROOT, sameAsDecodeFrame, SYMBOL } from '../../support/sbe-fast-path.js';
import { encodeBestBidAskFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';

// decodeFrameCore decodes well-formed bestBidAsk frames on a flat fast path and hands everything else to
// the flyweight path; these properties aim at the seams: int64s either side of ±2^53, the symbol it
// remembers between frames (shared with the trades fast path), bytes it must refuse exactly as decodeFrame does.


const rawFrame = fc.record({
  symbol: SYMBOL,
  eventTime: INT64,
  bookUpdateId: INT64,
  pe: fc.integer({ min: -18, max: 4 }),
  qe: fc.integer({ min: -18, max: 4 }),
  m: fc.tuple(INT64, INT64, INT64, INT64),
  /** A byte overwritten (index modulo the length), the frame cut short, or bytes appended, sometimes. */
  damage: fc.option(fc.tuple(fc.constantFrom('byte', 'cut', 'trail'), fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined, freq: 4 }),
  /** A trades frame of another symbol decoded just before, sometimes (both fast paths remember a symbol). */
  tradeBefore: fc.option(SYMBOL, { nil: undefined, freq: 4 }),
});
type RawFrame = typeof rawFrame extends fc.Arbitrary<infer T> ? T : never;

/** A bestBidAsk frame with these raw int64 words (the encoder refuses most of them, so they are patched in). */
function frameOf(f: RawFrame): Uint8Array {
  const frame = encodeBestBidAskFrame({ symbol: f.symbol, eventTimeUs: 0, bookUpdateId: 0, priceExponent: f.pe, qtyExponent: f.qe, bidPrice: '0', bidQty: '0', askPrice: '0', askQty: '0' });
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  view.setBigInt64(ROOT, f.eventTime, true);
  view.setBigInt64(ROOT + 8, f.bookUpdateId, true);
  f.m.forEach((v, i) => view.setBigInt64(ROOT + 18 + 8 * i, v, true));
  if (f.damage === undefined) return frame;
  const [kind, at, byte] = f.damage;
  if (kind === 'cut') return frame.slice(0, at % frame.length);
  if (kind === 'trail') return Uint8Array.from([...frame, ...new Array<number>(1 + (at % 3)).fill(byte)]);
  frame[at % frame.length] = byte;
  return frame;
}

describe('decodeFrameCore bestBidAsk fast path', () => {
  it('property: over a run of frames (symbols changing), the same events, mantissas or errors as decodeFrame', () => {
    fc.assert(
      fc.property(fc.array(rawFrame, { minLength: 1, maxLength: 6 }), fc.option(fc.integer({ min: 0, max: 2 ** 52 }), { nil: undefined }), (frames, recv) => {
        for (const f of frames) {
          if (f.tradeBefore !== undefined) {
            const t = encodeTradesFrame({ symbol: f.tradeBefore, eventTimeUs: 1, transactTimeUs: 1, priceExponent: -2, qtyExponent: -8, trades: [{ id: 1, price: '1.00', qty: '1', isBuyerMaker: false }] });
            expect(decodeFrameCore(t).map(toMarketEvent)).toEqual(decodeFrame(t));
          }
          const frame = frameOf(f);
          const events = sameAsDecodeFrame(frame, recv);
          if (events === undefined) continue;
          if (f.damage !== undefined) continue;
          const ev = events[0] as CoreBestBidAsk;
          // Exact, and canonical: a number exactly when the mantissa is a safe integer.
          expect([ev.bid_price_m, ev.bid_qty_m, ev.ask_price_m, ev.ask_qty_m]).toEqual(f.m.map((v) => fromBig(v)));
          expect([ev.bid_price_m, ev.bid_qty_m, ev.ask_price_m, ev.ask_qty_m].map((v) => typeof v)).toEqual(f.m.map((v) => typeof fromBig(v)));
          expect([ev.price_e, ev.qty_e, ev.symbol, ev.event_ts, ev.sequence_id]).toEqual([f.pe, f.qe, f.symbol, Number(f.eventTime), Number(f.bookUpdateId)]);
          // Key order is part of the shape: one hidden class for both paths.
          const keys = ['core', 'type', 'symbol', 'event_ts', 'source', 'sequence_id', 'price_e', 'qty_e', 'bid_price_m', 'bid_qty_m', 'ask_price_m', 'ask_qty_m'];
          expect(Object.keys(ev)).toEqual(recv === undefined ? keys : [...keys, 'recv_ts_us']);
        }
      }),
      { numRuns: 600 },
    );
  });
});
