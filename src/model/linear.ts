/**
 * The baseline models: standardization, ridge regression and multinomial (softmax) logistic regression with
 * an L2 penalty. Pure functions of the rows they are given — which rows is the caller's (walk-forward) job.
 */
import { dot, LinalgError, solveSpd } from './linalg.js';

export type Matrix = readonly (readonly number[])[];

export interface Standardization {
  mean: number[];
  std: number[];
}

/** Per-column mean and population standard deviation; a constant column gets std 1 (it standardizes to 0). */
export function fitStandardization(x: Matrix): Standardization {
  const n = x.length;
  if (n === 0) throw new LinalgError('cannot standardize zero rows');
  const d = x[0].length;
  const mean = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) mean[j] += row[j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const std = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) std[j] += (row[j] - mean[j]) ** 2;
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] / n);
    // Relative threshold: a column that only carries rounding noise around its mean is constant.
    std[j] = s > 1e-12 * Math.max(1, Math.abs(mean[j])) ? s : 1;
  }
  return { mean, std };
}

export function standardize(s: Standardization, row: readonly number[]): number[] {
  const out = new Array<number>(row.length);
  for (let j = 0; j < row.length; j++) out[j] = (row[j] - s.mean[j]) / s.std[j];
  return out;
}

export interface RidgeModel {
  intercept: number;
  weights: number[];
}

/**
 * argmin_w,b (1/n)·Σ(yᵢ − b − xᵢ·w)² + λ‖w‖² (the intercept is not penalized). Solved in closed form on
 * centred data: (XcᵀXc/n + λI)·w = Xcᵀyc/n, b = ȳ − x̄·w.
 */
export function fitRidge(x: Matrix, y: readonly number[], lambda: number): RidgeModel {
  const n = x.length;
  if (n === 0 || y.length !== n) throw new LinalgError(`ridge needs matching non-empty X and y (${n} rows, ${y.length} targets)`);
  if (!(lambda >= 0)) throw new LinalgError(`ridge lambda must be >= 0, got ${lambda}`);
  const d = x[0].length;
  const xm = new Array<number>(d).fill(0);
  let ym = 0;
  for (let i = 0; i < n; i++) {
    ym += y[i];
    for (let j = 0; j < d; j++) xm[j] += x[i][j];
  }
  ym /= n;
  for (let j = 0; j < d; j++) xm[j] /= n;
  const a: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const b = new Array<number>(d).fill(0);
  const c = new Array<number>(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = x[i][j] - xm[j];
    const yc = y[i] - ym;
    for (let j = 0; j < d; j++) {
      b[j] += c[j] * yc;
      const cj = c[j];
      for (let k = 0; k <= j; k++) a[j][k] += cj * c[k];
    }
  }
  for (let j = 0; j < d; j++) {
    b[j] /= n;
    for (let k = 0; k <= j; k++) {
      a[j][k] /= n;
      a[k][j] = a[j][k];
    }
    // A tiny floor keeps the solve defined for lambda = 0 with a constant column; it is far below any
    // penalty that changes a fit on standardized data.
    a[j][j] += lambda + 1e-12;
  }
  const weights = solveSpd(a, b);
  return { intercept: ym - dot(xm, weights), weights };
}

export function predictRidge(m: RidgeModel, row: readonly number[]): number {
  return m.intercept + dot(m.weights, row);
}

export interface SoftmaxModel {
  /** One intercept per class. */
  intercepts: number[];
  /** One weight vector per class. */
  weights: number[][];
}

export interface SoftmaxFit extends SoftmaxModel {
  iterations: number;
  converged: boolean;
  /** Final value of the penalized mean cross-entropy. */
  loss: number;
}

/** Class probabilities (numerically stable: the largest score is subtracted before exponentiating). */
export function softmaxProbabilities(m: SoftmaxModel, row: readonly number[]): number[] {
  const k = m.intercepts.length;
  const z = new Array<number>(k);
  let max = -Infinity;
  for (let c = 0; c < k; c++) {
    z[c] = m.intercepts[c] + dot(m.weights[c], row);
    if (z[c] > max) max = z[c];
  }
  let s = 0;
  for (let c = 0; c < k; c++) {
    z[c] = Math.exp(z[c] - max);
    s += z[c];
  }
  for (let c = 0; c < k; c++) z[c] /= s;
  return z;
}

/** Penalty on intercepts: enough to keep the Newton system definite when a class never occurs (its intercept
 *  would otherwise run to −∞), too small to move any real fit. */
const INTERCEPT_PENALTY = 1e-6;

function softmaxLoss(x: Matrix, y: readonly number[], m: SoftmaxModel, lambda: number): number {
  let loss = 0;
  for (let i = 0; i < x.length; i++) loss -= Math.log(Math.max(softmaxProbabilities(m, x[i])[y[i]], 1e-300));
  loss /= x.length;
  for (let c = 0; c < m.weights.length; c++) {
    loss += lambda * dot(m.weights[c], m.weights[c]) + INTERCEPT_PENALTY * m.intercepts[c] ** 2;
  }
  return loss;
}

/**
 * Sums over the rows of the gradient (gf) and of the lower block triangle of the Hessian (hf, size² with
 * size = classes·p) of the unpenalized cross-entropy at theta. Kept apart, on flat typed arrays, so the
 * engine optimizes this O(n·classes²·p²) loop early: inline in fitSoftmax it ran unoptimized, boxing every
 * double, 10–100× slower.
 */
