import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MarketEngine, type EngineEvent } from '../../../src/sim/engine.js';
import { FaultInjector, parseFaultSpec } from '../../../src/sim/faults.js';
import { HoldQueue } from '../../../src/sim/hold.js';
import { SimMarket, type MarketFrame } from '../../../src/sim/market.js';
import { ROUGH_SYMBOLS, symbolSpec } from '../../../src/sim/symbols.js';

const START = 1_767_225_600_000_000;

describe('HoldQueue (a lagging connection)', () => {
  it('releases in queue order, never before a frame is due, and everything eventually', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }), gap: fc.integer({ min: 0, max: 50 }) }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 50 }),
        (frames, polls) => {
          const q = new HoldQueue<{ seq: number; due: number }>();
          const out: Array<{ seq: number; due: number; at: number }> = [];
          let now = 0;
          let p = 0;
          frames.forEach((f, seq) => {
            now += f.gap;
            const due = now + (f.delay ?? 0);
            q.push({ seq, due }, 10, due);
            // Poll at arbitrary moments in between, as the timer would.
            for (const x of q.takeDue(now - (polls[p++ % polls.length] % 2))) out.push({ ...x, at: now });
          });
          for (const x of q.takeDue(Number.MAX_SAFE_INTEGER)) out.push({ ...x, at: Infinity });
          expect(out.map((x) => x.seq)).toEqual(frames.map((_, i) => i));
          for (const x of out) expect(x.at).toBeGreaterThanOrEqual(x.due);
          expect(q.length).toBe(0);
          expect(q.bytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a delayed head holds back frames that are due already', () => {
    const q = new HoldQueue<string>();
    q.push('slow', 1, 100);
    q.push('fast', 1, 0);
    expect(q.takeDue(50)).toEqual([]);
    expect(q.nextReleaseMs()).toBe(100);
    expect(q.takeDue(100)).toEqual(['slow', 'fast']);
  });
});

describe('fault spec: delay selector, rotate, 5xx bodies, snapshotBehind', () => {
  it('parses the new shapes with their defaults and rejects bad ones', () => {
    expect(parseFaultSpec({ delayMs: { ms: 5 } }).delayMs).toEqual({ ms: 5, probability: 1, connection: 'all' });
    expect(parseFaultSpec({ rotate: {} }).rotate).toEqual({ connection: 'oldest', closeAfterMs: 1000 });
    expect(parseFaultSpec({ rest: { status: 503, forSeconds: 1 } }).rest).toEqual({ status: 503, forSeconds: 1, body: 'json' });
    expect(parseFaultSpec({ snapshotBehind: { updates: 10 } }).snapshotBehind).toEqual({ updates: 10 });
    expect(() => parseFaultSpec({ delayMs: { ms: 5, connection: 'middle' } })).toThrow(/delayMs\.connection: connection must be one of oldest, newest, all/);
    expect(() => parseFaultSpec({ rotate: { form: 'wrapped' } })).toThrow(/rotate\.form/);
    expect(() => parseFaultSpec({ rest: { status: 500, forSeconds: 1, body: 'xml' } })).toThrow(/rest\.body/);
    expect(() => parseFaultSpec({ snapshotBehind: { updates: 0 } })).toThrow(/snapshotBehind\.updates/);
  });

  it('rotate is one-shot; snapshotBehind lasts its time; a connection the selector skips is never delayed', () => {
    const f = new FaultInjector(1);
    f.set(parseFaultSpec({ rotate: { connection: 'all' }, snapshotBehind: { updates: 7, forSeconds: 2 } }), 1000);
    expect(f.active(1000)).not.toHaveProperty('rotate');
    expect(f.takeRotate()).toMatchObject({ connection: 'all' });
    expect(f.takeRotate()).toBeUndefined();
    expect(f.snapshotBehind(2999)).toBe(7);
    expect(f.snapshotBehind(3000)).toBe(0);
    f.set(parseFaultSpec({ delayMs: { ms: 10, connection: 'newest' } }), 0);
    expect(f.delaySelector).toBe('newest');
    expect(Array.from({ length: 50 }, () => f.fate('depth', false).kind)).toEqual(Array(50).fill('send'));
    expect(f.fate('depth', true)).toEqual({ kind: 'delay', ms: 10 });
  });
});

describe('instruments', () => {
  it('have different tick sizes and wire exponents that can carry every tick and lot exactly', () => {
    const specs = ['BTCUSDT', 'ETHUSDT', 'DOGEUSDT', 'ETHBTC', 'SOLUSDT'].map(symbolSpec);
    for (const s of specs) {
      expect(-s.priceExponent).toBeGreaterThanOrEqual(s.tickDecimals);
      expect(-s.qtyExponent).toBeGreaterThanOrEqual(s.lotDecimals);
    }
    expect(symbolSpec('BTCUSDT')).toMatchObject({ tickDecimals: 2, lotDecimals: 5, priceExponent: -8, qtyExponent: -8 });
    const rough = ROUGH_SYMBOLS.map(symbolSpec);
    expect(new Set(rough.map((s) => s.tickDecimals)).size).toBe(rough.length);
    expect(rough.some((s) => s.priceExponent !== -8) && rough.some((s) => s.qtyExponent !== -8)).toBe(true);
  });
});

