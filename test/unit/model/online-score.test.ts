import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OnlineScore } from '../../../src/model/online-score.js';
import { directionOf, macroF1, rSquared } from '../../../src/model/metrics.js';
import { MidHistory } from '../../../src/core/mid-history.js';

describe('online score', () => {
  it('scores a prediction only once the horizon has passed, against the as-of mid at t + H', () => {
    const s = new OnlineScore(10_000_000, 1e-4);
    const mids = new MidHistory();
    mids.record(0, 100);
    s.add({ eventTsUs: 0, mid: 100, direction: 2, expectedRet: 0.001 });
    mids.record(9_000_000, 101);
    expect(s.resolve(9_999_999, (t) => mids.at(t))).toEqual([]);
    mids.record(10_500_000, 90); // after t + H: must not be used
    const r = s.resolve(10_500_000, (t) => mids.at(t));
    expect(r).toHaveLength(1);
    expect(r[0].realizedRet).toBeCloseTo(Math.log(1.01), 15);
    expect(r[0].realizedDirection).toBe(2);
    const snap = s.snapshot();
    expect(snap).toMatchObject({ predictions: 1, scored: 1, pending: 0, expired: 0, accuracy: 1, baseline_accuracy: 0 });
    expect(snap.mse).toBeCloseTo((Math.log(1.01) - 0.001) ** 2, 15);
  });

  it('a horizon the history no longer reaches is counted expired, not guessed', () => {
    const s = new OnlineScore(10_000_000, 0);
    s.add({ eventTsUs: 0, mid: 100, direction: 1, expectedRet: 0 });
    expect(s.resolve(60_000_000, () => 100)).toEqual([]);
    expect(s.snapshot()).toMatchObject({ scored: 0, expired: 1, accuracy: null, macro_f1: null });
  });

  it('property: the running scores equal the batch scores of the same predictions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ move: fc.integer({ min: -3, max: 3 }), dir: fc.integer({ min: 0, max: 2 }), exp: fc.double({ min: -1e-3, max: 1e-3, noNaN: true }) }), { minLength: 1, maxLength: 60 }),
        (steps) => {
          const band = 1.5e-4;
          const s = new OnlineScore(10_000_000, band);
          const mids = new MidHistory();
          let mid = 50_000;
          const truth: number[] = [];
          const pred: number[] = [];
          const rets: number[] = [];
          const exps: number[] = [];
          const midAt = (t: number): number | undefined => mids.at(t);
          for (let i = 0; i < steps.length + 5; i++) {
            const t = i * 2_000_000;
            if (i > 0 && i <= steps.length) mid += steps[i - 1].move * 5;
            mids.record(t, mid);
            for (const r of s.resolve(t, midAt)) {
              truth.push(r.realizedDirection);
              pred.push(r.prediction.direction);
              rets.push(r.realizedRet);
              exps.push(r.prediction.expectedRet);
              expect(r.realizedDirection).toBe(directionOf(r.realizedRet, band));
            }
            if (i < steps.length) s.add({ eventTsUs: t, mid, direction: steps[i].dir, expectedRet: steps[i].exp });
          }
          const snap = s.snapshot();
          expect(snap.scored).toBe(steps.length);
          const f1 = macroF1(truth, pred);
          expect(snap.macro_f1).toBeCloseTo(f1, 12);
          expect(snap.baseline_macro_f1).toBeCloseTo(macroF1(truth, truth.map(() => 1)), 12);
          const r2 = rSquared(rets, exps);
          if (Number.isFinite(r2)) expect(snap.r2 as number).toBeCloseTo(r2, 6);
          else expect(snap.r2).toBeNull();
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('R² of returns that are all equal', () => {
  it('is undefined in the batch and the running score alike, not the −1e31 the rounding of their mean gave', () => {
    // fast-check's counterexample: three predictions whose horizons all end after the one mid move.
    const r = Math.log(49_995 / 50_000);
    expect(rSquared([r, r, r], [0, 0, 0])).toBeNaN();
    const s = new OnlineScore(10_000_000, 1.5e-4);
    for (const t of [0, 2_000_000, 4_000_000]) s.add({ eventTsUs: t, mid: 50_000, direction: 1, expectedRet: 0 });
    s.resolve(14_000_000, (t) => (t >= 6_000_000 ? 49_995 : 50_000));
    expect(s.snapshot()).toMatchObject({ scored: 3, r2: null });
  });
});
