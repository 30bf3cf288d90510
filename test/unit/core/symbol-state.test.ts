import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SymbolState } from '../../../src/core/symbol-state.js';
import { MarketState } from '../../../src/core/market-state.js';
import { buildStagingState } from '../../../src/core/staging.js';
import { FEATURE_NAMES } from '../../../src/core/features.js';
import type { MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { addDecimals, compareDecimals } from '../../../src/core/decimal.js';
import { generateMarket, type SyntheticMarket } from './market-gen.js';
import { close, RefBook, refWindow } from './reference.js';

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

function fed(m: SyntheticMarket, events: readonly MarketEvent[] = m.events): SymbolState {
  const st = new SymbolState(m.symbol);
  st.loadSnapshot(m.snapshot, events[0].event_ts - 1);
  for (const ev of events) st.apply(ev);
  return st;
}

/**
 * FEATURES.md written out directly over the whole event list, for a stream whose book stays live
 * (every diff delivered): mid history = (now, mid) after every book event, as-of lookups by scan.
 */
function refFeatures(m: SyntheticMarket, wallMs: number): Record<string, number> {
  const book = RefBook.from(m.snapshot);
  let now = m.events[0].event_ts - 1;
  const mids: Array<[number, number]> = [];
  const midOf = () => {
    if (book.bids.size === 0 || book.asks.size === 0) return undefined;
    const bestBid = Math.max(...[...book.bids.keys()].map(Number));
    const bestAsk = Math.min(...[...book.asks.keys()].map(Number));
    return (bestBid + bestAsk) / 2;
  };
  const push = () => {
    const mid = midOf();
    if (mid !== undefined) mids.push([now, mid]);
  };
  push();
  let lastTrade: TradeEvent | undefined;
  for (const ev of m.events) {
    now = Math.max(now, ev.event_ts);
    if (ev.type === 'depth') {
      book.applyDiff(ev);
      push();
    } else if (ev.type === 'trade' && (!lastTrade || ev.trade_id > lastTrade.trade_id)) lastTrade = ev;
  }
  const midAt = (t: number) => {
    let v: number | undefined;
    for (const [ts, mid] of mids) if (ts <= t) v = mid;
    return v;
  };
  const { bids, asks } = book.levels();
  const bq = bids.slice(0, 10).map((l) => Number(l[1]));
  const aq = asks.slice(0, 10).map((l) => Number(l[1]));
  const bestBid = Number(bids[0][0]);
  const bestAsk = Number(asks[0][0]);
  const mid = (bestBid + bestAsk) / 2;
  const w1 = refWindow(m.trades, now, 1);
  const w5 = refWindow(m.trades, now, 5);
  let present = 0;
  const f = (ok: boolean, v: () => number) => (ok ? (present++, v()) : 0);
  const ret = (W: number) => {
    const past = midAt(now - W * 1e6);
    return f(past !== undefined, () => Math.log(mid / (past as number)));
  };
  const sb = bq.reduce((a, b) => a + b, 0);
  const sa = aq.reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {
    price: f(lastTrade !== undefined, () => Number(lastTrade?.price)),
    mid_price: f(true, () => mid),
    ret_1s: ret(1),
    ret_5s: ret(5),
    ret_10s: ret(10),
    volume_1s: f(w1.count > 0, () => w1.volume),
    volume_5s: f(w5.count > 0, () => w5.volume),
    vol_imbalance_1s: f(w1.count > 0, () => (w1.volume > 0 ? w1.signedVolume / w1.volume : 0)),
    vol_imbalance_5s: f(w5.count > 0, () => (w5.volume > 0 ? w5.signedVolume / w5.volume : 0)),
    spread_bp: f(true, () => ((bestAsk - bestBid) / bestBid) * 10_000),
    ob_imbalance: f(true, () => (sb - sa) / (sb + sa)),
    bid_strength: f(true, () => bq.reduce((a, q, i) => a + q / (i + 1), 0)),
    ask_strength: f(true, () => aq.reduce((a, q, i) => a + q / (i + 1), 0)),
    trade_intensity_1s: f(w1.count > 0, () => w1.count / 1),
    avg_trade_size_1s: f(w1.count > 0, () => w1.volume / w1.count),
    dollar_volume_1s: f(w1.count > 0, () => w1.notional),
    vwap_dev_1s: f(w1.count > 0, () => (w1.volume > 0 ? w1.vwap - mid : 0)),
    vwap_dev_5s: f(w5.count > 0, () => (w5.volume > 0 ? w5.vwap - mid : 0)),
    price_volatility: f(w1.count > 0, () => w1.priceStd),
    momentum: f(w5.count > 0, () => w5.priceMomentum),
  };
  out.feature_ts = Math.floor(wallMs / 1000);
  out.event_ts_us = now;
  out.data_age_ms = wallMs - now / 1000;
  out.completeness = present / 20;
  return out;
}

describe('SymbolState', () => {
  it('features equal a straightforward reference implementation of FEATURES.md', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 20, max: 400 }), fc.integer({ min: 0, max: 5_000 }), (seed, n, lagMs) => {
        const m = generateMarket(seed, { events: n, maxStepUs: 400_000 });
        const st = fed(m);
        const wallMs = Math.floor(st.now / 1000) + lagMs;
        const got = st.features(wallMs);
        const want = refFeatures(m, wallMs);
        expect(Object.keys(got).sort()).toEqual([...Object.keys(want)].sort());
        for (const k of Object.keys(want)) {
          if (!close(got[k as keyof typeof got], want[k])) throw new Error(`${k}: got ${got[k as keyof typeof got]}, want ${want[k]}`);
        }
        for (const v of Object.values(got)) expect(Number.isFinite(v)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('duplicates (at-least-once redelivery of any event) never change state', () => {
    fc.assert(
      fc.property(seedArb, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 80 }), (seed, dups) => {
        const m = generateMarket(seed, { events: 200 });
        const once = fed(m);
        // Re-deliver earlier events after later ones (Kinesis retries re-send whole batches).
        const events: MarketEvent[] = [...m.events];
        for (const [a, b] of dups) {
          const at = 1 + (a % events.length);
          const src = b % at;
          events.splice(at, 0, events[src]);
        }
        const twice = new SymbolState(m.symbol);
        twice.loadSnapshot(m.snapshot, m.events[0].event_ts - 1);
        for (const ev of events) twice.apply(ev);
        const wall = Math.floor(once.now / 1000) + 100;
        expect(twice.obHash()).toEqual(once.obHash());
        expect(twice.trHash(1)).toEqual(once.trHash(1));
        expect(twice.trHash(5)).toEqual(once.trHash(5));
        expect(twice.features(wall)).toEqual(once.features(wall));
      }),
      { numRuns: 40 },
    );
  });

  it('projects ob:{SYM} with exact strings and deletes levels beyond the current depth', () => {
    const m = generateMarket(42, { events: 300, padded: true });
    const st = fed(m);
    const truth = m.truth[m.truth.length - 1].levels();
    const { set, del } = st.obHash(10);
    expect(set.best_bid).toBe(truth.bids[0][0]);
    expect(set.best_ask).toBe(truth.asks[0][0]);
    expect(compareDecimals(set.spread, '0')).toBe(1);
    expect(compareDecimals(addDecimals([set.best_bid, set.spread]), set.best_ask)).toBe(0);
    expect(compareDecimals(addDecimals([set.mid_price, set.mid_price]), addDecimals([set.best_bid, set.best_ask]))).toBe(0);
    expect(set.last_update_id).toBe(String(m.diffs[m.diffs.length - 1].final_update_id));
    expect(set.status).toBe('live');
    expect(set.ts_us).toBe(String(m.events[m.events.length - 1].event_ts));
    expect(set.last_trade_price).toBe(addDecimals([m.trades[m.trades.length - 1].price]));
    for (let i = 0; i < 10; i++) {
      expect([set[`bid${i + 1}_p`], set[`bid${i + 1}_q`]]).toEqual(truth.bids[i]);
      expect([set[`ask${i + 1}_p`], set[`ask${i + 1}_q`]]).toEqual(truth.asks[i]);
    }
    expect(del).toEqual([]);

    const thin = new SymbolState('T');
    thin.loadSnapshot({ lastUpdateId: 5, bids: [['10.00', '1.00']], asks: [] });
    const h = thin.obHash(3);
    expect(h.set).toMatchObject({ bid1_p: '10', bid1_q: '1', status: 'live', last_update_id: '5' });
    expect(h.del).toEqual(['best_bid', 'best_ask', 'spread', 'mid_price', 'last_trade_price', 'bid2_p', 'bid2_q', 'bid3_p', 'bid3_q', 'ask1_p', 'ask1_q', 'ask2_p', 'ask2_q', 'ask3_p', 'ask3_q']);
  });

  it('mid of two decimals is exact (one more digit)', () => {
    const st = new SymbolState('T');
    st.loadSnapshot({ lastUpdateId: 1, bids: [['45230.01000000', '1']], asks: [['45230.02000000', '1']] });
    expect(st.obHash(1).set).toMatchObject({ best_bid: '45230.01', best_ask: '45230.02', spread: '0.01', mid_price: '45230.015' });
  });

  it('while resyncing: freezes the book (ob from it alone), uses a newer bestBidAsk for the feature quote, marks book features incomplete', () => {
    const m = generateMarket(77, { events: 200 });
    const st = new SymbolState(m.symbol);
    expect(st.status).toBe('resyncing');
    expect(st.drainReanchorRequests()).toEqual([{ symbol: m.symbol, reason: 'no-book' }]);
    st.loadSnapshot(m.snapshot, m.events[0].event_ts - 1);
    const d = m.diffs;
    st.apply(d[0]);
    const gap = st.apply(d[2]);
    expect(gap).toMatchObject({ kind: 'gap', gap: { symbol: m.symbol, eventTs: d[2].event_ts, lastUpdateId: d[0].final_update_id } });
    expect(st.status).toBe('resyncing');
    expect(st.drainReanchorRequests()).toEqual([{ symbol: m.symbol, reason: 'gap' }]);
    expect(st.apply(d[3]).kind).toBe('buffered');
    const bba: MarketEvent = {
      type: 'bestBidAsk', symbol: m.symbol, event_ts: d[3].event_ts, source: 'sbe', sequence_id: d[3].final_update_id + 1,
      bid_price: '1.10', bid_quantity: '1', ask_price: '1.30', ask_quantity: '2',
    };
    expect(st.apply(bba).kind).toBe('applied');
    expect(st.apply(bba)).toEqual({ kind: 'skipped', reason: 'duplicate' });
    // ob stays one picture of the frozen book; the features take the newer bestBidAsk.
    const frozen = st.obHash().set;
    expect(frozen).toMatchObject({ status: 'resyncing', best_bid: frozen.bid1_p, best_ask: frozen.ask1_p, last_update_id: String(d[0].final_update_id) });
    expect(st.featHash(Math.floor(st.now / 1000)).hash.mid_price).toBe('1.2');
    const f = st.features(Math.floor(st.now / 1000));
    expect(f.ob_imbalance).toBe(0);
    expect(f.bid_strength).toBe(0);
    expect(f.mid_price).toBeCloseTo(1.2, 12);
    // Re-anchor from the truth after diff 2: diff 3 is replayed from the buffer.
    const t = m.truth[2];
    const out = st.loadSnapshot({ lastUpdateId: t.lastUpdateId, ...t.levels() });
    expect(out).toMatchObject({ status: 'live', replayed: 1 });
    expect(st.bookLevels()).toEqual(m.truth[3].levels());
    expect(st.obHash().set.best_bid).toBe(m.truth[3].levels().bids[0][0]);
  });

  it('skips trades by id (duplicate, or older than the dedup window) and bestBidAsk by sequence', () => {
    const st = new SymbolState('T', { tradeDedupWindow: 5 });
    const t = (id: number): TradeEvent => ({
      type: 'trade', symbol: 'T', event_ts: 1_000_000 + id, source: 'sbe', trade_id: id, sequence_id: id, price: '10', quantity: '1', is_buyer_maker: false,
    });
    expect(st.apply(t(10)).kind).toBe('applied');
    expect(st.apply(t(10))).toEqual({ kind: 'skipped', reason: 'duplicate' });
    expect(st.apply(t(20)).kind).toBe('applied');
    expect(st.apply(t(14))).toEqual({ kind: 'skipped', reason: 'stale' });
    expect(st.apply(t(16)).kind).toBe('applied');
    expect(st.tradeStats(1).count).toBe(3);
    expect(st.apply({ ...t(30), symbol: 'U' })).toMatchObject({ kind: 'skipped', reason: 'wrong-symbol' });
    expect(st.apply({ ...t(31), price: 'NaN' })).toMatchObject({ kind: 'skipped', reason: 'invalid' });
    expect(st.apply(t(31)).kind).toBe('applied'); // the invalid copy did not burn the id
    expect(st.lastTradePrice).toBe('10');
  });

  it('buildStagingState gives the same hashes as a SymbolState fed the same snapshot and trades', () => {
    const m = generateMarket(5, { events: 300 });
    const wallMs = Math.floor(m.events[m.events.length - 1].event_ts / 1000) + 50;
    const recent = m.trades.slice(-30).reverse();
    const staged = buildStagingState(m.symbol, m.snapshot, recent, wallMs);
    const st = new SymbolState(m.symbol);
    st.loadSnapshot(m.snapshot, wallMs * 1000);
    for (const tr of m.trades.slice(-30)) st.apply(tr);
    expect(staged.ob).toEqual(st.obHash().set);
    expect(staged.tr1s).toEqual(st.trHash(1));
    expect(staged.tr5s).toEqual(st.trHash(5));
    expect(Object.keys(staged.feat).sort()).toEqual([...FEATURE_NAMES, 'feature_ts', 'event_ts_us', 'data_age_ms', 'completeness'].sort());
    expect(staged.feat.data_age_ms).toBe('0');
    expect(staged.feat.mid_price).toBe(staged.ob.mid_price);
    for (const v of Object.values(staged.feat)) expect(v).not.toMatch(/NaN|Infinity/);
    expect(staged.ob.status).toBe('live');
  });
});

describe('MarketState', () => {
  it('routes events per symbol and drains re-anchor requests of all symbols', () => {
    const a = generateMarket(1, { events: 50, symbol: 'AAA' });
    const b = generateMarket(2, { events: 50, symbol: 'BBB' });
    const ms = new MarketState();
    for (const ev of [...a.events, ...b.events]) ms.apply(ev);
    expect(ms.symbols().sort()).toEqual(['AAA', 'BBB']);
    expect(ms.drainReanchorRequests()).toEqual([
      { symbol: 'AAA', reason: 'no-book' },
      { symbol: 'BBB', reason: 'no-book' },
    ]);
    expect(ms.get('AAA')?.bufferedDiffs).toBe(a.diffs.length);
    ms.loadSnapshot('AAA', a.snapshot);
    expect(ms.get('AAA')?.status).toBe('live');
    expect(ms.get('AAA')?.bookLevels()).toEqual(a.truth[a.truth.length - 1].levels());
    expect(ms.get('BBB')?.status).toBe('resyncing');
    expect(ms.drainReanchorRequests()).toEqual([]);
  });
});
