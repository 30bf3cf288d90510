import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal } from '../../../src/core/decimal.js';
import type { Level, MarketEvent } from '../../../src/core/events.js';
import { toCoreEvent, toMarketEvent, type CoreEvent, type LevelMantissas } from '../../../src/core/fixed-events.js';
import { SymbolState } from '../../../src/core/symbol-state.js';
import { decodeFrame, decodeFrameCore } from '../../../src/binance/sbe-decode.js';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeDepthSnapshotFrame, encodeEventFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { jsonPayloadToCoreEvents, jsonPayloadToEvents } from '../../../src/binance/json-events.js';
import { generateMarket } from './market-gen.js';

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const UINT63 = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });
/** Mostly ordinary venue mantissas, sometimes beyond 2^53 (the BigInt fallback). */
const mantissa = fc.oneof({ weight: 5, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 15n }) }, { weight: 1, arbitrary: UINT63 });
const exponent = fc.integer({ min: -18, max: 4 });
const dec = (e: number) => mantissa.map((m) => formatDecimal(m, e));
const ts = fc.integer({ min: 0, max: 4_000_000_000_000_000 });
const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const symbol = fc.constantFrom('BTCUSDT', 'ETHUSDT', 'X');
const recv = fc.option(ts, { nil: undefined });

/** Canonical MarketEvents (strings as formatDecimal prints them), any exponent per value. */
const levelsArb = fc.array(fc.tuple(exponent, exponent).chain(([pe, qe]) => fc.tuple(dec(pe), dec(qe)).map((l): Level => l)), { maxLength: 12 });
const marketEventArb: fc.Arbitrary<MarketEvent> = fc.oneof(
  fc.record({ symbol, event_ts: ts, id, p: exponent.chain(dec), q: exponent.chain(dec), m: fc.boolean(), t: fc.option(ts, { nil: undefined }), recv }).map(
    (v): MarketEvent => ({
      type: 'trade',
      symbol: v.symbol,
      event_ts: v.event_ts,
      source: 'sbe',
      trade_id: v.id,
      price: v.p,
      quantity: v.q,
      is_buyer_maker: v.m,
      sequence_id: v.id,
      ...(v.t === undefined ? {} : { transact_ts: v.t }),
      ...(v.recv === undefined ? {} : { recv_ts_us: v.recv }),
    }),
  ),
  fc.record({ symbol, event_ts: ts, id, bp: exponent.chain(dec), bq: exponent.chain(dec), ap: exponent.chain(dec), aq: exponent.chain(dec), recv }).map(
    (v): MarketEvent => ({
      type: 'bestBidAsk',
      symbol: v.symbol,
      event_ts: v.event_ts,
      source: 'json',
      bid_price: v.bp,
      bid_quantity: v.bq,
      ask_price: v.ap,
      ask_quantity: v.aq,
      sequence_id: v.id,
      ...(v.recv === undefined ? {} : { recv_ts_us: v.recv }),
    }),
  ),
  fc.record({ symbol, event_ts: ts, U: id, n: fc.integer({ min: 0, max: 5 }), bids: levelsArb, asks: levelsArb, recv }).map(
    (v): MarketEvent => ({
      type: 'depth',
      symbol: v.symbol,
      event_ts: v.event_ts,
      source: 'sbe',
      first_update_id: v.U,
      final_update_id: v.U + v.n,
      bids: v.bids,
      asks: v.asks,
      ...(v.recv === undefined ? {} : { recv_ts_us: v.recv }),
    }),
  ),
  fc.record({ symbol, event_ts: ts, L: id, bids: levelsArb, asks: levelsArb }).map(
    (v): MarketEvent => ({ type: 'depthSnapshot', symbol: v.symbol, event_ts: v.event_ts, source: 'rest', last_update_id: v.L, bids: v.bids, asks: v.asks }),
  ),
);

