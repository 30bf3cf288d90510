/**
 * Online scoring of served predictions: a prediction made at event time t is scored once the symbol's
 * state has seen event time t + H, against the mid the state had at t + H (as-of) — the same rule the
 * dataset's label follows, so the online score and the walk-forward table measure one thing.
 *
 * Running totals since the start of the run: direction confusion (macro-F1, accuracy, with the band the
 * model was trained with), squared error of the expected return, and the same for persistence (flat, 0).
 */
import { directionOf, FLAT, macroF1FromConfusion } from './metrics.js';

export interface PendingPrediction {
  eventTsUs: number;
  mid: number;
  direction: number;
  expectedRet: number;
}

export interface OnlineScoreSnapshot {
  predictions: number;
  scored: number;
  pending: number;
  /** Predictions whose horizon could no longer be looked up (the state's mid history had moved past it). */
  expired: number;
  accuracy: number | null;
  /** Accuracy of persistence (always flat): the share of flat outcomes. */
  baseline_accuracy: number | null;
  macro_f1: number | null;
  baseline_macro_f1: number | null;
  mse: number | null;
  baseline_mse: number | null;
  /** 1 − SSE/SST of the expected return over the scored predictions. */
  r2: number | null;
}

export interface Resolved {
  prediction: PendingPrediction;
  realizedRet: number;
  realizedDirection: number;
}


/** Longest horizon overshoot still looked up: the state keeps its mid history about 10 s behind its newest event. */
const MAX_LOOKUP_LAG_US = 10_000_000;

export class OnlineScore {
  private readonly pending: PendingPrediction[] = [];
  private readonly conf = [0, 1, 2].map(() => [0, 0, 0]);
  private readonly confBase = [0, 1, 2].map(() => [0, 0, 0]);
  private made = 0;
  private n = 0;
  private expiredCount = 0;
  private sse = 0;
  private sseBase = 0;
  /** Welford running mean and sum of squared deviations of the realized return (SST without cancellation). */
  private meanRet = 0;
  private m2Ret = 0;
  private firstRet = 0;
  /** Some scored return differs from the first (else R² is undefined, whatever rounding leaves in m2Ret). */
  private retsVary = false;

  constructor(
    readonly horizonUs: number,
    readonly band: number,
    /** Bound on predictions awaiting their horizon (a stalled symbol must not grow this without end). */
    private readonly maxPending = 1000,
  ) {}

  add(p: PendingPrediction): void {
    this.made++;
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.expiredCount++;
    }
    this.pending.push(p);
  }

  /**
   * Score every prediction whose horizon the state has reached (`nowUs` = its newest event time); `midAt`
   * is the state's as-of mid lookup. Returns what was scored.
   */
  resolve(nowUs: number, midAt: (tsUs: number) => number | undefined): Resolved[] {
    const out: Resolved[] = [];
    while (this.pending.length > 0 && this.pending[0].eventTsUs + this.horizonUs <= nowUs) {
      const p = this.pending.shift() as PendingPrediction;
      const target = p.eventTsUs + this.horizonUs;
      const mid = nowUs - target <= MAX_LOOKUP_LAG_US ? midAt(target) : undefined;
      if (mid === undefined || !(mid > 0) || !(p.mid > 0)) {
        this.expiredCount++;
        continue;
      }
      const ret = Math.log(mid / p.mid);
      const dir = directionOf(ret, this.band);
      this.conf[dir][p.direction]++;
      this.confBase[dir][FLAT]++;
      this.n++;
      this.sse += (ret - p.expectedRet) ** 2;
      this.sseBase += ret ** 2;
      if (this.n === 1) this.firstRet = ret;
      else if (ret !== this.firstRet) this.retsVary = true;
      const delta = ret - this.meanRet;
      this.meanRet += delta / this.n;
      this.m2Ret += delta * (ret - this.meanRet);
      out.push({ prediction: p, realizedRet: ret, realizedDirection: dir });
    }
    return out;
  }

  snapshot(): OnlineScoreSnapshot {
    const n = this.n;
    let hits = 0;
    for (let c = 0; c < 3; c++) hits += this.conf[c][c];
    const flatHits = this.confBase[FLAT][FLAT];
    const sst = this.m2Ret;
    const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
    return {
      predictions: this.made,
      scored: n,
      pending: this.pending.length,
      expired: this.expiredCount,
      accuracy: n > 0 ? hits / n : null,
      baseline_accuracy: n > 0 ? flatHits / n : null,
      macro_f1: num(macroF1FromConfusion(this.conf)),
      baseline_macro_f1: num(macroF1FromConfusion(this.confBase)),
      mse: n > 0 ? this.sse / n : null,
      baseline_mse: n > 0 ? this.sseBase / n : null,
      // As rSquared: returns that are all equal have no variance to explain (R² undefined).
      r2: n > 0 && sst > 0 && this.retsVary ? 1 - this.sse / sst : null,
    };
  }
}
