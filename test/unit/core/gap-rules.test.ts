import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkTimeGap,
  compareMinute,
  EventClockGuard,
  isRequestCovered,
  isSequenceGapReason,
  MINUTE_MS,
  parseEventUs,
  selectMinutes,
  TimeGapTracker,
  volumeGapNeedsReanchor,
  type KlineMinute,
} from '../../../src/core/gap-rules.js';
import { addDecimals, formatDecimal } from '../../../src/core/decimal.js';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

describe('time criterion', () => {
  it('parses stored event times and ignores junk', () => {
    expect(parseEventUs('1700000000500000')).toBe(1700000000500000);
    for (const junk of [null, undefined, 'abc', '-5', '', '0', '1e20', '99999999999999999999']) expect(parseEventUs(junk)).toBeUndefined();
  });

  it('flags a gap only strictly beyond the threshold, and never without data', () => {
    expect(checkTimeGap({ obAgeMs: undefined, trAgeMs: undefined }, 5000)).toMatchObject({ gap: false, ageMs: undefined });
    expect(checkTimeGap({ obAgeMs: 5000, trAgeMs: undefined }, 5000).gap).toBe(false);
    expect(checkTimeGap({ obAgeMs: 5001, trAgeMs: undefined }, 5000).gap).toBe(true);
  });

  it("ob's clock decides on its own: a frozen ob is stale however fresh the trades are; a quiet trade stream is not", () => {
    expect(checkTimeGap({ obAgeMs: 30_000, trAgeMs: 10 }, 5000)).toMatchObject({ gap: true, ageMs: 30_000 });
    expect(checkTimeGap({ obAgeMs: 10, trAgeMs: 60_000 }, 5000)).toMatchObject({ gap: false, ageMs: 10 });
    expect(checkTimeGap({ obAgeMs: undefined, trAgeMs: 6000 }, 5000)).toMatchObject({ gap: true, ageMs: 6000 });
  });

  it('far-future ts: a clock stuck beyond the skew still becomes a time gap, and its age is never negative', () => {
    const g = new EventClockGuard(5000);
    const future = Date.UTC(2100, 0, 1) * 1000;
    expect(g.observe('S:ob', future, T0)).toEqual({ ageMs: 0, future: true, futureFirstSeen: true, usableUs: undefined });
    expect(g.observe('S:ob', future, T0 + 4000)).toMatchObject({ ageMs: 4000, futureFirstSeen: false });
    const stuck = g.observe('S:ob', future, T0 + 5001);
    expect(checkTimeGap({ obAgeMs: stuck.ageMs, trAgeMs: undefined }, 5000).gap).toBe(true);
    // A different future value is movement: its age starts again.
    expect(g.observe('S:ob', future + 1, T0 + 6000)).toMatchObject({ ageMs: 0, futureFirstSeen: true });
    // Within the skew: age 0 and usable.
    expect(g.observe('S:ob', (T0 + 3000) * 1000, T0)).toEqual({ ageMs: 0, future: false, futureFirstSeen: false, usableUs: (T0 + 3000) * 1000 });
  });

  it('property: ages are never negative, future times are never usable, past times give their exact age', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -120_000, max: 10 ** 12 }), fc.integer({ min: 0, max: 1000 })), { maxLength: 50 }),
        fc.integer({ min: 0, max: 60_000 }),
        (readings, skew) => {
          const g = new EventClockGuard(skew);
          let now = T0;
          for (const [offsetMs, stepMs] of readings) {
            now += stepMs;
            const r = g.observe('k', (now + offsetMs) * 1000, now);
            expect(r.ageMs).toBeGreaterThanOrEqual(0);
            if (offsetMs > skew) expect(r.usableUs).toBeUndefined();
            else {
              expect(r.usableUs).toBe((now + offsetMs) * 1000);
              expect(r.ageMs).toBe(Math.max(0, -offsetMs));
            }
          }
        },
      ),
    );
  });

  it('counts one stall once, however many checks see it', () => {
    const t = new TimeGapTracker();
    const stale = { gap: true, ageMs: 9000 };
    const fresh = { gap: false, ageMs: 10 };
    expect(t.observe('A', fresh)).toBe('fresh');
    expect(t.observe('A', stale)).toBe('entered');
    expect(t.observe('A', stale)).toBe('ongoing');
    expect(t.observe('B', stale)).toBe('entered');
    expect(t.observe('A', fresh)).toBe('recovered');
    expect(t.observe('A', { gap: false, ageMs: undefined })).toBe('no_data');
    expect(t.isStalled('B')).toBe(true);
  });

  it('property: entries = number of fresh→stale edges', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (seq) => {
        const t = new TimeGapTracker();
        let entered = 0;
        let edges = 0;
        let prev = false;
        for (const gap of seq) {
          if (t.observe('S', { gap, ageMs: gap ? 10_000 : 1 }) === 'entered') entered++;
          if (gap && !prev) edges++;
          prev = gap;
        }
        expect(entered).toBe(edges);
      }),
    );
  });
});