/** Every decimal value of a CoreEvent as [mantissa, exponent] pairs, for exact value comparisons. */
function values(ev: CoreEvent): Array<[bigint, number]> {
  const lv = (levels: LevelMantissas, pe: number, qe: number): Array<[bigint, number]> =>
    Array.from(levels as ArrayLike<number | bigint>, (m, i) => [BigInt(m), i % 2 === 0 ? pe : qe] as [bigint, number]);
  switch (ev.type) {
    case 'trade':
      return [
        [BigInt(ev.price_m), ev.price_e],
        [BigInt(ev.qty_m), ev.qty_e],
      ];
    case 'bestBidAsk':
      return [
        [BigInt(ev.bid_price_m), ev.price_e],
        [BigInt(ev.bid_qty_m), ev.qty_e],
        [BigInt(ev.ask_price_m), ev.price_e],
        [BigInt(ev.ask_qty_m), ev.qty_e],
      ];
    default:
      return lv(ev.levels, ev.price_e, ev.qty_e);
  }
}

const sameValue = ([m1, e1]: [bigint, number], [m2, e2]: [bigint, number]): boolean => {
  const e = Math.min(e1, e2);
  return m1 * 10n ** BigInt(e1 - e) === m2 * 10n ** BigInt(e2 - e);
};

/** Two CoreEvents carry the same values (mantissa/exponent pairs may differ) and the same other fields. */
function expectSameCore(a: CoreEvent, b: CoreEvent): void {
  const va = values(a);
  const vb = values(b);
  expect(va.length).toBe(vb.length);
  for (let i = 0; i < va.length; i++) expect(sameValue(va[i], vb[i]), `value ${i}: ${va[i].join('e')} vs ${vb[i].join('e')}`).toBe(true);
  expect(toMarketEvent(a)).toEqual(toMarketEvent(b));
}

