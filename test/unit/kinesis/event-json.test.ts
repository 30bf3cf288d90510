import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BestBidAskEvent, DepthEvent, DepthSnapshotEvent, EventSource, Level, MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { MarketEventEncoder } from '../../../src/kinesis/event-json.js';

/** Strings of arbitrary UTF-16 code units: quotes, backslashes, controls, non-ASCII, lone surrogates. */
const anyUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 20 }).map((units) => String.fromCharCode(...units));
const oddString = fc.oneof(
  fc.stringMatching(/^[0-9]{1,12}(\.[0-9]{1,8})?$/),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  anyUnits,
);
const symbol = fc.oneof(fc.constantFrom('BTCUSDT', 'ETHBTC', '1000SHIBUSDT'), fc.string({ unit: 'binary', minLength: 1, maxLength: 255 }), anyUnits);
const int = fc.oneof(fc.nat(), fc.maxSafeInteger(), fc.maxSafeNat(), fc.constantFrom(0, -0, 1e8, 1e8 - 1, 99_999_999_999, 1_763_700_000_000_000));
/** JSON.stringify writes non-safe-integers, fractions and non-finite values too; the encoder must agree. */
const num = fc.oneof({ arbitrary: int, weight: 4 }, { arbitrary: fc.double(), weight: 1 }, { arbitrary: fc.constantFrom(2 ** 53, -(2 ** 60), 1e21, 5e-7), weight: 1 });
const source = fc.oneof(fc.constantFrom<EventSource>('sbe', 'json', 'rest'), oddString as fc.Arbitrary<EventSource>);
const level = fc.tuple(oddString, oddString) as fc.Arbitrary<Level>;
const levels = fc.array(level, { maxLength: 25 });
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

// Properties are created in the decoder's order (src/binance/sbe-decode.ts); absent optional fields
// are either missing or present as undefined, which JSON.stringify treats alike.
const trade: fc.Arbitrary<TradeEvent> = fc
  .record({ symbol, event_ts: num, source, trade_id: num, price: oddString, quantity: oddString, is_buyer_maker: fc.boolean(), sequence_id: num, transact_ts: maybe(num), recv_ts_us: maybe(num), keepUndefined: fc.boolean() })
  .map(({ keepUndefined, ...r }) => {
    const ev: TradeEvent = { type: 'trade', symbol: r.symbol, event_ts: r.event_ts, source: r.source, trade_id: r.trade_id, price: r.price, quantity: r.quantity, is_buyer_maker: r.is_buyer_maker, sequence_id: r.sequence_id };
    if (r.transact_ts !== undefined || keepUndefined) ev.transact_ts = r.transact_ts;
    if (r.recv_ts_us !== undefined || keepUndefined) ev.recv_ts_us = r.recv_ts_us;
    return ev;
  });
const bestBidAsk: fc.Arbitrary<BestBidAskEvent> = fc
  .record({ symbol, event_ts: num, source, bid_price: oddString, bid_quantity: oddString, ask_price: oddString, ask_quantity: oddString, sequence_id: num, recv_ts_us: maybe(num) })
  .map((r) => {
    const ev: BestBidAskEvent = { type: 'bestBidAsk', symbol: r.symbol, event_ts: r.event_ts, source: r.source, bid_price: r.bid_price, bid_quantity: r.bid_quantity, ask_price: r.ask_price, ask_quantity: r.ask_quantity, sequence_id: r.sequence_id };
    if (r.recv_ts_us !== undefined) ev.recv_ts_us = r.recv_ts_us;
    return ev;
  });
const depth: fc.Arbitrary<DepthEvent> = fc
  .record({ symbol, event_ts: num, source, first_update_id: num, final_update_id: num, bids: levels, asks: levels, recv_ts_us: maybe(num) })
  .map((r) => {
    const ev: DepthEvent = { type: 'depth', symbol: r.symbol, event_ts: r.event_ts, source: r.source, first_update_id: r.first_update_id, final_update_id: r.final_update_id, bids: r.bids, asks: r.asks };
    if (r.recv_ts_us !== undefined) ev.recv_ts_us = r.recv_ts_us;
    return ev;
  });
const snapshot: fc.Arbitrary<DepthSnapshotEvent> = fc
  .record({ symbol, event_ts: num, source, last_update_id: num, bids: levels, asks: levels, recv_ts_us: maybe(num) })
  .map((r) => {
    const ev: DepthSnapshotEvent = { type: 'depthSnapshot', symbol: r.symbol, event_ts: r.event_ts, source: r.source, last_update_id: r.last_update_id, bids: r.bids, asks: r.asks };
    if (r.recv_ts_us !== undefined) ev.recv_ts_us = r.recv_ts_us;
    return ev;
  });