describe('volume criterion: minute selection', () => {
  const k = (i: number, trades = 3, volume = '1.5'): KlineMinute => ({ openTimeMs: T0 + i * MINUTE_MS, trades, volume });

  it('skips the first observed minute and earlier ones, waits for unsettled ones', () => {
    const sel = selectMinutes({
      pending: [k(3), k(0), k(1), k(2), k(4)],
      firstObservedMinuteMs: T0 + MINUTE_MS, // the aggregator started inside minute 1
      newestObservedMinuteMs: T0 + 4 * MINUTE_MS,
      tradesConsumedUs: (T0 + 4 * MINUTE_MS + 5_000) * 1000, // minute 3 ended 5 s ago in event time
      venueNowMs: T0 + 4 * MINUTE_MS + 30_000,
      settleMs: 5000,
    });
    expect(sel.uncovered.map((x) => x.openTimeMs)).toEqual([k(0).openTimeMs, k(1).openTimeMs]);
    expect(sel.checkable.map((x) => x.openTimeMs)).toEqual([k(2).openTimeMs, k(3).openTimeMs]);
    expect(sel.waiting.map((x) => x.openTimeMs)).toEqual([k(4).openTimeMs]);
  });

  it('waits on everything while the hot path has no minutes or no event time', () => {
    const base = { pending: [k(1), k(2)], venueNowMs: T0 + 10 * MINUTE_MS, settleMs: 0, newestObservedMinuteMs: T0 + 9 * MINUTE_MS };
    expect(selectMinutes({ ...base, firstObservedMinuteMs: undefined, tradesConsumedUs: 1 }).waiting).toHaveLength(2);
    expect(selectMinutes({ ...base, firstObservedMinuteMs: T0, tradesConsumedUs: undefined }).waiting).toHaveLength(2);
  });

  it('waits while the venue clock has not passed the settle margin even if the hot path has', () => {
    const sel = selectMinutes({
      pending: [k(1)],
      firstObservedMinuteMs: T0,
      newestObservedMinuteMs: T0 + 3 * MINUTE_MS,
      tradesConsumedUs: (T0 + 3 * MINUTE_MS) * 1000,
      venueNowMs: T0 + 2 * MINUTE_MS + 1000,
      settleMs: 5000,
    });
    expect(sel.waiting).toHaveLength(1);
  });

  it('trade stream lag: waits until the minutes hash (written by the trade stream alone) holds a later minute', () => {
    const base = {
      pending: [k(2)],
      firstObservedMinuteMs: T0,
      tradesConsumedUs: (T0 + 4 * MINUTE_MS) * 1000,
      venueNowMs: T0 + 4 * MINUTE_MS,
      settleMs: 5000,
    };
    expect(selectMinutes({ ...base, newestObservedMinuteMs: undefined }).waiting).toHaveLength(1);
    expect(selectMinutes({ ...base, newestObservedMinuteMs: T0 + 2 * MINUTE_MS }).waiting).toHaveLength(1);
    expect(selectMinutes({ ...base, newestObservedMinuteMs: T0 + 3 * MINUTE_MS }).checkable).toHaveLength(1);
  });

  it('property: partitions the pending minutes exactly, and never checks a minute not fully observed', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { maxLength: 40 }),
        fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
        fc.integer({ min: 0, max: 130 * 60_000 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.option(fc.integer({ min: 0, max: 130 }), { nil: undefined }),
        (minutes, first, hotOffsetMs, settleMs, newest) => {
          const pending = minutes.map((m) => k(m));
          const sel = selectMinutes({
            pending,
            firstObservedMinuteMs: first === undefined ? undefined : T0 + first * MINUTE_MS,
            newestObservedMinuteMs: newest === undefined ? undefined : T0 + newest * MINUTE_MS,
            tradesConsumedUs: (T0 + hotOffsetMs) * 1000,
            venueNowMs: T0 + hotOffsetMs + 1000,
            settleMs,
          });
          const all = [...sel.checkable, ...sel.uncovered, ...sel.waiting].map((x) => x.openTimeMs).sort((a, b) => a - b);
          expect(all).toEqual(pending.map((x) => x.openTimeMs).sort((a, b) => a - b));
          for (const c of sel.checkable) {
            expect(first).toBeDefined();
            expect(c.openTimeMs).toBeGreaterThan(T0 + (first as number) * MINUTE_MS);
            expect((T0 + hotOffsetMs) * 1000).toBeGreaterThanOrEqual((c.openTimeMs + MINUTE_MS + settleMs) * 1000);
            expect(T0 + (newest as number) * MINUTE_MS).toBeGreaterThan(c.openTimeMs);
          }
        },
      ),
    );
  });
});

