/**
 * Columns of a `btcpipe dataset build` file: one row per feature tick the aggregator served (every
 * feature_update_interval_seconds), the feature vector exactly as feat:{SYM} carried it, and the labels.
 *
 * Types: every numeric column is DOUBLE (all ids and times involved are below 2^53, so exact), `symbol` and
 * `run_id` are STRING. Feature columns are never null. Label columns are null for the last rows of a range
 * whose horizon reaches past the data the lake holds (nothing is guessed).
 *
 * Labels are event time, like the ret_* features looking back: `label_mid_price_{H}s` is the mid the replayed
 * book had at event time `event_ts_us + H` (the last mid at or before that instant, as the aggregator's own
 * mid history would have it), `label_ret_{H}s` = ln(label_mid / mid_price), i.e. the ret_{H}s the aggregator
 * serves H seconds later.
 */
import { FEATURE_NAMES, type FeatureName } from '../core/features.js';

export const DATASET_SCHEMA_VERSION = '1';

/** The feature vector's own names, as in feat:{SYM} (all DOUBLE, never null). */
export const DATASET_FEATURES: readonly FeatureName[] = FEATURE_NAMES;

/** Tick metadata, as in feat:{SYM} except feature_wall_ms (the exact wall clock, ms) and the run. */
export const DATASET_META_COLUMNS = ['feature_ts', 'feature_wall_ms', 'event_ts_us', 'data_age_ms', 'completeness'] as const;

export const DEFAULT_HORIZON_SECONDS = 10;

export interface LabelColumns {
  /** label_mid_price_{H}s */
  mid: string;
  /** label_ret_{H}s */
  ret: string;
  /** label_ts_us_{H}s: event time of the mid the label took (as-of lookup), µs */
  ts: string;
}

/** Label column names for a horizon in whole seconds (10 → label_mid_price_10s, label_ret_10s). */
export function labelColumns(horizonSeconds: number = DEFAULT_HORIZON_SECONDS): LabelColumns {
  if (!Number.isSafeInteger(horizonSeconds) || horizonSeconds <= 0) {
    throw new RangeError(`horizon must be a positive whole number of seconds, got ${String(horizonSeconds)}`);
  }
  return { mid: `label_mid_price_${horizonSeconds}s`, ret: `label_ret_${horizonSeconds}s`, ts: `label_ts_us_${horizonSeconds}s` };
}

/** Every column of a dataset file, in file order. */
export function datasetColumns(horizonSeconds: number = DEFAULT_HORIZON_SECONDS): string[] {
  const l = labelColumns(horizonSeconds);
  return ['symbol', 'run_id', ...DATASET_META_COLUMNS, ...DATASET_FEATURES, l.mid, l.ret, l.ts];
}

/** One row as the builder produces it (and as a reader gets it back). */
export interface DatasetRow {
  symbol: string;
  /** Which aggregator run served the tick (a restart starts a new run with fresh state). */
  run_id: string;
  /** Whole wall-clock seconds, as feat:{SYM}.feature_ts. */
  feature_ts: number;
  feature_wall_ms: number;
  event_ts_us: number;
  data_age_ms: number;
  completeness: number;
  features: Record<FeatureName, number>;
  label_mid: number | null;
  label_ret: number | null;
  label_ts_us: number | null;
}

/** kv-metadata keys written into every dataset file. */
export const DATASET_KV = {
  dataset: 'btcpipe.dataset',
  schemaVersion: 'btcpipe.dataset_schema_version',
  symbol: 'btcpipe.symbol',
  from: 'btcpipe.from',
  to: 'btcpipe.to',
  horizon: 'btcpipe.horizon_seconds',
} as const;
