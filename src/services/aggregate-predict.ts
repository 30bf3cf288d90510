/**
 * Serving the baseline predictor in the aggregator (config `processing.model_file`): right after a feature
 * vector is written to feat:{SYM}, the model scores that vector and pred:{SYM} is replaced with the direction
 * probabilities and the expected return (same TTL as feat). Each prediction is scored once the symbol's state
 * has seen its horizon pass (see OnlineScore); the running scores are Prometheus metrics and part of
 * /health and /stats, so a model that stops predicting better than persistence shows on the dashboard.
 *
 * Redis writes are serialized and never block the pipeline: while one is in flight, only each symbol's
 * newest prediction waits. A failed write is counted and logged; the next tick writes afresh.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { predict, type BaselineModel } from '../model/baseline.js';
import { baselineFromFile, type ModelFile } from '../model/model-file.js';
import { OnlineScore, type OnlineScoreSnapshot } from '../model/online-score.js';
import { DIRECTIONS } from '../model/metrics.js';
import type { RedisClient } from '../redis/connect.js';
import { symbolKeys, TTL_SECONDS } from '../redis/keys.js';
import type { PipelineHooks } from './aggregate-pipeline.js';

/** pred:{SYM} (with the cluster hash tag when cluster is on, like every key of the symbol). */
export function predKey(symbol: string, cluster: boolean): string {
  return symbolKeys(symbol, { cluster }).pred;
}

/** What the predictor needs of the symbol's state: its newest event time and its as-of mid lookup. */
export interface ScoredState {
  readonly now: number;
  midAt(tsUs: number): number | undefined;
}

export interface PredictionServerOptions {
  model: ModelFile;
  /** Where the model came from (shown in /stats). */
  source?: string;
  cluster?: boolean;
  registry?: Registry;
  logger?: Logger;
}

export interface SymbolPredictionStats extends OnlineScoreSnapshot {
  last: Record<string, string> | null;
}

type ErrorReason = 'write' | 'features';

export class PredictionServer {
  readonly modelId: string;
  private readonly model: BaselineModel;
  private readonly file: ModelFile;
  private readonly horizonS: number;
  private readonly retField: string;
  private readonly cluster: boolean;
  private readonly logger: Logger | undefined;
  private redis: RedisClient | undefined;
  private readonly scores = new Map<string, OnlineScore>();
  private readonly last = new Map<string, Record<string, string>>();
  /** Event time of the newest prediction handed to the scorer, per symbol. */
  private readonly lastScoredTs = new Map<string, number>();
  private readonly waiting = new Map<string, Record<string, string>>();
  private writing: Promise<void> | null = null;
  private readonly errorCounts: Record<ErrorReason, number> = { write: 0, features: 0 };
  private lastErrorLogMs = 0;
  private readonly m: {
    predictions: Counter<'symbol'>;
    scored: Counter<'symbol' | 'result'>;
    expired: Counter<'symbol'>;
    sqErr: Counter<'symbol'>;
    baseSqErr: Counter<'symbol'>;
    macroF1: Gauge<'symbol'>;
    baseMacroF1: Gauge<'symbol'>;
    accuracy: Gauge<'symbol'>;
    errors: Counter<'reason'>;
  } | null;

