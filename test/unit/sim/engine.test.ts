import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MarketEngine, type EngineEvent } from '../../../src/sim/engine.js';
import { symbolSpec } from '../../../src/sim/symbols.js';

const START = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs

function engine(seed: number, rate = 2000, extra: Partial<ConstructorParameters<typeof MarketEngine>[0]> = {}) {
  return new MarketEngine({ spec: symbolSpec('BTCUSDT'), seed, startTimeUs: START, ratePerSec: rate, ...extra });
}

/** Advance in the given step sizes (µs) and collect every event. */
function run(e: MarketEngine, steps: number[]): EngineEvent[] {
  const out: EngineEvent[] = [];
  let t = START;
  for (const s of steps) {
    t += s;
    out.push(...e.advance(t));
  }
  return out;
}

describe('MarketEngine (pure, virtual clock)', () => {
  it('never leaves a crossed book or a non-positive level, and stays bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 200, max: 5_000 }), (seed, rate) => {
        const e = engine(seed, rate, { maxLevelsPerSide: 300 });
        for (let i = 1; i <= 20; i++) {
          e.advance(START + i * 50_000);
          const b = e.currentBook();
          expect(b.bids.length).toBeGreaterThan(0);
          expect(b.asks.length).toBeGreaterThan(0);
          expect(b.bids[0][0]).toBeLessThan(b.asks[0][0]);
          // Plain checks in the loops (expect() per level is slow), one assertion per book.
          const levels = [...b.bids, ...b.asks];
          const badLevel = levels.find(([p, q]) => !(Number.isInteger(p) && p > 0 && Number.isInteger(q) && q > 0));
          expect(badLevel).toBeUndefined();
          const unsorted =
            b.bids.some((l, j) => j > 0 && l[0] >= b.bids[j - 1][0]) ||
            b.asks.some((l, j) => j > 0 && l[0] <= b.asks[j - 1][0]);
          expect(unsorted).toBe(false);
          expect(b.bids.length).toBeLessThanOrEqual(300);
          expect(b.asks.length).toBeLessThanOrEqual(300);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('keeps trade ids, agg ids and depth update ids contiguous', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const e = engine(seed, 5000);
        const events = run(e, Array(10).fill(100_000));
        let nextTrade = 4_000_000_000;
        let lastAgg = 3_000_000_000 - 1;
        let nextU = 10_000_000_001;
        let trades = 0;
        let lastTime = 0;
        const problems: string[] = [];
        for (const ev of events) {
          if (ev.timeUs < lastTime) problems.push(`time went back at ${ev.timeUs}`);
          lastTime = ev.timeUs;
          if (ev.kind === 'trade') {
            if (ev.trades[0].aggId !== lastAgg + 1) problems.push(`agg id ${ev.trades[0].aggId} after ${lastAgg}`);
            for (const t of ev.trades) {
              if (t.id !== nextTrade) problems.push(`trade id ${t.id}, expected ${nextTrade}`);
              nextTrade = t.id + 1;
              if (t.aggId !== lastAgg && t.aggId !== lastAgg + 1) problems.push(`agg id jump ${lastAgg} → ${t.aggId}`);
              lastAgg = t.aggId;
              if (!(t.qty > 0)) problems.push(`trade ${t.id} qty ${t.qty}`);
              trades++;
            }
          } else if (ev.kind === 'depth') {
            if (ev.firstUpdateId !== nextU) problems.push(`U ${ev.firstUpdateId}, expected ${nextU}`);
            if (ev.lastUpdateId < ev.firstUpdateId) problems.push(`u < U at ${ev.firstUpdateId}`);
            nextU = ev.lastUpdateId + 1;
          }
        }
        expect(problems).toEqual([]);
        expect(trades).toBeGreaterThan(0);
        expect(e.trades.newestId).toBe(nextTrade - 1);
      }),
      { numRuns: 20 },
    );
  });

  it('gives the same seed the same market event for event, however time is sliced', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 30 }),
        (seed, slices) => {
          const total = slices.reduce((a, b) => a + b, 0);
          const a = run(engine(seed), slices);
          const b = run(engine(seed), [total]);
          expect(a).toEqual(b);
        },
      ),
      { numRuns: 20 },
    );
    const x = run(engine(1), [1_000_000]);
    const y = run(engine(2), [1_000_000]);
    expect(x).not.toEqual(y);
  });

  it('diffs applied to the book at U-1 give the truth book at every u', () => {
    const e = engine(42, 20_000);
    let book = e.currentBook();
    const bids = new Map(book.bids);
    const asks = new Map(book.asks);
    let checked = 0;
    for (let i = 1; i <= 30; i++) {
      for (const ev of e.advance(START + i * 20_000)) {
        if (ev.kind !== 'depth') continue;
        for (const [p, q] of ev.bids) {
          if (q === 0) bids.delete(p);
          else bids.set(p, q);
        }
        for (const [p, q] of ev.asks) {
          if (q === 0) asks.delete(p);
          else asks.set(p, q);
        }
        book = e.bookAt(ev.lastUpdateId) as typeof book;
        expect([...bids.entries()].sort((a, b) => b[0] - a[0])).toEqual(book.bids);
        expect([...asks.entries()].sort((a, b) => a[0] - b[0])).toEqual(book.asks);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(e.bookAt(e.lastUpdateId)).toEqual(e.currentBook());
    expect(e.bookAt(e.lastUpdateId + 1)).toBeUndefined();
  });

  it('keeps history bounded: old update ids expire, recent ones stay', () => {
    const e = engine(7, 20_000, { history: { retentionUs: 1_000_000, maxChanges: 50_000, maxTrades: 20_000 } });
    for (let i = 1; i <= 50; i++) e.advance(START + i * 100_000);
    expect(e.oldestTruthId).toBeGreaterThan(10_000_000_000);
    expect(e.bookAt(10_000_000_001)).toBeUndefined();
    expect(e.bookAt(e.oldestTruthId)).toBeDefined();
    expect(e.lastUpdateId - e.oldestTruthId).toBeLessThanOrEqual(50_000 + 8192 * 2);
    expect(e.trades.newestId - e.trades.oldestId).toBeLessThanOrEqual(20_000 + 8192 * 2);
  });

  it('builds 1-minute bars whose count and volume equal the trades of that minute', () => {
    const e = engine(9, 1000);
    e.advance(START + 150_000_000);
    const bars = e.bars.all();
    expect(bars.length).toBe(3);
    const trades = e.trades.range(e.trades.oldestId, 1_000_000);
    for (const bar of bars) {
      const inBar = trades.filter((t) => Math.floor(t.timeUs / 60_000_000) * 60_000 === bar.openTimeMs);
      expect(bar.count).toBe(inBar.length);
      expect(bar.volume).toBe(inBar.reduce((s, t) => s + t.qty, 0));
      expect(bar.open).toBe(inBar[0].price);
      expect(bar.close).toBe(inBar[inBar.length - 1].price);
    }
  });

  it('skipTo (the live server falling behind) keeps diffs contiguous and the truth intact', () => {
    const e = engine(13, 5000);
    const events = [...e.advance(START + 300_000)];
    e.skipTo(START + 2_000_000);
    events.push(...e.advance(START + 2_300_000));
    const diffs = events.filter((ev) => ev.kind === 'depth');
    expect(diffs.every((d, i) => i === 0 || d.firstUpdateId === diffs[i - 1].lastUpdateId + 1)).toBe(true);
    const times = events.map((ev) => ev.timeUs);
    expect(times.some((t) => t > START + 300_000 && t < START + 2_000_000)).toBe(false);
    expect(times.some((t) => t >= START + 2_000_000)).toBe(true);
    expect(e.bookAt(e.lastUpdateId)).toEqual(e.currentBook());
  });
});
