import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBig } from '../../../src/core/fixed.js';
import type { CoreTrade } from '../../../src/core/fixed-events.js';
import { INT64, ROOT, sameAsDecodeFrame, SYMBOL } from '../../support/sbe-fast-path.js';
import { encodeTradesFrame } from '../../../src/binance/sbe-encode.js';

// decodeFrameCore decodes well-formed trades frames on a flat fast path and hands everything else to the
// flyweight path; these properties aim at the seams: int64s either side of ±2^53, the symbol it remembers
// between frames, bytes it must refuse exactly as decodeFrame does.

const ENTRIES = ROOT + 18 + 6;
const ENTRY = 25;

interface RawTrade {
  id: bigint;
  price: bigint;
  qty: bigint;
  bm: number;
}

const rawTrade = fc.record({ id: INT64, price: INT64, qty: INT64, bm: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 255 }) }) });
const rawFrame = fc.record({
  symbol: SYMBOL,
  eventTime: INT64,
  transactTime: INT64,
  pe: fc.integer({ min: -18, max: 4 }),
  qe: fc.integer({ min: -18, max: 4 }),
  trades: fc.array(rawTrade, { maxLength: 4 }),
  /** A byte to overwrite (index modulo the length) or the frame cut short, sometimes. */
  damage: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { nil: undefined, freq: 4 }),
});

/** A trades frame with these raw int64 words and enum bytes (the encoder refuses most of them, so they are patched in). */
function frameOf(f: { symbol: string; eventTime: bigint; transactTime: bigint; pe: number; qe: number; trades: RawTrade[]; damage?: [number, number, boolean] }): Uint8Array {
  const frame = encodeTradesFrame({
    symbol: f.symbol,
    eventTimeUs: 0,
    transactTimeUs: 0,
    priceExponent: f.pe,
    qtyExponent: f.qe,
    trades: f.trades.map(() => ({ id: 0, price: '0', qty: '0', isBuyerMaker: false })),
  });
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  view.setBigInt64(ROOT, f.eventTime, true);
  view.setBigInt64(ROOT + 8, f.transactTime, true);
  f.trades.forEach((t, i) => {
    const o = ENTRIES + i * ENTRY;
    view.setBigInt64(o, t.id, true);
    view.setBigInt64(o + 8, t.price, true);
    view.setBigInt64(o + 16, t.qty, true);
    frame[o + 24] = t.bm;
  });
  if (f.damage === undefined) return frame;
  const [at, byte, cut] = f.damage;
  if (cut) return frame.slice(0, at % frame.length);
  frame[at % frame.length] = byte;
  return frame;
}

describe('decodeFrameCore trades fast path', () => {
  it('property: over a run of frames (symbols changing), the same events, mantissas or errors as decodeFrame', () => {
    fc.assert(
      fc.property(fc.array(rawFrame, { minLength: 1, maxLength: 6 }), fc.option(fc.integer({ min: 0, max: 2 ** 52 }), { nil: undefined }), (frames, recv) => {
        for (const f of frames) {
          const frame = frameOf(f);
          const events = sameAsDecodeFrame(frame, recv);
          if (events === undefined) continue;
          if (f.damage !== undefined) continue;
          events.forEach((ev, i) => {
            const t = ev as CoreTrade;
            // Exact, and canonical: a number exactly when the mantissa is a safe integer.
            expect(t.price_m).toBe(fromBig(f.trades[i].price));
            expect(t.qty_m).toBe(fromBig(f.trades[i].qty));
            expect([t.price_e, t.qty_e, t.symbol]).toEqual([f.pe, f.qe, f.symbol]);
          });
        }
      }),
      { numRuns: 600 },
    );
  });
});