function accumulateNewton(xf: Float64Array, yf: Int32Array, n: number, p: number, classes: number, theta: Float64Array, gf: Float64Array, hf: Float64Array): void {
  const size = classes * p;
  hf.fill(0);
  gf.fill(0);
  const pr = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    const xo = i * p;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let zc = 0;
      const to = c * p;
      for (let j = 0; j < p; j++) zc += theta[to + j] * xf[xo + j];
      pr[c] = zc;
      if (zc > max) max = zc;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      pr[c] = Math.exp(pr[c] - max);
      sum += pr[c];
    }
    for (let c = 0; c < classes; c++) pr[c] /= sum;
    const yi = yf[i];
    for (let c = 0; c < classes; c++) {
      const r = pr[c] - (yi === c ? 1 : 0);
      const gb = c * p;
      for (let j = 0; j < p; j++) gf[gb + j] += r * xf[xo + j];
      for (let e = 0; e <= c; e++) {
        const wce = pr[c] * ((c === e ? 1 : 0) - pr[e]);
        if (wce === 0) continue;
        for (let j = 0; j < p; j++) {
          const base = (c * p + j) * size + e * p;
          const v = wce * xf[xo + j];
          for (let k = 0; k < p; k++) hf[base + k] += v * xf[xo + k];
        }
      }
    }
  }
}

/**
 * Multinomial logistic regression: argmin (1/n)·Σ −log p(yᵢ | xᵢ) + λ·Σ_c ‖w_c‖², by Newton's method with
 * backtracking (the problem is strictly convex with the penalty, so this converges in a handful of steps
 * without a learning rate to tune). Labels are class indices 0..classes−1.
 */
export function fitSoftmax(
  x: Matrix,
  y: readonly number[],
  classes: number,
  lambda: number,
  opts: { maxIterations?: number; tolerance?: number } = {},
): SoftmaxFit {
  const n = x.length;
  if (n === 0 || y.length !== n) throw new LinalgError(`logistic regression needs matching non-empty X and y (${n} rows, ${y.length} labels)`);
  if (!(lambda > 0)) throw new LinalgError(`logistic lambda must be > 0, got ${lambda}`);
  for (const c of y) if (!Number.isInteger(c) || c < 0 || c >= classes) throw new LinalgError(`label ${c} is not a class index in 0..${classes - 1}`);
  const d = x[0].length;
  const p = d + 1;
  const size = classes * p;
  const maxIt = opts.maxIterations ?? 50;
  const tol = opts.tolerance ?? 1e-9;
  let m: SoftmaxModel = { intercepts: new Array<number>(classes).fill(0), weights: Array.from({ length: classes }, () => new Array<number>(d).fill(0)) };
  let loss = softmaxLoss(x, y, m, lambda);
  const idx = (c: number, j: number): number => c * p + j; // j = 0 is the intercept
  const xf = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    xf[i * p] = 1;
    for (let j = 0; j < d; j++) xf[i * p + j + 1] = x[i][j];
  }
  const yf = Int32Array.from(y);
  const hf = new Float64Array(size * size);
  const gf = new Float64Array(size);
  const theta = new Float64Array(size);
  for (let it = 1; it <= maxIt; it++) {
    for (let c = 0; c < classes; c++) {
      theta[idx(c, 0)] = m.intercepts[c];
      for (let j = 0; j < d; j++) theta[idx(c, j + 1)] = m.weights[c][j];
    }
    accumulateNewton(xf, yf, n, p, classes, theta, gf, hf);
    const g = new Array<number>(size);
    let gmax = 0;
    for (let c = 0; c < classes; c++) {
      for (let j = 0; j < p; j++) {
        const q = idx(c, j);
        const pen = j === 0 ? INTERCEPT_PENALTY : lambda;
        const wv = j === 0 ? m.intercepts[c] : m.weights[c][j - 1];
        g[q] = gf[q] / n + 2 * pen * wv;
        gmax = Math.max(gmax, Math.abs(g[q]));
      }
    }
    if (gmax < tol) return { ...m, iterations: it - 1, converged: true, loss };
    const h: number[][] = Array.from({ length: size }, () => new Array<number>(size).fill(0));
    for (let a = 0; a < size; a++) {
      for (let b = 0; b <= a; b++) {
        // Only blocks with e <= c were accumulated, so entry (a, b) with b <= a holds the sum: mirror it.
        const v = hf[a * size + b] / n;
        h[a][b] = v;
        h[b][a] = v;
      }
      h[a][a] += 2 * (a % p === 0 ? INTERCEPT_PENALTY : lambda);
    }
    const step = solveSpd(h, g);
    let t = 1;
    let next: SoftmaxModel = m;
    let nextLoss = loss;
    for (let tries = 0; tries < 30; tries++) {
      next = {
        intercepts: m.intercepts.map((v, c) => v - t * step[idx(c, 0)]),
        weights: m.weights.map((w, c) => w.map((v, j) => v - t * step[idx(c, j + 1)])),
      };
      nextLoss = softmaxLoss(x, y, next, lambda);
      if (nextLoss <= loss) break;
      t /= 2;
    }
    if (!(nextLoss <= loss)) return { ...m, iterations: it, converged: false, loss };
    const improved = loss - nextLoss;
    m = next;
    loss = nextLoss;
    if (improved < 1e-15) return { ...m, iterations: it, converged: true, loss };
  }
  return { ...m, iterations: maxIt, converged: false, loss };
}
