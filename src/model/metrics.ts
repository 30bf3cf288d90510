/** Scores of the walk-forward table and the online scorer: direction macro-F1, accuracy and R². */

export const DIRECTIONS = ['down', 'flat', 'up'] as const;
export type Direction = (typeof DIRECTIONS)[number];
/** Class indices in model order: 0 down, 1 flat, 2 up. */
export const DOWN = 0;
export const FLAT = 1;
export const UP = 2;

/** Direction of a return given the flat band (a move within ±band is flat). */
export function directionOf(ret: number, band: number): number {
  return ret > band ? UP : ret < -band ? DOWN : FLAT;
}

/** 3×3 counts, confusion[truth][predicted]. */
export function confusion(truth: readonly number[], predicted: readonly number[]): number[][] {
  if (truth.length !== predicted.length) throw new RangeError(`${truth.length} labels but ${predicted.length} predictions`);
  const m = [0, 1, 2].map(() => [0, 0, 0]);
  for (let i = 0; i < truth.length; i++) m[truth[i]][predicted[i]]++;
  return m;
}

/**
 * Unweighted mean of the per-class F1 over the classes that occur in the truth or the predictions (a class
 * neither seen nor predicted says nothing either way); a class with no true positives scores 0. NaN for
 * no rows.
 */
export function macroF1FromConfusion(m: readonly (readonly number[])[]): number {
  let sum = 0;
  let classes = 0;
  for (let c = 0; c < m.length; c++) {
    let support = 0;
    let predicted = 0;
    for (let k = 0; k < m.length; k++) {
      support += m[c][k];
      predicted += m[k][c];
    }
    if (support === 0 && predicted === 0) continue;
    classes++;
    const tp = m[c][c];
    sum += tp === 0 ? 0 : (2 * tp) / (support + predicted);
  }
  return classes === 0 ? NaN : sum / classes;
}

export function macroF1(truth: readonly number[], predicted: readonly number[]): number {
  return macroF1FromConfusion(confusion(truth, predicted));
}

export function accuracy(truth: readonly number[], predicted: readonly number[]): number {
  if (truth.length === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) ok++;
  return ok / truth.length;
}

/** 1 − SSE/SST with SST about the mean of the truth; NaN when the truth is constant (or there are no rows). */
export function rSquared(truth: readonly number[], predicted: readonly number[]): number {
  const n = truth.length;
  if (n === 0) return NaN;
  let mean = 0;
  for (const v of truth) mean += v;
  mean /= n;
  let sse = 0;
  let sst = 0;
  let constant = true;
  for (let i = 0; i < n; i++) {
    sse += (truth[i] - predicted[i]) ** 2;
    sst += (truth[i] - mean) ** 2;
    if (truth[i] !== truth[0]) constant = false;
  }
  // Equal values have no variance to explain; the rounding of their mean would leave a tiny sst and an R² of −1e31.
  return sst > 0 && !constant ? 1 - sse / sst : NaN;
}