  constructor(private readonly opts: PredictionServerOptions) {
    this.file = opts.model;
    this.model = baselineFromFile(opts.model);
    this.modelId = opts.model.model_id;
    this.horizonS = opts.model.horizon_seconds;
    this.retField = `expected_ret_${this.horizonS}s`;
    this.cluster = opts.cluster ?? false;
    this.logger = opts.logger;
    const registers = opts.registry ? [opts.registry] : [];
    this.m = opts.registry
      ? {
          predictions: new Counter({ name: 'aggregator_predictions_total', help: 'Predictions written to pred:{SYM}', labelNames: ['symbol'] as const, registers }),
          scored: new Counter({
            name: 'aggregator_predictions_scored_total',
            help: 'Predictions scored once their horizon passed, by whether the direction (down/flat/up) was right',
            labelNames: ['symbol', 'result'] as const,
            registers,
          }),
          expired: new Counter({ name: 'aggregator_predictions_expired_total', help: 'Predictions whose horizon could not be looked up (not scored)', labelNames: ['symbol'] as const, registers }),
          sqErr: new Counter({
            name: 'aggregator_prediction_squared_error_total',
            help: 'Sum of squared errors of the expected return (divide its rate by that of scored predictions for the MSE)',
            labelNames: ['symbol'] as const,
            registers,
          }),
          baseSqErr: new Counter({
            name: 'aggregator_prediction_baseline_squared_error_total',
            help: 'Same sum for persistence (predicting a return of 0)',
            labelNames: ['symbol'] as const,
            registers,
          }),
          macroF1: new Gauge({ name: 'aggregator_prediction_macro_f1', help: 'Direction macro-F1 of the served model since start', labelNames: ['symbol'] as const, registers }),
          baseMacroF1: new Gauge({ name: 'aggregator_prediction_baseline_macro_f1', help: 'Direction macro-F1 of persistence (always flat) over the same predictions', labelNames: ['symbol'] as const, registers }),
          accuracy: new Gauge({ name: 'aggregator_prediction_accuracy', help: 'Share of scored predictions with the right direction since start', labelNames: ['symbol'] as const, registers }),
          errors: new Counter({ name: 'aggregator_prediction_errors_total', help: 'Predictions not written: features missing from the vector, or the Redis write failed', labelNames: ['reason'] as const, registers }),
        }
      : null;
    if (opts.registry) {
      const info = new Gauge({ name: 'aggregator_model_info', help: 'The served model (value 1)', labelNames: ['model_id', 'horizon_seconds'] as const, registers });
      info.set({ model_id: this.modelId, horizon_seconds: String(this.horizonS) }, 1);
    }
  }

  /** Redis for the pred:{SYM} writes (the aggregator's command connection, once it is up). */
  attach(redis: RedisClient | undefined): void {
    this.redis = redis;
  }

  /** The pipeline hook: predict from each feature vector right after it was written. */
  get hooks(): PipelineHooks {
    return {
      onFeaturesWritten: (symbol, feat, state) => {
        // A prediction problem must never fail the projection write that triggered it.
        try {
          this.onFeatures(symbol, feat, state);
        } catch (err) {
          this.error('features', { symbol, err: err instanceof Error ? err.message : String(err) }, 'prediction failed');
        }
      },
    };
  }

  /** Whether the model is served for this symbol (a model trained for one symbol serves only that one). */
  serves(symbol: string): boolean {
    return this.file.symbol === null || this.file.symbol === symbol;
  }

  onFeatures(symbol: string, feat: Readonly<Record<string, string>>, state: ScoredState): void {
    if (!this.serves(symbol)) return;
    let score = this.scores.get(symbol);
    if (!score) {
      score = new OnlineScore(this.horizonS * 1e6, this.model.band);
      this.scores.set(symbol, score);
    }
    for (const r of score.resolve(state.now, (t) => state.midAt(t))) {
      const hit = r.realizedDirection === r.prediction.direction;
      this.m?.scored.inc({ symbol, result: hit ? 'hit' : 'miss' });
      this.m?.sqErr.inc({ symbol }, (r.realizedRet - r.prediction.expectedRet) ** 2);
      this.m?.baseSqErr.inc({ symbol }, r.realizedRet ** 2);
    }
    const row: number[] = [];
    for (const name of this.model.features) {
      const v = Number(feat[name]);
      if (feat[name] === undefined || !Number.isFinite(v)) {
        this.error('features', { symbol, feature: name, value: feat[name] }, 'feature missing from the vector; no prediction');
        return;
      }
      row.push(v);
    }
    const p = predict(this.model, row);
    const eventTsUs = Number(feat.event_ts_us);
    const mid = Number(feat.mid_price);
    // A tick with no new event repeats the last prediction (pred keeps its TTL fresh); scoring it again would
    // weigh quiet spells by their length.
    if (eventTsUs > (this.lastScoredTs.get(symbol) ?? 0) && mid > 0) {
      this.lastScoredTs.set(symbol, eventTsUs);
      score.add({ eventTsUs, mid, direction: p.direction, expectedRet: p.expectedRet });
    }
    const snap = score.snapshot();
    this.m?.predictions.inc({ symbol });
    if (snap.macro_f1 !== null) this.m?.macroF1.set({ symbol }, snap.macro_f1);
    if (snap.baseline_macro_f1 !== null) this.m?.baseMacroF1.set({ symbol }, snap.baseline_macro_f1);
    if (snap.accuracy !== null) this.m?.accuracy.set({ symbol }, snap.accuracy);
    const hash: Record<string, string> = {
      p_down: String(p.probabilities[0]),
      p_flat: String(p.probabilities[1]),
      p_up: String(p.probabilities[2]),
      direction: DIRECTIONS[p.direction],
      [this.retField]: String(p.expectedRet),
      band_bp: String(this.model.bandBp),
      model_id: this.modelId,
      feature_ts: feat.feature_ts ?? '',
      event_ts_us: feat.event_ts_us ?? '',
    };
    this.last.set(symbol, hash);
    this.waiting.set(symbol, hash);
    this.kick();
  }

