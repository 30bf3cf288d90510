import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DatasetError, DEFAULT_MODEL_FEATURES, parseDataset, pickHorizon, type TrainingData } from '../../../src/model/dataset.js';
import { flatBand, quantile } from '../../../src/model/baseline.js';
import { accuracy, confusion, directionOf, macroF1, rSquared } from '../../../src/model/metrics.js';
import { MIN_ROWS_PER_PART, splitWalkForward, walkForward } from '../../../src/model/walk-forward.js';
import { fixtureParquet } from './fixture.js';

describe('scores', () => {
  it('macro-F1 on a known confusion', () => {
    // truth: down down flat up up up; predicted: down flat flat up up down
    const t = [0, 0, 1, 2, 2, 2];
    const p = [0, 1, 1, 2, 2, 0];
    expect(confusion(t, p)).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
    // F1 down = 2·1/(2+2) = 0.5, flat = 2·1/(1+2) = 2/3, up = 2·2/(3+2) = 0.8
    expect(macroF1(t, p)).toBeCloseTo((0.5 + 2 / 3 + 0.8) / 3, 12);
    expect(accuracy(t, p)).toBeCloseTo(4 / 6, 12);
  });

  it('persistence (always flat) scores F1 over the classes present only', () => {
    // up and flat occur; "down" neither occurs nor is predicted and is left out of the mean.
    expect(macroF1([1, 1, 2, 2], [1, 1, 1, 1])).toBeCloseTo((2 * 2) / (2 + 4) / 2, 12);
  });

  it('R²: perfect = 1, the mean = 0, constant truth = NaN', () => {
    expect(rSquared([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(rSquared([1, 2, 3], [2, 2, 2])).toBe(0);
    expect(rSquared([1, 2, 3], [0, 0, 0])).toBeCloseTo(1 - 14 / 2, 12);
    expect(rSquared([2, 2], [0, 0])).toBeNaN();
  });

  it('direction uses the band inclusively for flat', () => {
    expect(directionOf(0.001, 0.001)).toBe(1);
    expect(directionOf(0.0011, 0.001)).toBe(2);
    expect(directionOf(-0.0011, 0.001)).toBe(0);
  });

  it('the band is the 95th percentile of the training spread, never below it on 95% of rows', () => {
    const spreads = Array.from({ length: 100 }, (_, i) => i / 10);
    expect(quantile(spreads, 0.95)).toBeCloseTo(9.405, 12);
    const { bandBp, band } = flatBand(spreads);
    expect(bandBp).toBeCloseTo(9.405, 12);
    expect(band).toBeCloseTo(Math.log1p(9.405e-4), 15);
    expect(spreads.filter((s) => s <= bandBp).length).toBeGreaterThanOrEqual(95);
    expect(flatBand(spreads, 0.5).bandBp).toBeCloseTo(4.95, 12);
    expect(() => flatBand(spreads, 1.5)).toThrow(/band quantile must be in \[0, 1\]/);
  });
});

describe('walk-forward splits', () => {
  it('property: training rows are all before the test part and no training label reaches into it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 400 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 400, maxLength: 400 }),
        fc.integer({ min: 1, max: 30 }),
        (folds, extra, steps, horizon) => {
          const n = MIN_ROWS_PER_PART * (folds + 1) + extra + horizon * 2;
          const ts: number[] = [];
          let t = 1000;
          for (let i = 0; i < n; i++) ts.push((t += steps[i % steps.length]));
          let splits;
          try {
            splits = splitWalkForward(ts, folds, horizon);
          } catch (err) {
            // Only refusal allowed: too few training rows once overlapping labels are purged.
            expect(err).toBeInstanceOf(DatasetError);
            return;
          }
          expect(splits).toHaveLength(folds);
          let prevEnd = -1;
          for (const s of splits) {
            expect(s.trainEnd).toBeLessThanOrEqual(s.testStart);
            expect(s.trainEnd).toBeGreaterThanOrEqual(MIN_ROWS_PER_PART);
            if (s.trainEnd > 0) expect(ts[s.trainEnd - 1] + horizon).toBeLessThanOrEqual(ts[s.testStart]);
            // Purge removes only what overlaps: the next row would have.
            if (s.trainEnd < s.testStart) expect(ts[s.trainEnd] + horizon).toBeGreaterThan(ts[s.testStart]);
            expect(s.testStart).toBeGreaterThan(prevEnd - 1);
            prevEnd = s.testEnd;
          }
          expect(splits[splits.length - 1].testEnd).toBe(n);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a dataset too small for the folds', () => {
    const ts = Array.from({ length: 50 }, (_, i) => i * 2);
    expect(() => splitWalkForward(ts, 5, 10)).toThrow(/dataset too small: 50 labelled rows for 5 folds; walk-forward needs at least 120/);
  });
});

async function fixtureData(rows: number, seed = 3): Promise<TrainingData> {
  return parseDataset(fixtureParquet({ rows, seed, unlabelledTail: 5 }));
}

describe('walk-forward evaluation', () => {
  it('property: a fold is fitted from its training rows only (changing rows at/after its test start changes nothing)', async () => {
    const base = await fixtureData(240);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (foldIdx, seed) => {
        const r1 = walkForward(base, 3);
        const cut = r1.folds[foldIdx].testStart;
        let s = seed;
        const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 1000;
        const changed: TrainingData = {
          ...base,
          x: base.x.map((row, i) => (i >= cut ? row.map(() => rnd()) : row)),
          ret: base.ret.map((v, i) => (i >= cut ? rnd() : v)),
          spreadBp: base.spreadBp.map((v, i) => (i >= cut ? Math.abs(rnd()) : v)),
        };
        const r2 = walkForward(changed, 3);
        for (let k = 0; k <= foldIdx; k++) {
          expect(r2.folds[k].fitted.standardization).toEqual(r1.folds[k].fitted.standardization);
          expect(r2.folds[k].fitted.ridge).toEqual(r1.folds[k].fitted.ridge);
          expect(r2.folds[k].fitted.direction).toEqual(r1.folds[k].fitted.direction);
          expect(r2.folds[k].fitted.band).toBe(r1.folds[k].fitted.band);
        }
      }),
      { numRuns: 8 },
    );
  });

  it('the standardization of a fold is exactly that of its training rows', async () => {
    const d = await fixtureData(240);
    const r = walkForward(d, 3);
    for (const f of r.folds) {
      const j = d.features.indexOf('ob_imbalance');
      const rows = d.x.slice(0, f.trainEnd).map((x) => x[j]);
      const mean = rows.reduce((a, b) => a + b, 0) / rows.length;
      expect(f.fitted.standardization.mean[j]).toBeCloseTo(mean, 12);
    }
  });

  it('on data with signal the model beats persistence on both scores', async () => {
    const d = await fixtureData(600);
    const r = walkForward(d, 5);
    expect(r.overall.rows).toBe(600 - 5 - Math.floor(595 / 6));
    expect(r.overall.model.r2).toBeGreaterThan(0.3);
    expect(r.overall.baseline.r2).toBeLessThanOrEqual(0);
    expect(r.overall.model.macroF1).toBeGreaterThan(r.overall.baseline.macroF1);
  });
});

describe('dataset reading', () => {
  it('reads the fixture: features in order, unlabelled tail dropped, INT64 times as numbers', async () => {
    const d = await fixtureData(100);
    expect(d.horizonS).toBe(10);
    expect(d.features).toEqual(DEFAULT_MODEL_FEATURES);
    expect(d.features).not.toContain('price');
    expect(d.x).toHaveLength(95);
    expect(d.droppedUnlabelled).toBe(5);
    expect(d.featureTs[1] - d.featureTs[0]).toBe(2);
    expect(d.symbol).toBeNull();
    expect((await parseDataset(fixtureParquet({ rows: 10, symbol: 'ETHUSDT' }))).symbol).toBe('ETHUSDT');
  });

  it('names the missing columns', async () => {
    await expect(parseDataset(fixtureParquet({ rows: 10, omit: ['ob_imbalance', 'spread_bp'] }))).rejects.toThrow('dataset lacks columns spread_bp, ob_imbalance');
    await expect(parseDataset(fixtureParquet({ rows: 10, omit: ['label_ret_10s'] }))).rejects.toThrow(/no label column: expected label_ret_10s/);
  });

  it('refuses a file that is not Parquet', async () => {
    await expect(parseDataset(new TextEncoder().encode('feature_ts,price\n1,2\n').buffer as ArrayBuffer)).rejects.toThrow(/not a Parquet file/);
  });

  it('picks the 10 s label among several, or the one asked for', () => {
    expect(pickHorizon(['label_ret_5s', 'label_ret_10s'])).toBe(10);
    expect(pickHorizon(['label_ret_30s'])).toBe(30);
    expect(() => pickHorizon(['label_ret_30s'], 10)).toThrow(/no label_ret_10s column/);
  });
});
