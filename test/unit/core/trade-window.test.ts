import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TradeWindow, toWindowTrade } from '../../../src/core/trade-window.js';
import type { TradeEvent } from '../../../src/core/events.js';
import { addDecimals, compareDecimals, formatDecimal } from '../../../src/core/decimal.js';
import { close, refWindow } from './reference.js';

const T0 = 1_700_000_000_000_000;

function trade(id: number, ts: number, price: string, qty: string, buyerMaker: boolean): TradeEvent {
  return { type: 'trade', symbol: 'X', event_ts: ts, source: 'json', trade_id: id, sequence_id: id, price, quantity: qty, is_buyer_maker: buyerMaker };
}

/** A step: a trade `dt` µs after the previous newest time (negative = late), or a bare clock advance. */
const stepArb = fc.record({
  kind: fc.constantFrom('trade', 'trade', 'trade', 'trade', 'advance'),
  dt: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 800_000 }) }, { weight: 1, arbitrary: fc.integer({ min: -900_000, max: 0 }) }),
  price: fc.integer({ min: 4_500_000, max: 4_510_000 }).map((m) => formatDecimal(BigInt(m), -2)),
  qty: fc.integer({ min: 0, max: 300_000_000 }).map((m) => formatDecimal(BigInt(m), -8)),
  maker: fc.boolean(),
});

function exactVolume(trades: TradeEvent[], now: number, W: number, pick: (t: TradeEvent) => boolean = () => true): string {
  return addDecimals(trades.filter((t) => t.event_ts > now - W * 1e6 && t.event_ts <= now && pick(t)).map((t) => t.quantity));
}

describe('TradeWindow', () => {
  for (const W of [1, 5]) {
    it(`${W} s window equals a brute-force recomputation (floats 1e-9 relative, money sums exact)`, () => {
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 1, maxLength: 150 }), (steps) => {
          const win = new TradeWindow(W, { extended: true });
          const seen: TradeEvent[] = [];
          let now = T0;
          let id = 0;
          for (const s of steps) {
            const ts = Math.max(T0, now + s.dt);
            if (s.kind === 'advance') {
              win.advance(ts);
            } else {
              const t = trade(++id, ts, s.price, s.qty, s.maker);
              seen.push(t);
              win.add(toWindowTrade(t));
            }
            now = Math.max(now, ts);
            const got = win.stats();
            const ref = refWindow(seen, now, W);
            expect(got.count).toBe(ref.count);
            expect(got.lastTsUs).toBe(ref.lastTsUs);
            expect(compareDecimals(got.volume, exactVolume(seen, now, W))).toBe(0);
            expect(compareDecimals(got.buyVolume, exactVolume(seen, now, W, (t) => !t.is_buyer_maker))).toBe(0);
            expect(compareDecimals(got.sellVolume, exactVolume(seen, now, W, (t) => t.is_buyer_maker))).toBe(0);
            for (const k of ['volume', 'notional', 'signedVolume', 'vwap', 'priceStd', 'tradeIntensity', 'avgTradeSize', 'priceMomentum', 'volumeAcceleration'] as const) {
              const g = k === 'volume' ? got.volumeNum : k === 'notional' ? got.notionalNum : k === 'signedVolume' ? got.signedVolumeNum : got[k];
              if (!close(g, ref[k])) throw new Error(`${k}: got ${g}, want ${ref[k]}`);
            }
            expect(got.priceStd).toBeGreaterThanOrEqual(0);
          }
        }),
        { numRuns: 120 },
      );
    });
  }

  it('never drifts over a long run (price_std re-centred, exact sums back to 0)', () => {
    const win = new TradeWindow(1, { extended: true });
    let ts = T0;
    const all: TradeEvent[] = [];
    for (let i = 0; i < 20_000; i++) {
      ts += 1_000 + (i % 7) * 500;
      // Price drifts by 1,000 over the run while the window's spread stays ~0.1.
      const t = trade(i, ts, formatDecimal(BigInt(3_000_000 + i * 5 + (i % 3)), -2), '0.00100000', i % 2 === 0);
      all.push(t);
      win.add(toWindowTrade(t));
    }
    const ref = refWindow(all.slice(-2000), ts, 1);
    const got = win.stats();
    expect(got.count).toBe(ref.count);
    expect(close(got.priceStd, ref.priceStd)).toBe(true);
    win.advance(ts + 10_000_000);
    expect(win.stats()).toMatchObject({ count: 0, volume: '0', notional: '0', signedVolume: '0', priceStd: 0, vwap: 0, lastTsUs: 0 });
  });

  it('formats the tr hash with exact money strings and only finite numbers', () => {
    const w5 = new TradeWindow(5, { extended: true });
    w5.add(toWindowTrade(trade(1, T0, '100.10000000', '0.10000000', false)));
    w5.add(toWindowTrade(trade(2, T0 + 3_000_000, '100.20000000', '0.20000000', true)));
    const h = w5.toHash(100.15);
    expect(h).toMatchObject({
      count: '2',
      volume: '0.3',
      notional: '30.05',
      buy_volume: '0.1',
      sell_volume: '0.2',
      signed_volume: '-0.1',
      last_ts_us: String(T0 + 3_000_000),
      trade_intensity: '0.4',
    });
    expect(Number(h.vwap)).toBeCloseTo(30.05 / 0.3, 12);
    expect(Number(h.vwap_minus_mid)).toBeCloseTo(30.05 / 0.3 - 100.15, 12);
    expect(Number(h.price_momentum)).toBeCloseTo(0.1 / 100.1, 15);
    // Newer half (ts > now − 2.5 s) holds the 0.2 trade, the older the 0.1 one: (0.2 − 0.1) / 5.
    expect(Number(h.volume_acceleration)).toBeCloseTo(0.02, 15);
    const w1 = new TradeWindow(1);
    expect(Object.keys(w1.toHash(undefined))).not.toContain('price_momentum');
    expect(Object.values(w1.toHash(undefined)).every((v) => /^-?\d/.test(v) && !/NaN|Infinity/.test(v))).toBe(true);
    expect(w1.toHash(undefined).vwap_minus_mid).toBe('0');
  });

  it('rejects a trade with a bad price or quantity', () => {
    expect(() => toWindowTrade(trade(1, T0, '0', '1', false))).toThrow(/price must be positive/);
    expect(() => toWindowTrade(trade(1, T0, '1', '-1', false))).toThrow(/must not be negative/);
    expect(() => toWindowTrade(trade(1, T0, 'abc', '1', false))).toThrow(/not a decimal/);
  });
});
