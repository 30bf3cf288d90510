import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addDecimals, parseDecimal } from '../../../src/core/decimal.js';
import { MinuteStats, PersistedMinutes, tradeTimeUs, type MinuteStat } from '../../../src/core/minute-stats.js';

interface T {
  id: number;
  tsUs: number;
  qty: string;
}

const T0 = 1_700_000_040_000_000; // a whole minute, µs

/** Contiguous ids from 1000, non-decreasing trade times, exact quantities. */
const tradesArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 40_000_000 }), fc.integer({ min: 1, max: 99_999_999 }), fc.integer({ min: 0, max: 8 })), {
    minLength: 1,
    maxLength: 120,
  })
  .map((xs) => {
    let ts = T0;
    return xs.map(([dt, m, e], i): T => {
      ts += dt;
      return { id: 1000 + i, tsUs: ts, qty: e === 0 ? String(m) : (Number(m) / 10 ** e).toFixed(e) };
    });
  });

function truth(trades: readonly T[]): Map<number, { count: number; volume: string }> {
  const g = new Map<number, string[]>();
  for (const t of trades) {
    const m = Math.floor(t.tsUs / 60_000_000) * 60_000;
    g.set(m, [...(g.get(m) ?? []), t.qty]);
  }
  return new Map([...g].map(([m, qs]) => [m, { count: qs.length, volume: addDecimals(qs) }]));
}

const countOnly = (stored: Map<number, MinuteStat>): Map<number, { count: number; volume: string }> =>
  new Map([...stored].map(([m, s]) => [m, { count: s.count, volume: addDecimals([s.volume]) }]));

function add(pm: PersistedMinutes, t: T): boolean {
  const q = parseDecimal(t.qty);
  return pm.add(t.id, t.tsUs, q.mantissa, q.exponent);
}

/** HSET semantics: the written minutes replace the stored ones. */
function write(stored: Map<number, MinuteStat>, values: readonly MinuteStat[]): void {
  for (const v of values) stored.set(v.minuteStartMs, v);
}

describe('MinuteStats', () => {
  it('keeps the highest trade id per minute and refuses minutes older than the history', () => {
    const s = new MinuteStats(2);
    expect(s.add(T0 + 1, 1n, 0, 7)).toBe(true);
    expect(s.add(T0 + 2, 25n, -1, 5)).toBe(true);
    expect(s.get(T0 / 1000)).toEqual({ minuteStartMs: T0 / 1000, count: 2, volume: '3.5', lastTradeId: 7 });
    expect(s.add(T0 + 3 * 60_000_000, 1n, 0)).toBe(true);
    expect(s.add(T0, 1n, 0, 9)).toBe(false); // 3 minutes back, history keeps 2
    expect(s.get(T0 / 1000)).toBeUndefined();
    expect(s.get(T0 / 1000 + 180_000)).toEqual({ minuteStartMs: T0 / 1000 + 180_000, count: 1, volume: '1' });
  });

  it('buckets by trade time when the event has one', () => {
    expect(tradeTimeUs({ event_ts: 120_000_002, transact_ts: 119_999_999 })).toBe(119_999_999);
    expect(tradeTimeUs({ event_ts: 120_000_002 })).toBe(120_000_002);
  });
});

describe('PersistedMinutes', () => {
  it('adds to what a previous run stored and skips trades at or below the stored watermark', () => {
    const m0 = T0 / 1000;
    const pm = new PersistedMinutes([
      { minuteStartMs: m0, count: 3, volume: '1.5', lastTradeId: 12 },
      { minuteStartMs: m0 - 60_000, count: 2, volume: '1', lastTradeId: 9 },
    ]);
    expect(pm.watermark).toBe(12);
    expect(pm.add(11, T0 + 5, 1n, 0)).toBe(false);
    expect(pm.add(12, T0 + 6, 1n, 0)).toBe(false);
    expect(pm.hasDirty).toBe(false);
    expect(pm.add(13, T0 + 7, 25n, -2)).toBe(true);
    expect(pm.add(14, T0 + 60_000_000, 1n, 0)).toBe(true);
    expect(pm.takeDirty()).toEqual([
      { minuteStartMs: m0, count: 4, volume: '1.75', lastTradeId: 13 },
      { minuteStartMs: m0 + 60_000, count: 1, volume: '1', lastTradeId: 14 },
    ]);
    expect(pm.hasDirty).toBe(false);
    pm.restoreDirty([m0]);
    expect(pm.takeDirty().map((v) => v.count)).toEqual([4]);
  });

  it('counts everything when the stored minutes carry no trade ids (written by an older version)', () => {
    const pm = new PersistedMinutes([{ minuteStartMs: T0 / 1000, count: 3, volume: '1.5' }]);
    expect(pm.watermark).toBeUndefined();
    expect(pm.add(1, T0, 1n, 0)).toBe(true);
    expect(pm.takeDirty()).toEqual([{ minuteStartMs: T0 / 1000, count: 4, volume: '2.5', lastTradeId: 1 }]);
  });

  it('crashes after a write but before the checkpoint, failed writes, replays: each trade counted once', () => {
    fc.assert(
      fc.property(
        tradesArb,
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.array(fc.boolean(), { maxLength: 8 })), {
          maxLength: 5,
        }),
        (trades, runs) => {
          const stored = new Map<number, MinuteStat>();
          let written = 0; // trades [0, written) are in the stored minutes
          const run = (start: number, end: number, writes: readonly boolean[], last: boolean): void => {
            const pm = new PersistedMinutes(stored.values());
            let fed = start;
            // Write points spread over the run; `false` = that write failed (retried with the next one).
            const step = Math.max(1, Math.ceil((end - start) / (writes.length + 1)));
            let w = 0;
            while (fed < end) {
              const upto = Math.min(end, fed + step);
              for (; fed < upto; fed++) add(pm, trades[fed]);
              const ok = w < writes.length ? writes[w++] : last;
              const values = pm.takeDirty();
              if (ok) {
                write(stored, values);
                written = fed;
              } else pm.restoreDirty(values.map((v) => v.minuteStartMs));
            }
            if (last && fed === end) {
              write(stored, pm.takeDirty());
              written = end;
            }
          };
          for (const [a, b, writes] of runs) {
            // The checkpoint is anywhere at or before what was written; the run dies somewhere after it.
            const start = Math.floor(a * written);
            const end = start + Math.floor(b * (trades.length - start));
            run(start, end, writes, false);
          }
          run(Math.floor(0.5 * written), trades.length, [], true);
          expect(countOnly(stored)).toEqual(truth(trades));
        },
      ),
      { numRuns: 300 },
    );
  });
});
