/**
 * Walk-forward evaluation: the rows (in time order) are cut into folds+1 consecutive parts; fold k tests on
 * part k and trains on everything before it (an expanding window), minus the training rows whose label
 * reaches into the test part (feature_ts + horizon > the first test feature_ts): their label is a price the
 * model would only know once the test period has begun. Nothing is shuffled; each fold's standardization,
 * band and weights come from its own training rows.
 *
 * The persistence baseline predicts no change: a return of 0 and direction flat.
 */
import { fitBaseline, predict, type BaselineModel, type FitOptions } from './baseline.js';
import type { TrainingData } from './dataset.js';
import { DatasetError } from './dataset.js';
import { accuracy, directionOf, FLAT, macroF1, rSquared } from './metrics.js';

/** Fewest rows a part (training or test) may have: below this the scores are noise. */
export const MIN_ROWS_PER_PART = 20;

export interface FoldSplit {
  fold: number;
  /** Training rows are [0, trainEnd). */
  trainEnd: number;
  /** Rows left out of training because their label overlaps the test part. */
  purged: number;
  testStart: number;
  testEnd: number;
}

export function splitWalkForward(featureTs: readonly number[], folds: number, horizonS: number): FoldSplit[] {
  if (!Number.isInteger(folds) || folds < 1) throw new RangeError(`folds must be a positive integer, got ${folds}`);
  const n = featureTs.length;
  const part = Math.floor(n / (folds + 1));
  if (part < MIN_ROWS_PER_PART) {
    throw new DatasetError(
      `dataset too small: ${n} labelled rows for ${folds} folds; walk-forward needs at least ${MIN_ROWS_PER_PART * (folds + 1)} (${MIN_ROWS_PER_PART} per part) — record longer or use fewer --folds`,
    );
  }
  const out: FoldSplit[] = [];
  for (let k = 1; k <= folds; k++) {
    const testStart = k * part;
    const testEnd = k === folds ? n : (k + 1) * part;
    let trainEnd = testStart;
    while (trainEnd > 0 && featureTs[trainEnd - 1] + horizonS > featureTs[testStart]) trainEnd--;
    if (trainEnd < MIN_ROWS_PER_PART) {
      throw new DatasetError(`dataset too small: fold ${k} keeps only ${trainEnd} training rows once labels overlapping its test part are left out`);
    }
    out.push({ fold: k, trainEnd, purged: testStart - trainEnd, testStart, testEnd });
  }
  return out;
}

export interface Scores {
  rows: number;
  macroF1: number;
  accuracy: number;
  r2: number;
}

export interface FoldResult extends FoldSplit {
  trainRows: number;
  testRows: number;
  trainFromTs: number;
  trainToTs: number;
  testFromTs: number;
  testToTs: number;
  bandBp: number;
  /** Share of test rows whose true direction is flat. */
  flatShare: number;
  model: Scores;
  baseline: Scores;
  fitted: BaselineModel;
}

export interface WalkForwardResult {
  folds: FoldResult[];
  /** Every test row of every fold pooled. */
  overall: { model: Scores; baseline: Scores; rows: number; flatShare: number };
}

function scores(truthDir: number[], predDir: number[], truthRet: number[], predRet: number[]): Scores {
  return { rows: truthDir.length, macroF1: macroF1(truthDir, predDir), accuracy: accuracy(truthDir, predDir), r2: rSquared(truthRet, predRet) };
}

export function walkForward(data: TrainingData, folds: number, opts: FitOptions = {}): WalkForwardResult {
  const splits = splitWalkForward(data.featureTs, folds, data.horizonS);
  const all = { tDir: [] as number[], mDir: [] as number[], bDir: [] as number[], tRet: [] as number[], mRet: [] as number[] };
  const results: FoldResult[] = [];
  for (const s of splits) {
    const fitted = fitBaseline(data.features, data.x.slice(0, s.trainEnd), data.ret.slice(0, s.trainEnd), data.spreadBp.slice(0, s.trainEnd), opts);
    const tDir: number[] = [];
    const mDir: number[] = [];
    const tRet: number[] = [];
    const mRet: number[] = [];
    for (let i = s.testStart; i < s.testEnd; i++) {
      const p = predict(fitted, data.x[i]);
      // Truth uses the fold's band: the one the model was trained to predict.
      tDir.push(directionOf(data.ret[i], fitted.band));
      mDir.push(p.direction);
      tRet.push(data.ret[i]);
      mRet.push(p.expectedRet);
    }
    const bDir = tDir.map(() => FLAT);
    const bRet = tRet.map(() => 0);
    all.tDir.push(...tDir);
    all.mDir.push(...mDir);
    all.bDir.push(...bDir);
    all.tRet.push(...tRet);
    all.mRet.push(...mRet);
    results.push({
      ...s,
      trainRows: s.trainEnd,
      testRows: s.testEnd - s.testStart,
      trainFromTs: data.featureTs[0],
      trainToTs: data.featureTs[s.trainEnd - 1],
      testFromTs: data.featureTs[s.testStart],
      testToTs: data.featureTs[s.testEnd - 1],
      bandBp: fitted.bandBp,
      flatShare: tDir.filter((d) => d === FLAT).length / tDir.length,
      model: scores(tDir, mDir, tRet, mRet),
      baseline: scores(tDir, bDir, tRet, bRet),
      fitted,
    });
  }
  const n = all.tDir.length;
  return {
    folds: results,
    overall: {
      rows: n,
      flatShare: all.tDir.filter((d) => d === FLAT).length / n,
      model: scores(all.tDir, all.mDir, all.tRet, all.mRet),
      baseline: scores(all.tDir, all.bDir, all.tRet, all.tRet.map(() => 0)),
    },
  };
}
