import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal } from '../../../src/core/decimal.js';
import type { Level, MarketEvent } from '../../../src/core/events.js';
import { SbeDecodeError, decodeFrame, frameLength } from '../../../src/binance/sbe-decode.js';
import {
  SbeEncodeError,
  encodeBestBidAskFrame,
  encodeDepthDiffFrame,
  encodeDepthSnapshotFrame,
  encodeEventFrame,
  encodeTradesFrame,
} from '../../../src/binance/sbe-encode.js';

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const exponentArb = fc.integer({ min: -18, max: 6 });
const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const ts = fc.integer({ min: 0, max: 4_000_000_000_000_000 });
/** Symbols up to 255 UTF-8 bytes, non-ASCII included. */
const symbolArb = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
  .filter((s) => {
    const n = new TextEncoder().encode(s).length;
    return n > 0 && n <= 255;
  });

/** A decimal string representable at `exp` (any int64 mantissa), in canonical form. */
const decimalAt = (exp: number) => INT64.map((m) => formatDecimal(m, exp));
const levelsAt = (pe: number, qe: number, max: number) =>
  fc.array(fc.tuple(decimalAt(pe), decimalAt(qe)).map((l): Level => l), { maxLength: max });

describe('SBE round trip (encode → decode)', () => {
  it('trades frames: every trade comes back exactly', () => {
    fc.assert(
      fc.property(
        exponentArb,
        exponentArb,
        symbolArb,
        ts,
        ts,
        fc.integer({ min: 0, max: 30 }),
        (pe, qe, symbol, e, t, n) => {
          const trades = Array.from({ length: n }, (_, i) => ({
            id: i * 7919,
            price: formatDecimal(BigInt(i * 1_000_003 - 77), pe),
            qty: formatDecimal(2n ** 62n + BigInt(i), qe),
            isBuyerMaker: i % 3 === 0,
          }));
          const frame = encodeTradesFrame({ symbol, eventTimeUs: e, transactTimeUs: t, priceExponent: pe, qtyExponent: qe, trades });
          expect(frameLength(frame)).toBe(frame.length);
          const events = decodeFrame(frame);
          expect(events).toEqual(
            trades.map((x) => ({
              type: 'trade',
              symbol,
              event_ts: e,
              source: 'sbe',
              trade_id: x.id,
              sequence_id: x.id,
              price: x.price,
              quantity: x.qty,
              is_buyer_maker: x.isBuyerMaker,
              transact_ts: t,
            })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('bestBidAsk frames', () => {
    fc.assert(
      fc.property(
        exponentArb.chain((pe) => exponentArb.map((qe) => [pe, qe] as const)).chain(([pe, qe]) =>
          fc.record({
            pe: fc.constant(pe),
            qe: fc.constant(qe),
            bp: decimalAt(pe),
            bq: decimalAt(qe),
            ap: decimalAt(pe),
            aq: decimalAt(qe),
          }),
        ),
        symbolArb,
        ts,
        id,
        (v, symbol, e, u) => {
          const frame = encodeBestBidAskFrame({
            symbol,
            eventTimeUs: e,
            bookUpdateId: u,
            priceExponent: v.pe,
            qtyExponent: v.qe,
            bidPrice: v.bp,
            bidQty: v.bq,
            askPrice: v.ap,
            askQty: v.aq,
          });
          expect(decodeFrame(frame)).toEqual([
            { type: 'bestBidAsk', symbol, event_ts: e, source: 'sbe', bid_price: v.bp, bid_quantity: v.bq, ask_price: v.ap, ask_quantity: v.aq, sequence_id: u },
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('depth diff and snapshot frames, including empty groups', () => {
    fc.assert(
      fc.property(
        exponentArb.chain((pe) => exponentArb.map((qe) => [pe, qe] as const)).chain(([pe, qe]) =>
          fc.record({ pe: fc.constant(pe), qe: fc.constant(qe), bids: levelsAt(pe, qe, 25), asks: levelsAt(pe, qe, 25) }),
        ),
        symbolArb,
        ts,
        id,
        id,
        (v, symbol, e, a, b) => {
          const [first, last] = a <= b ? [a, b] : [b, a];
          const diff = encodeDepthDiffFrame({
            symbol,
            eventTimeUs: e,
            firstBookUpdateId: first,
            lastBookUpdateId: last,
            priceExponent: v.pe,
            qtyExponent: v.qe,
            bids: v.bids,
            asks: v.asks,
          });
          expect(decodeFrame(diff)).toEqual([
            { type: 'depth', symbol, event_ts: e, source: 'sbe', first_update_id: first, final_update_id: last, bids: v.bids, asks: v.asks },
          ]);
          const snap = encodeDepthSnapshotFrame({ symbol, eventTimeUs: e, bookUpdateId: last, priceExponent: v.pe, qtyExponent: v.qe, bids: v.bids, asks: v.asks });
          expect(decodeFrame(snap)).toEqual([
            { type: 'depthSnapshot', symbol, event_ts: e, source: 'sbe', last_update_id: last, bids: v.bids, asks: v.asks },
          ]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('1,000-level groups and a 255-byte non-ASCII symbol', () => {
    const symbol = 'Ж'.repeat(127) + 'A'; // 2 × 127 + 1 = 255 bytes
    const levels = (side: number): Level[] => Array.from({ length: 1000 }, (_, i) => [formatDecimal(BigInt(9_800_000 + side * i), -2), formatDecimal(BigInt(i), -8)]);
    const ev: MarketEvent = { type: 'depth', symbol, event_ts: 1, source: 'sbe', first_update_id: 5, final_update_id: 9, bids: levels(-1), asks: levels(1) };
    const frame = encodeEventFrame(ev);
    expect(frame.length).toBe(8 + 26 + 2 * (4 + 1000 * 16) + 1 + 255);
    expect(decodeFrame(frame)).toEqual([ev]);
    expect(() => encodeEventFrame({ ...ev, symbol: symbol + 'B' })).toThrow(SbeEncodeError);
  });

  it('encodeEventFrame round-trips each normalized event type (trade → 1-trade frame)', () => {
    const events: MarketEvent[] = [
      { type: 'trade', symbol: 'BTCUSDT', event_ts: 10, source: 'sbe', trade_id: 3, sequence_id: 3, price: '1.5', quantity: '2', is_buyer_maker: false, transact_ts: 9 },
      { type: 'bestBidAsk', symbol: 'BTCUSDT', event_ts: 10, source: 'sbe', bid_price: '1', bid_quantity: '0.1', ask_price: '1.01', ask_quantity: '3', sequence_id: 44 },
      { type: 'depthSnapshot', symbol: 'BTCUSDT', event_ts: 10, source: 'sbe', last_update_id: 44, bids: [['1', '1']], asks: [] },
    ];
    for (const ev of events) expect(decodeFrame(encodeEventFrame(ev))).toEqual([ev]);
  });

  it('encoders reject values they cannot represent exactly', () => {
    const base = { symbol: 'A', eventTimeUs: 1, bookUpdateId: 1, priceExponent: -2, qtyExponent: -2, bidPrice: '1', bidQty: '1', askPrice: '1', askQty: '1' };
    expect(() => encodeBestBidAskFrame({ ...base, bidPrice: '1.001' })).toThrow(/not representable/);
    expect(() => encodeBestBidAskFrame({ ...base, bidPrice: '1e5' })).toThrow(SbeEncodeError);
    expect(() => encodeBestBidAskFrame({ ...base, askQty: '92233720368547758.08' })).toThrow(/int64/);
    expect(() => encodeBestBidAskFrame({ ...base, priceExponent: 200 })).toThrow(/int8/);
    expect(() => encodeBestBidAskFrame({ ...base, bookUpdateId: 2 ** 60 })).toThrow(/safe integer/);
    expect(() => encodeBestBidAskFrame({ ...base, symbol: '' })).toThrow(/empty/);
  });
});

describe('SBE fuzz: arbitrary bytes never throw anything but SbeDecodeError', () => {
  const valid = [
    encodeTradesFrame({ symbol: 'BTCUSDT', eventTimeUs: 1, transactTimeUs: 2, priceExponent: -8, qtyExponent: -8, trades: [{ id: 1, price: '1', qty: '2', isBuyerMaker: true }] }),
    encodeBestBidAskFrame({ symbol: 'BTCUSDT', eventTimeUs: 1, bookUpdateId: 2, priceExponent: -8, qtyExponent: -8, bidPrice: '1', bidQty: '1', askPrice: '2', askQty: '2' }),
    encodeDepthDiffFrame({ symbol: 'BTCUSDT', eventTimeUs: 1, firstBookUpdateId: 1, lastBookUpdateId: 2, priceExponent: -8, qtyExponent: -8, bids: [['1', '1']], asks: [['2', '0']] }),
    encodeDepthSnapshotFrame({ symbol: 'BTCUSDT', eventTimeUs: 1, bookUpdateId: 2, priceExponent: -8, qtyExponent: -8, bids: [['1', '1']], asks: [] }),
  ];

  function decodeOrCode(frame: Uint8Array): MarketEvent[] | string {
    try {
      const events = decodeFrame(frame);
      // Decoded events must be well formed, whatever the bytes were.
      for (const ev of events) expect(typeof ev.symbol).toBe('string');
      return events;
    } catch (err) {
      if (err instanceof SbeDecodeError) return err.code;
      throw err;
    }
  }

  it('random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        decodeOrCode(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('random headers of known templates followed by random bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(10000, 10001, 10002, 10003), fc.integer({ min: 0, max: 70 }), fc.uint8Array({ maxLength: 200 }), (tid, bl, rest) => {
        const frame = new Uint8Array(8 + rest.length);
        new DataView(frame.buffer).setUint16(0, bl, true);
        new DataView(frame.buffer).setUint16(2, tid, true);
        new DataView(frame.buffer).setUint16(4, 1, true);
        frame.set(rest, 8);
        decodeOrCode(frame);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames (byte flips, truncation, extension)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.integer({ min: -10, max: 10 }),
        (frame, flips, delta) => {
          const len = Math.max(0, frame.length + delta);
          const m = new Uint8Array(len);
          m.set(frame.subarray(0, Math.min(len, frame.length)));
          for (const [at, v] of flips) if (len > 0) m[at % len] = v;
          decodeOrCode(m);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
