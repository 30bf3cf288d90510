/**
 * The baseline predictor: standardization + ridge regression for the H-second log return and a multinomial
 * logistic regression for its direction (down / flat / up), all fitted on the rows handed in and nothing else.
 *
 * The flat band is set from the spread, never from the labels: a move smaller than the spread cannot be
 * traded (crossing it costs the whole spread), so "flat" means |ret| ≤ the 95th percentile of the training
 * rows' spread (as a return). The band is then ≥ the spread on 95% of the training ticks; the top 5% are
 * left out so one crossed or one-sided moment cannot widen it for good.
 */
import { fitRidge, fitSoftmax, fitStandardization, predictRidge, softmaxProbabilities, standardize, type RidgeModel, type SoftmaxModel, type Standardization } from './linear.js';
import { directionOf } from './metrics.js';

export const BAND_SPREAD_QUANTILE = 0.95;
export const DEFAULT_RIDGE_LAMBDA = 0.01;
export const DEFAULT_LOGIT_LAMBDA = 0.01;

export interface BaselineModel {
  features: string[];
  /** The training-spread quantile the band was set at. */
  bandQuantile: number;
  standardization: Standardization;
  ridge: RidgeModel & { lambda: number };
  direction: SoftmaxModel & { lambda: number };
  /** Flat band as a log return (|ret| ≤ band is flat). */
  band: number;
  bandBp: number;
}

export interface FitOptions {
  ridgeLambda?: number;
  logitLambda?: number;
  /** Quantile of the training rows' spread_bp that sets the flat band (default 0.95). */
  bandQuantile?: number;
}

/** The q-quantile (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The flat band from the training rows' spreads (bp): as a log return and in bp. */
export function flatBand(spreadBp: readonly number[], q = BAND_SPREAD_QUANTILE): { band: number; bandBp: number } {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`band quantile must be in [0, 1], got ${q}`);
  const bp = Math.max(0, quantile(spreadBp, q));
  return { bandBp: bp, band: Math.log1p(bp / 10_000) };
}

export function fitBaseline(features: readonly string[], x: readonly (readonly number[])[], ret: readonly number[], spreadBp: readonly number[], opts: FitOptions = {}): BaselineModel {
  const ridgeLambda = opts.ridgeLambda ?? DEFAULT_RIDGE_LAMBDA;
  const logitLambda = opts.logitLambda ?? DEFAULT_LOGIT_LAMBDA;
  const standardization = fitStandardization(x);
  const z = x.map((r) => standardize(standardization, r));
  const bandQuantile = opts.bandQuantile ?? BAND_SPREAD_QUANTILE;
  const { band, bandBp } = flatBand(spreadBp, bandQuantile);
  const ridge = fitRidge(z, ret, ridgeLambda);
  const labels = ret.map((r) => directionOf(r, band));
  const fit = fitSoftmax(z, labels, 3, logitLambda);
  return {
    features: [...features],
    bandQuantile,
    standardization,
    ridge: { ...ridge, lambda: ridgeLambda },
    direction: { intercepts: fit.intercepts, weights: fit.weights, lambda: logitLambda },
    band,
    bandBp,
  };
}

export interface Prediction {
  /** [p_down, p_flat, p_up]. */
  probabilities: number[];
  /** Class index of the most probable direction. */
  direction: number;
  expectedRet: number;
}

export function predict(m: BaselineModel, row: readonly number[]): Prediction {
  const z = standardize(m.standardization, row);
  const probabilities = softmaxProbabilities(m.direction, z);
  let direction = 0;
  for (let c = 1; c < probabilities.length; c++) if (probabilities[c] > probabilities[direction]) direction = c;
  return { probabilities, direction, expectedRet: predictRidge(m.ridge, z) };
}