describe('volume criterion: exact comparison', () => {
  const kline: KlineMinute = { openTimeMs: T0, trades: 3, volume: '1.50000000' };

  it('matches exactly equal count and volume whatever the formatting', () => {
    expect(compareMinute(kline, { minuteStartMs: T0, count: 3, volume: '1.5' }).match).toBe(true);
  });

  it('one lost satoshi-sized trade is a gap', () => {
    const v = compareMinute(kline, { minuteStartMs: T0, count: 3, volume: '1.49999999' });
    expect(v.match).toBe(false);
    expect(v.missingVolume).toBe('0.00000001');
    expect(compareMinute(kline, { minuteStartMs: T0, count: 2, volume: '1.5' }).missingCount).toBe(1);
  });

  it('a minute the hot path never saw counts as zero; duplicates show as negative missing', () => {
    expect(compareMinute(kline, undefined)).toMatchObject({ match: false, hotCount: 0, missingCount: 3, missingVolume: '1.5' });
    expect(compareMinute(kline, { minuteStartMs: T0, count: 4, volume: '2' })).toMatchObject({ missingCount: -1, missingVolume: '-0.5' });
    expect(compareMinute({ openTimeMs: T0, trades: 0, volume: '0.00000000' }, undefined).match).toBe(true);
  });

  it('property: dropping any non-empty subset of trades is detected; keeping all matches', () => {
    const qty = fc.bigInt({ min: 1n, max: 10_000_000_000n }).map((m) => formatDecimal(m, -8));
    fc.assert(
      fc.property(fc.array(qty, { minLength: 1, maxLength: 50 }), fc.array(fc.boolean(), { minLength: 50, maxLength: 50 }), (qtys, dropMask) => {
        const venue: KlineMinute = { openTimeMs: T0, trades: qtys.length, volume: addDecimals(qtys) };
        const kept = qtys.filter((_, i) => !dropMask[i]);
        const hot = { minuteStartMs: T0, count: kept.length, volume: kept.length ? addDecimals(kept) : '0' };
        expect(compareMinute(venue, hot).match).toBe(kept.length === qtys.length);
      }),
    );
  });
});

describe('re-anchor coverage rules', () => {
  it('a request is covered only by a snapshot fetched at or after it', () => {
    expect(isRequestCovered(1000, undefined)).toBe(false);
    expect(isRequestCovered(1000, 1000)).toBe(true);
    expect(isRequestCovered(1001, 1000)).toBe(false);
  });

  it('a volume gap needs a re-anchor unless one fetched after the minute ended', () => {
    expect(volumeGapNeedsReanchor(T0, undefined)).toBe(true);
    expect(volumeGapNeedsReanchor(T0, T0 + MINUTE_MS)).toBe(false);
    expect(volumeGapNeedsReanchor(T0, T0 + MINUTE_MS - 1)).toBe(true);
  });

  it('cold starts are not sequence gaps; breaks are', () => {
    expect(isSequenceGapReason('no-book')).toBe(false);
    expect(isSequenceGapReason('requested')).toBe(false);
    expect(isSequenceGapReason('gap')).toBe(true);
    expect(isSequenceGapReason('buffer-gap')).toBe(true);
    expect(isSequenceGapReason('trade_gap')).toBe(true);
  });
});