  private kick(): void {
    if (this.writing || this.waiting.size === 0) return;
    this.writing = this.writeWaiting().finally(() => {
      this.writing = null;
      this.kick();
    });
  }

  private async writeWaiting(): Promise<void> {
    const redis = this.redis;
    const batch = [...this.waiting];
    this.waiting.clear();
    if (!redis) return;
    const multi = redis.multi();
    for (const [symbol, hash] of batch) {
      const key = predKey(symbol, this.cluster);
      // Replace, not merge: a field the model no longer writes must not linger.
      multi.del(key).hset(key, hash).expire(key, TTL_SECONDS.feat);
    }
    try {
      const replies = await multi.exec();
      const failed = replies?.find(([e]) => e);
      if (!replies || failed) throw failed?.[0] ?? new Error('transaction aborted');
    } catch (err) {
      this.error('write', { symbols: batch.map(([s]) => s), err: err instanceof Error ? err.message : String(err) }, 'pred write failed; the next feature tick writes afresh');
    }
  }

  private error(reason: ErrorReason, ctx: Record<string, unknown>, msg: string): void {
    this.errorCounts[reason]++;
    this.m?.errors.inc({ reason });
    const t = Date.now();
    if (t - this.lastErrorLogMs > 10_000) {
      this.lastErrorLogMs = t;
      this.logger?.warn({ ...ctx, reason }, msg);
    }
  }

  /** Resolves once no pred write is in flight or waiting. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  symbolStats(): Record<string, SymbolPredictionStats> {
    const out: Record<string, SymbolPredictionStats> = {};
    for (const [symbol, s] of this.scores) out[symbol] = { ...s.snapshot(), last: this.last.get(symbol) ?? null };
    return out;
  }

  /** For /health (compact) and /stats (with the last prediction per symbol). */
  health(): Record<string, unknown> {
    const symbols: Record<string, unknown> = {};
    for (const [symbol, s] of this.scores) {
      const { scored, accuracy, baseline_accuracy, macro_f1, baseline_macro_f1, mse, baseline_mse, r2 } = s.snapshot();
      symbols[symbol] = { scored, accuracy, baseline_accuracy, macro_f1, baseline_macro_f1, mse, baseline_mse, r2 };
    }
    return {
      status: this.last.size > 0 ? 'serving' : 'waiting',
      model_id: this.modelId,
      horizon_seconds: this.horizonS,
      flat_band_bp: this.model.bandBp,
      errors: { ...this.errorCounts },
      symbols,
    };
  }

  stats(): Record<string, unknown> {
    return {
      model_id: this.modelId,
      model_file: this.opts.source ?? null,
      model_symbol: this.file.symbol,
      horizon_seconds: this.horizonS,
      flat_band_bp: this.model.bandBp,
      features: this.model.features,
      walk_forward: this.file.walk_forward,
      errors: { ...this.errorCounts },
      symbols: this.symbolStats(),
    };
  }
}
