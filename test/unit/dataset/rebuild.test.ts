import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { MarketEvent } from '../../../src/core/events.js';
import { SymbolState } from '../../../src/core/symbol-state.js';
import { FEATURE_NAMES } from '../../../src/core/features.js';
import type { ServedEntry } from '../../../src/dataset/served-log.js';
import { market, serve, SNAP, SYM, T0 } from './fixtures.js';
import type { SnapshotInput } from '../../../src/core/book-sync.js';
import { rebuildServedFeatures, RebuildError } from '../../../src/dataset/rebuild.js';

function rebuild(events: readonly MarketEvent[], entries: readonly ServedEntry[], horizonSeconds = 10, snaps: readonly SnapshotInput[] = [SNAP]) {
  return rebuildServedFeatures({
    symbol: SYM,
    events,
    entries,
    snapshot: (id) => snaps.find((s) => s.lastUpdateId === id),
    fromMs: 0,
    toMs: Number.MAX_SAFE_INTEGER,
    horizonSeconds,
  });
}

describe('rebuildServedFeatures', () => {
  it('rebuilds every served vector exactly, at its cut', () => {
    const events = market(40);
    const entries = serve(events, 1, [3, 10, 20, 33, 50, 70, 90]);
    const out = rebuild(events, entries);
    const feats = entries.filter((e) => e.kind === 'feat');
    expect(out.rows).toHaveLength(feats.length);
    expect(out.parity).toMatchObject({ compared: feats.length, mismatched: 0, maxRelErr: 0 });
    for (const [i, row] of out.rows.entries()) {
      for (const name of FEATURE_NAMES) expect(row.features[name]).toBe(Number(feats[i].feat[name]));
      expect(row.feature_ts).toBe(Number(feats[i].feat.feature_ts));
      expect(row.feature_wall_ms).toBe(feats[i].wall_ms);
    }
  });

  it('point in time: no row changes when anything after its cut changes (property)', () => {
    const base = market(40);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 2, max: base.length }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 9 })), { maxLength: 20 }),
        (ticks, junk) => {
          const sorted = [...ticks].sort((a, b) => a - b);
          const lastCut = sorted[sorted.length - 1];
          const entries = serve(base, 1, sorted);
          // The same cuts with everything after the last one replaced by wild future events.
          const future: MarketEvent[] = junk.map(([p, q], j) => ({
            type: 'trade', symbol: SYM, source: 'sbe', event_ts: base[lastCut - 1].event_ts + (j + 1) * 1000, trade_id: 1000 + j, sequence_id: 1000 + j,
            price: `${p}`, quantity: `${q}`, is_buyer_maker: j % 2 === 0,
          }));
          const a = rebuild(base, entries).rows;
          const b = rebuild([...base.slice(0, lastCut), ...future], entries).rows;
          expect(b.map((r) => r.features)).toEqual(a.map((r) => r.features));
          // And each row is what a fresh state fed exactly the events up to its cut computes.
          for (const [i, row] of a.entries()) {
            const st = new SymbolState(SYM);
            for (let k = 0; k < sorted[i]; k++) {
              st.apply(base[k]);
              if (k === 0) st.apply({ type: 'depthSnapshot', symbol: SYM, source: 'rest', event_ts: st.now, last_update_id: 1, bids: [...SNAP.bids], asks: [...SNAP.asks] });
            }
            const ref = st.featHash(row.feature_wall_ms).hash;
            for (const name of FEATURE_NAMES) expect(row.features[name]).toBe(Number(ref[name]));
            expect(row.event_ts_us).toBeLessThanOrEqual(base[sorted[i] - 1].event_ts);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('labels: the mid at event time + horizon (as-of), its log return, null where the data ends', () => {
    const events = market(40);
    // The cut after the k-th diff's trade: index 2k (+ bba entries every third k).
    const idxAfterTrade = (k: number): number => events.findIndex((e) => e.type === 'trade' && e.trade_id === k) + 1;
    const entries = serve(events, 1, [idxAfterTrade(5), idxAfterTrade(12), idxAfterTrade(29), idxAfterTrade(31), idxAfterTrade(38)]);
    const rows = rebuild(events, entries).rows;
    // Row at now = T0 + k s + 0.5 s: the quote then has mid 101+k; at +10 s the last diff is k+10's (mid 111+k).
    for (const [j, k] of [5, 12, 29].entries()) {
      const r = rows[j];
      expect(r.event_ts_us).toBe(T0 + k * 1e6 + 500_000);
      expect(r.features.mid_price).toBe(101 + k);
      expect(r.label_mid).toBe(111 + k);
      expect(r.label_ts_us).toBe(T0 + (k + 10) * 1e6);
      expect(r.label_ret).toBeCloseTo(Math.log((111 + k) / (101 + k)), 15);
    }
    // Events end at T0 + 40.6 s: k=31 → target 41.5 s and k=38 → 48.5 s are beyond the data.
    expect(rows[3].label_mid).toBeNull();
    expect(rows[4].label_ret).toBeNull();
    // A 5 s horizon: k=31 → 36.5 s is covered now.
    const r5 = rebuild(events, entries, 5).rows;
    expect(r5[3].label_mid).toBe(101 + 36);
  });

  it('warm start: a run whose first snapshot is missing from the lake is replayed from a later re-anchor; rows from 10 s after it are exact', () => {
    const all = market(40);
    // The venue's diff u=20 never reached Kinesis: the aggregator's book gaps, resyncs and is re-anchored at u=22.
    const truth = new SymbolState(SYM);
    let snap2: SnapshotInput | undefined;
    for (const [i, ev] of all.entries()) {
      truth.apply(ev);
      if (i === 0) truth.apply({ type: 'depthSnapshot', symbol: SYM, source: 'rest', event_ts: truth.now, last_update_id: 1, bids: [...SNAP.bids], asks: [...SNAP.asks] });
      if (ev.type === 'depth' && ev.final_update_id === 22) snap2 = { lastUpdateId: 22, ...truth.bookLevels() };
    }
    const stream = all.filter((e) => !(e.type === 'depth' && e.final_update_id === 20));
    const after23 = stream.findIndex((e) => e.type === 'depth' && e.final_update_id === 23) + 1;
    const ticks = Array.from({ length: stream.length }, (_, i) => i + 1).filter((i) => i % 4 === 0);
    const entries = serve(stream, [[1, SNAP], [after23, snap2 as SnapshotInput]], ticks);
    expect(entries.filter((e) => e.kind === 'anchor')).toHaveLength(2);
    // Everything in the lake but the first snapshot.
    const out = rebuild(stream, entries, 10, [snap2 as SnapshotInput]);
    expect(out.warmStarts).toBe(1);
    expect(out.warmupSkipped).toBeGreaterThan(0);
    expect(out.rows.length).toBeGreaterThan(0);
    expect(out.parity).toMatchObject({ compared: out.rows.length, mismatched: 0 });
    const anchor2 = entries.filter((e) => e.kind === 'anchor')[1];
    for (const r of out.rows) expect(r.event_ts_us).toBeGreaterThanOrEqual(anchor2.event_ts_us + 10e6);
    // With every snapshot there, the run is replayed whole and every tick is a row.
    const whole = rebuild(stream, entries, 10, [SNAP, snap2 as SnapshotInput]);
    expect(whole).toMatchObject({ warmStarts: 0, warmupSkipped: 0, parity: { mismatched: 0 } });
    expect(whole.rows).toHaveLength(entries.filter((e) => e.kind === 'feat').length);
  });

  it('a hole in the lake is an error, not a silently different row', () => {
    const events = market(20);
    const entries = serve(events, 1, [10, 30]);
    const holed = events.filter((e) => !(e.type === 'depth' && e.final_update_id === 8));
    expect(() => rebuild(holed, entries)).toThrow(RebuildError);
    expect(() => rebuild(holed, entries)).toThrow(/passed its cut|ends before|lake misses events/);
    expect(() => rebuild(events.slice(0, 20), entries)).toThrow(/ends before the cut/);
  });
});