describe('rough market behaviours (pure, virtual clock)', () => {
  it('a deep book has more than 5,000 levels per side; empty diffs occur; diffs still rebuild the truth at every u', () => {
    const e = new MarketEngine({
      spec: symbolSpec('ETHBTC'),
      seed: 9,
      startTimeUs: START,
      ratePerSec: 300,
      deepBook: true,
      emptyUpdateProbability: 0.2,
      depthIntervalUs: 20_000,
    });
    expect(e.levelCount(0)).toBeGreaterThan(5000);
    expect(e.levelCount(1)).toBeGreaterThan(5000);
    const start = e.currentBook();
    const bids = new Map(start.bids);
    const asks = new Map(start.asks);
    let prevU = start.lastUpdateId;
    let empty = 0;
    let checked = 0;
    for (let i = 1; i <= 100; i++) {
      for (const ev of e.advance(START + i * 20_000)) {
        if (ev.kind !== 'depth') continue;
        expect(ev.firstUpdateId).toBe(prevU + 1);
        expect(ev.lastUpdateId).toBeGreaterThanOrEqual(ev.firstUpdateId);
        prevU = ev.lastUpdateId;
        if (ev.bids.length === 0 && ev.asks.length === 0) empty += 1;
        for (const [side, levels] of [[bids, ev.bids], [asks, ev.asks]] as const) {
          for (const [p, q] of levels) {
            if (q === 0) side.delete(p);
            else side.set(p, q);
          }
        }
        if (i % 10 === 0 || ev.bids.length + ev.asks.length === 0) {
          const truth = e.bookAt(ev.lastUpdateId);
          expect([...bids.entries()].sort((a, b) => b[0] - a[0])).toEqual(truth?.bids);
          expect([...asks.entries()].sort((a, b) => a[0] - b[0])).toEqual(truth?.asks);
          checked += 1;
        }
      }
    }
    expect(empty).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(empty);
  });

  it('the same seed gives the same rough market, however time is sliced', () => {
    const make = () =>
      new MarketEngine({ spec: symbolSpec('DOGEUSDT'), seed: 3, startTimeUs: START, ratePerSec: 500, emptyUpdateProbability: 0.1, depthIntervalUs: 20_000 });
    const a = make();
    const b = make();
    const evA: EngineEvent[] = a.advance(START + 2_000_000);
    const evB: EngineEvent[] = [];
    for (let t = 7_000; t <= 2_000_000; t += 7_000) evB.push(...b.advance(START + t));
    evB.push(...b.advance(START + 2_000_000));
    expect(evB).toEqual(evA);
  });

  it('culls only bestBidAsk updates that a newer one in the same tick supersedes; the newest always goes out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, p) => {
        let now = START;
        let batch: MarketFrame[] = [];
        let culled = 0;
        const m = new SimMarket(
          { symbols: ['BTCUSDT'], seed, ratePerSec: 3000, clockUs: () => now, cullBestBidAsk: p, onCulled: () => (culled += 1) },
          (f) => batch.push(f),
        );
        const reference = new MarketEngine({ spec: symbolSpec('BTCUSDT'), seed, startTimeUs: START, ratePerSec: 3000 });
        let expectedCulled = 0;
        for (let i = 1; i <= 40; i++) {
          now = START + i * 10_000;
          batch = [];
          m.tick();
          const events = reference.advance(now);
          const all = events.filter((e) => e.kind === 'bestBidAsk').map((e) => JSON.stringify(e));
          const got = batch.filter((f) => f.event.kind === 'bestBidAsk').map((f) => JSON.stringify(f.event));
          expectedCulled += all.length - got.length;
          if (all.length > 0) expect(got[got.length - 1]).toBe(all[all.length - 1]);
          // What was sent is a subsequence of the venue's updates, in order.
          let j = 0;
          for (const g of got) {
            while (j < all.length && all[j] !== g) j++;
            expect(j).toBeLessThan(all.length);
            j++;
          }
          // Nothing else is culled.
          const others = (xs: string[]) => xs.filter((x) => !x.includes('"bestBidAsk"'));
          expect(others(batch.map((f) => JSON.stringify(f.event)))).toEqual(others(events.map((e) => JSON.stringify(e))));
        }
        expect(culled).toBe(expectedCulled);
        if (p === 0) expect(culled).toBe(0);
      }),
      { numRuns: 15 },
    );
  });
});