const marketEvent: fc.Arbitrary<MarketEvent> = fc.oneof(trade, bestBidAsk, depth, snapshot);

const reference = (ev: unknown): Buffer => Buffer.from(JSON.stringify(ev));

describe('MarketEventEncoder', () => {
  it('writes exactly the bytes of Buffer.from(JSON.stringify(event)) for every event shape', () => {
    const enc = new MarketEventEncoder();
    fc.assert(
      fc.property(marketEvent, (ev) => {
        expect(enc.encode(ev).toString('hex')).toBe(reference(ev).toString('hex'));
      }),
      { numRuns: 3_000 },
    );
  });

  it('earlier results stay intact while later events fill and replace slabs', () => {
    const enc = new MarketEventEncoder();
    fc.assert(
      fc.property(fc.array(marketEvent, { minLength: 50, maxLength: 400 }), (events) => {
        const out = events.map((ev) => enc.encode(ev));
        events.forEach((ev, i) => expect(out[i].equals(reference(ev))).toBe(true));
      }),
      { numRuns: 40 },
    );
  });

  it('handles an event larger than a slab, started part-way into one', () => {
    const enc = new MarketEventEncoder();
    const small: TradeEvent = { type: 'trade', symbol: 'BTCUSDT', event_ts: 1, source: 'sbe', trade_id: 2, price: '1.5', quantity: '2', is_buyer_maker: true, sequence_id: 2 };
    for (let i = 0; i < 100; i++) enc.encode(small);
    const bids: Level[] = Array.from({ length: 5_000 }, (_, i) => [`${98_000 - i}.12345678`, `${i}.5`]);
    const big: DepthEvent = { type: 'depth', symbol: 'BTCUSDT', event_ts: 3, source: 'sbe', first_update_id: 4, final_update_id: 5, bids, asks: bids };
    const first = enc.encode(big);
    const second = enc.encode(small);
    expect(first.length).toBeGreaterThan(64 * 1024);
    expect(first.equals(reference(big))).toBe(true);
    expect(second.equals(reference(small))).toBe(true);
  });

  it('is byte-identical for events as the SBE decoder builds them', () => {
    const enc = new MarketEventEncoder();
    const ts = 1_763_700_000_123_456;
    const frames = [
      encodeTradesFrame({ symbol: 'BTCUSDT', eventTimeUs: ts, transactTimeUs: ts - 50, priceExponent: -8, qtyExponent: -8, trades: [{ id: 5_000_000_001, price: '98000.01', qty: '0.00123', isBuyerMaker: true }, { id: 5_000_000_002, price: '98000', qty: '1', isBuyerMaker: false }] }),
      encodeBestBidAskFrame({ symbol: 'ÉTH/€', eventTimeUs: ts, bookUpdateId: 70_000_000_001, priceExponent: -2, qtyExponent: -8, bidPrice: '3000.5', bidQty: '1.25', askPrice: '3000.51', askQty: '0.5' }),
      encodeDepthDiffFrame({ symbol: 'BTCUSDT', eventTimeUs: ts, firstBookUpdateId: 7, lastBookUpdateId: 9, priceExponent: -8, qtyExponent: -8, bids: [['98000.01', '0.1']], asks: [] }),
    ];
    for (const recv of [ts + 1_000, undefined]) {
      for (const f of frames) {
        for (const ev of decodeFrame(f, recv)) expect(enc.encode(ev).toString()).toBe(JSON.stringify(ev));
      }
    }
  });

  it('writes the same JSON value (canonical key order) for events built in another property order', () => {
    const enc = new MarketEventEncoder();
    fc.assert(
      fc.property(marketEvent, (ev) => {
        const shuffled = Object.fromEntries(Object.entries(ev).reverse()) as MarketEvent;
        expect(JSON.parse(enc.encode(shuffled).toString())).toEqual(JSON.parse(JSON.stringify(ev)));
      }),
      { numRuns: 300 },
    );
  });

  it('falls back to JSON.stringify for an event of unknown type', () => {
    const enc = new MarketEventEncoder();
    const odd = { type: 'kline', symbol: 'X', interval: '1m' } as unknown as MarketEvent;
    expect(enc.encode(odd).toString()).toBe(JSON.stringify(odd));
  });
});