describe('CoreEvent ⇄ MarketEvent', () => {
  it('property: toMarketEvent ∘ toCoreEvent is the identity on canonical events', () => {
    fc.assert(
      fc.property(marketEventArb, (ev) => {
        expect(toMarketEvent(toCoreEvent(ev))).toEqual(ev);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: toCoreEvent ∘ toMarketEvent keeps every value exactly (safe mantissas as numbers, BigInt only beyond 2^53)', () => {
    fc.assert(
      fc.property(marketEventArb, (ev) => {
        const core = toCoreEvent(ev);
        const again = toCoreEvent(toMarketEvent(core));
        expectSameCore(core, again);
        const safe = (m: bigint): boolean => m <= BigInt(Number.MAX_SAFE_INTEGER) && m >= -BigInt(Number.MAX_SAFE_INTEGER);
        if (again.type === 'trade') {
          expect(typeof again.price_m === 'bigint').toBe(!safe(BigInt(again.price_m)));
          expect(typeof again.qty_m === 'bigint').toBe(!safe(BigInt(again.qty_m)));
        } else if (again.type === 'depth' || again.type === 'depthSnapshot') {
          expect(again.levels instanceof Float64Array).toBe(values(again).every(([m]) => safe(m)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps venue padding out of the strings and the digits in the values', () => {
    const core = toCoreEvent({ type: 'depth', symbol: 'S', event_ts: 1, source: 'json', first_update_id: 1, final_update_id: 1, bids: [['45230.50000000', '1.25000000']], asks: [['45230.51', '0']] });
    if (core.type !== 'depth') throw new Error('depth expected');
    expect([core.price_e, core.qty_e]).toEqual([-8, -8]);
    expect(Array.from(core.levels as Float64Array)).toEqual([4523050000000, 125000000, 4523051000000, 0]);
    expect(toMarketEvent(core)).toMatchObject({ bids: [['45230.5', '1.25']], asks: [['45230.51', '0']] });
  });
});

describe('SBE fast path', () => {
  it('property: decodeFrameCore(frame) carries exactly what decodeFrame(frame) does, for any int64 mantissas', () => {
    const pair = fc.tuple(INT64, INT64);
    fc.assert(
      fc.property(
        exponent,
        exponent,
        fc.constantFrom('trades', 'bba', 'diff', 'snapshot'),
        fc.array(pair, { maxLength: 25 }),
        fc.array(pair, { maxLength: 25 }),
        ts,
        id,
        fc.option(ts, { nil: undefined }),
        (pe, qe, kind, b, a, t, u, r) => {
          const lv = (xs: Array<[bigint, bigint]>): [string, string][] => xs.map(([p, q]) => [formatDecimal(p, pe), formatDecimal(q, qe)]);
          let frame: Uint8Array;
          if (kind === 'trades') {
            frame = encodeTradesFrame({ symbol: 'BTCUSDT', eventTimeUs: t, transactTimeUs: t, priceExponent: pe, qtyExponent: qe, trades: b.map(([p, q], i) => ({ id: u - i < 0 ? i : u - i, price: formatDecimal(p, pe), qty: formatDecimal(q, qe), isBuyerMaker: i % 2 === 0 })) });
          } else if (kind === 'bba') {
            const [[bp, bq], [ap, aq]] = [b[0] ?? [1n, 2n], a[0] ?? [3n, 4n]];
            frame = encodeBestBidAskFrame({ symbol: 'BTCUSDT', eventTimeUs: t, bookUpdateId: u, priceExponent: pe, qtyExponent: qe, bidPrice: formatDecimal(bp, pe), bidQty: formatDecimal(bq, qe), askPrice: formatDecimal(ap, pe), askQty: formatDecimal(aq, qe) });
          } else if (kind === 'diff') {
            frame = encodeDepthDiffFrame({ symbol: 'ETHUSDT', eventTimeUs: t, firstBookUpdateId: u, lastBookUpdateId: u, priceExponent: pe, qtyExponent: qe, bids: lv(b), asks: lv(a) });
          } else {
            frame = encodeDepthSnapshotFrame({ symbol: 'ETHUSDT', eventTimeUs: t, bookUpdateId: u, priceExponent: pe, qtyExponent: qe, bids: lv(b), asks: lv(a) });
          }
          const strings = decodeFrame(frame, r);
          const core = decodeFrameCore(frame, r);
          expect(core.map(toMarketEvent)).toEqual(strings);
          expect(core.length).toBe(strings.length);
          for (let i = 0; i < core.length; i++) expectSameCore(core[i], toCoreEvent(strings[i]));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('rejects the same malformed frames as decodeFrame, with the same error', () => {
    const frames = [
      encodeDepthDiffFrame({ symbol: 'S', eventTimeUs: 1, firstBookUpdateId: 1, lastBookUpdateId: 2, priceExponent: -2, qtyExponent: -8, bids: [['1.5', '2']], asks: [['1.6', '3']] }),
      encodeTradesFrame({ symbol: 'S', eventTimeUs: 1, transactTimeUs: 1, priceExponent: -2, qtyExponent: -8, trades: [{ id: 7, price: '1.5', qty: '2', isBuyerMaker: true }, { id: 8, price: '1.6', qty: '3', isBuyerMaker: false }] }),
      encodeBestBidAskFrame({ symbol: 'S', eventTimeUs: 1, bookUpdateId: 3, priceExponent: -2, qtyExponent: -8, bidPrice: '1.5', bidQty: '2', askPrice: '1.6', askQty: '3' }),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (frame, cutAt, at, byte) => {
        const bad = frame.slice(0, cutAt % (frame.length + 1));
        if (bad.length > 0) bad[at % bad.length] = byte;
        let a: unknown;
        let b: unknown;
        try {
          a = decodeFrame(bad);
        } catch (err) {
          a = err;
        }
        try {
          b = decodeFrameCore(bad);
        } catch (err) {
          b = err;
        }
        if (a instanceof Error) expect(b).toEqual(a);
        else expect((b as CoreEvent[]).map(toMarketEvent)).toEqual(a);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('JSON straight into fixed point', () => {
  it('jsonPayloadToCoreEvents equals jsonPayloadToEvents through toMarketEvent', () => {
    const payloads = [
      { e: 'trade', E: 1, s: 'BTCUSDT', t: 5, p: '45230.50000000', q: '0.00100000', T: 1, m: true, M: true },
      { e: 'aggTrade', E: 2, s: 'BTCUSDT', a: 6, p: '45230.51', q: '12', T: 2, m: false, M: true },
      { u: 9, s: 'BTCUSDT', b: '45230.50000000', B: '1.00000000', a: '45230.51000000', A: '2.5' },
      { e: 'depthUpdate', E: 3, s: 'BTCUSDT', U: 10, u: 12, b: [['45230.50000000', '0.00000000'], ['45230.4', '1.25']], a: [['45230.51000000', '3.00000000']] },
      { stream: 'btcusdt@trade', data: { e: 'trade', E: 1, s: 'BTCUSDT', t: 7, p: '123456789012345678.5', q: '1', T: 1, m: true, M: true } },
    ];
    for (const p of payloads) expect(jsonPayloadToCoreEvents(p, 42).map(toMarketEvent)).toEqual(jsonPayloadToEvents(p, 42));
  });
});

describe('the core fed CoreEvents equals the core fed MarketEvents', () => {
  function project(st: SymbolState, wallMs: number): unknown {
    return { ob: st.obHash(10), tr1: st.trHash(1), tr5: st.trHash(5), feat: st.featHash(wallMs).hash, levels: st.bookLevels(), last: st.lastTradePrice, status: st.status };
  }

  it('property: same outcomes and the same ob/tr/feat hashes, event by event (strings, converted, SBE-decoded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), (seed, padded) => {
        const m = generateMarket(seed, { events: 300, padded, truth: false });
        const a = new SymbolState(m.symbol);
        const b = new SymbolState(m.symbol);
        const c = new SymbolState(m.symbol);
        for (const st of [a, b, c]) st.loadSnapshot(m.snapshot, m.events[0]?.event_ts);
        for (const ev of m.events) {
          const out = a.apply(ev);
          expect(b.applyCore(toCoreEvent(ev))).toEqual(out);
          const fromWire = decodeFrameCore(encodeEventFrame(ev));
          expect(fromWire.length).toBe(1);
          expect(c.applyCore(fromWire[0])).toEqual(out);
        }
        const wall = a.now / 1000 + 3;
        expect(project(b, wall)).toEqual(project(a, wall));
        expect(project(c, wall)).toEqual(project(a, wall));
      }),
      { numRuns: 25 },
    );
  });

  it('malformed values get the same outcome either way', () => {
    const base = { symbol: 'S', event_ts: 10, source: 'json' as const };
    const cases: MarketEvent[] = [
      { ...base, type: 'trade', trade_id: 1, sequence_id: 1, price: '0', quantity: '1', is_buyer_maker: false },
      { ...base, type: 'trade', trade_id: 2, sequence_id: 2, price: '-1', quantity: '1', is_buyer_maker: false },
      { ...base, type: 'trade', trade_id: 3, sequence_id: 3, price: '1', quantity: '-1', is_buyer_maker: false },
      { ...base, type: 'depth', first_update_id: 11, final_update_id: 11, bids: [['0', '1']], asks: [] },
      { ...base, type: 'depthSnapshot', source: 'rest', last_update_id: 50, bids: [['0', '1']], asks: [] },
    ];
    for (const ev of cases) {
      const a = new SymbolState('S');
      const b = new SymbolState('S');
      for (const st of [a, b]) {
        st.loadSnapshot({ lastUpdateId: 10, bids: [['4', '1']], asks: [['6', '1']] }, 1);
      }
      const out = a.apply(ev);
      expect(out).toMatchObject({ kind: 'skipped', reason: 'invalid' });
      expect(b.applyCore(toCoreEvent(ev)).kind).toBe(out.kind);
      expect(project(b, 1)).toEqual(project(a, 1));
    }
    const st = new SymbolState('S');
    st.loadSnapshot({ lastUpdateId: 10, bids: [['4', '1']], asks: [['6', '1']] }, 1);
    const negative = toCoreEvent({ ...base, type: 'depth', first_update_id: 11, final_update_id: 11, bids: [], asks: [['5', '1']] });
    if (negative.type !== 'depth') throw new Error('depth expected');
    (negative.levels as Float64Array)[1] = -1;
    expect(st.applyCore(negative)).toMatchObject({ kind: 'skipped', reason: 'invalid' });
    expect(st.bookLevels()).toEqual({ bids: [['4', '1']], asks: [['6', '1']] });
  });
});
