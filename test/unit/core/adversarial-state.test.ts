import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SymbolState } from '../../../src/core/symbol-state.js';
import type { BestBidAskEvent, DepthEvent, Level, MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { compareDecimals } from '../../../src/core/decimal.js';
import { generateMarket } from './market-gen.js';

const T0 = 1_700_000_000_000_000;

function diff(U: number, u: number, bids: Level[], asks: Level[], ts = T0 + u): DepthEvent {
  return { type: 'depth', symbol: 'S', event_ts: ts, source: 'sbe', first_update_id: U, final_update_id: u, bids, asks };
}

function trade(id: number, ts: number): TradeEvent {
  return { type: 'trade', symbol: 'S', event_ts: ts, source: 'sbe', trade_id: id, sequence_id: id, price: '100', quantity: '1', is_buyer_maker: false };
}

function bba(seq: number, ts: number, bid = '99', ask = '101'): BestBidAskEvent {
  return { type: 'bestBidAsk', symbol: 'S', event_ts: ts, source: 'sbe', sequence_id: seq, bid_price: bid, bid_quantity: '1', ask_price: ask, ask_quantity: '1' };
}

function liveState(): SymbolState {
  const st = new SymbolState('S');
  st.loadSnapshot({ lastUpdateId: 10, bids: [['100', '1'], ['99', '2']], asks: [['101', '1'], ['102', '2']] }, T0);
  st.drainReanchorRequests();
  return st;
}

describe('a crossed book is never live', () => {
  it('a diff that crosses the book freezes it and asks for a re-anchor', () => {
    const st = liveState();
    expect(st.status).toBe('live');
    st.apply(diff(11, 11, [['101.5', '3']], []));
    expect(st.status).toBe('resyncing');
    expect(st.drainReanchorRequests()).toEqual([{ symbol: 'S', reason: 'crossed' }]);
    expect(st.obHash(2).set.status).toBe('resyncing');
    // A clean snapshot afterwards is live again.
    st.loadSnapshot({ lastUpdateId: 20, bids: [['100', '1']], asks: [['101', '1']] });
    expect(st.status).toBe('live');
  });

  it('a crossed snapshot (or one whose replayed diffs cross it) is not live', () => {
    const st = new SymbolState('S');
    st.loadSnapshot({ lastUpdateId: 5, bids: [['101', '1']], asks: [['100', '1']] });
    expect(st.status).toBe('resyncing');
    const st2 = new SymbolState('S');
    st2.apply(diff(6, 6, [], [['99', '1']]));
    st2.loadSnapshot({ lastUpdateId: 5, bids: [['100', '1']], asks: [['101', '1']] });
    expect(st2.status).toBe('resyncing');
  });

  it('property: whatever diffs arrive, live implies best bid < best ask', () => {
    const lv = fc.tuple(fc.integer({ min: 95, max: 106 }), fc.integer({ min: 0, max: 3 })).map(([p, q]): Level => [String(p), String(q)]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(lv, { maxLength: 3 }), fc.array(lv, { maxLength: 3 })), { maxLength: 40 }), (diffs) => {
        const st = liveState();
        let u = 10;
        for (const [bids, asks] of diffs) {
          u++;
          st.apply(diff(u, u, bids, asks));
          if (st.status === 'live') {
            const h = st.obHash(1).set;
            if (h.best_bid !== undefined && h.best_ask !== undefined) expect(compareDecimals(h.best_bid, h.best_ask)).toBeLessThan(0);
          }
        }
      }),
    );
  });
});

describe('ob is self-consistent while resyncing', () => {
  it('best bid/ask, spread and mid come from the same frozen levels and update id as the book fields', () => {
    const st = liveState();
    st.apply(diff(13, 13, [['100', '5']], [])); // gap: frozen at id 10
    expect(st.status).toBe('resyncing');
    expect(st.apply(bba(14, T0 + 14, '99.5', '100.5')).kind).toBe('applied');
    const h = st.obHash(2).set;
    expect(h).toMatchObject({ status: 'resyncing', last_update_id: '10', bid1_p: '100', ask1_p: '101' });
    expect(h.best_bid).toBe(h.bid1_p);
    expect(h.best_ask).toBe(h.ask1_p);
    expect(h.mid_price).toBe('100.5');
    expect(h.spread).toBe('1');
    // The features still use the newer bestBidAsk for mid (documented), exactly.
    expect(st.featHash(Math.floor(T0 / 1000)).hash.mid_price).toBe('100');
  });

  it('property: every ob projection has best_bid = bid1_p and best_ask = ask1_p', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 5 }), (seed, dropEvery) => {
        const m = generateMarket(seed, { events: 150, truth: false });
        const st = new SymbolState(m.symbol);
        st.loadSnapshot(m.snapshot, m.events[0].event_ts - 1);
        let i = 0;
        for (const ev of m.events) {
          i++;
          if (dropEvery > 0 && ev.type === 'depth' && i % (7 + dropEvery) === 0) continue;
          st.apply(ev);
          const h = st.obHash(5).set;
          expect(h.best_bid).toBe(h.bid1_p);
          expect(h.best_ask).toBe(h.ask1_p);
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe('event times beyond the wall-clock bound', () => {
  it('a bestBidAsk dated 2100 never moves now; later trades keep counting', () => {
    const st = liveState();
    const wallBound = T0 + 5_000_000;
    const far = bba(11, Date.UTC(2100, 0, 1) * 1000);
    expect(st.apply(far, wallBound)).toMatchObject({ kind: 'skipped', reason: 'future' });
    expect(st.now).toBe(T0);
    for (let i = 1; i <= 4; i++) st.apply(trade(i, T0 + i * 1000), wallBound);
    expect(st.tradeStats(1).count).toBe(4);
    expect(st.now).toBe(T0 + 4000);
  });

  it('property: events past the bound change nothing; the rest apply as if they were absent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(fc.integer({ min: 0, max: 149 }), { maxLength: 10 }), (seed, poisonAt) => {
        const m = generateMarket(seed, { events: 150, truth: false });
        const last = m.events[m.events.length - 1].event_ts;
        const bound = last + 1_000_000;
        const poisoned: MarketEvent[] = m.events.map((ev, i) => (poisonAt.includes(i) ? { ...ev, event_ts: bound + 1 + i } : ev));
        const a = new SymbolState(m.symbol);
        const b = new SymbolState(m.symbol);
        a.loadSnapshot(m.snapshot, m.events[0].event_ts - 1);
        b.loadSnapshot(m.snapshot, m.events[0].event_ts - 1);
        for (let i = 0; i < poisoned.length; i++) {
          a.apply(poisoned[i], bound);
          if (!poisonAt.includes(i)) b.apply(poisoned[i], bound);
        }
        expect(a.now).toBe(b.now);
        expect(a.now).toBeLessThanOrEqual(bound);
        expect(a.trHash(1)).toEqual(b.trHash(1));
        expect(a.trHash(5)).toEqual(b.trHash(5));
        expect(a.obHash(10)).toEqual(b.obHash(10));
      }),
      { numRuns: 40 },
    );
  });

  it('without a bound (replay of recorded data) old and new event times apply as before', () => {
    const st = liveState();
    expect(st.apply(trade(1, Date.UTC(2100, 0, 1) * 1000)).kind).toBe('applied');
  });
});
