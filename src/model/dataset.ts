/**
 * Reading a `btcpipe dataset build` file for training: one row per feature tick with `feature_ts`, the
 * feature columns of feat:{SYM} and the labels `label_mid_price_{H}s` / `label_ret_{H}s`. Everything is
 * checked before any math runs, so a wrong file fails with a sentence naming what is wrong.
 */
import { readFile } from 'node:fs/promises';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { FEATURE_NAMES } from '../core/features.js';

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

/**
 * Model inputs by default: every feature of the vector except the two price levels. A linear model on the
 * level of a random-walk price learns where the price happened to be in the training window, which says
 * nothing about the next 10 s out of sample (and shifts every prediction as the level drifts).
 */
export const DEFAULT_MODEL_FEATURES: readonly string[] = FEATURE_NAMES.filter((f) => f !== 'price' && f !== 'mid_price');

export interface TrainingData {
  /** Horizon of the labels, seconds (from the label column names). */
  horizonS: number;
  features: string[];
  /** Feature tick times, seconds, ascending. */
  featureTs: number[];
  x: number[][];
  /** label_ret_{H}s. */
  ret: number[];
  /** spread_bp of each row (sets the flat band). */
  spreadBp: number[];
  /** Rows dropped because a label was missing or not finite (the last ticks, whose horizon is past the data). */
  droppedUnlabelled: number;
  /** The symbol the file says it holds (key-value metadata `btcpipe.symbol`), if any. */
  symbol: string | null;
}

const LABEL_RE = /^label_ret_(\d+)s$/;

/** The label horizon the file carries: 10 s when present, else the only one. */
export function pickHorizon(columns: readonly string[], wanted?: number): number {
  const horizons = columns.flatMap((c) => {
    const m = LABEL_RE.exec(c);
    return m ? [Number(m[1])] : [];
  });
  if (wanted !== undefined) {
    if (!horizons.includes(wanted)) throw new DatasetError(`dataset has no label_ret_${wanted}s column (labels present: ${horizons.map((h) => `${h}s`).join(', ') || 'none'})`);
    return wanted;
  }
  if (horizons.includes(10)) return 10;
  if (horizons.length === 1) return horizons[0];
  if (horizons.length === 0) throw new DatasetError('dataset has no label column: expected label_ret_10s (build it with `btcpipe dataset build`)');
  throw new DatasetError(`dataset has several label horizons (${horizons.join(', ')} s): choose one with --horizon`);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

/** Columns of a flat Parquet file, in file order. */
export function parquetColumns(file: ArrayBuffer): { columns: string[]; rows: number; kv: Record<string, string> } {
  let meta;
  try {
    meta = parquetMetadata(file);
  } catch (err) {
    throw new DatasetError(`not a Parquet file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const kv: Record<string, string> = {};
  for (const e of meta.key_value_metadata ?? []) if (e.value !== undefined) kv[e.key] = e.value;
  return { columns: meta.schema.slice(1).map((e) => e.name), rows: Number(meta.num_rows), kv };
}

export interface ReadOptions {
  features?: readonly string[];
  horizonS?: number;
}

/** Parse a dataset already in memory (tests, and readDataset below). */
export async function parseDataset(file: ArrayBuffer, opts: ReadOptions = {}): Promise<TrainingData> {
  const { columns, rows, kv } = parquetColumns(file);
  const horizonS = pickHorizon(columns, opts.horizonS);
  const features = [...(opts.features ?? DEFAULT_MODEL_FEATURES)];
  if (features.length === 0) throw new DatasetError('no model features selected');
  const label = `label_ret_${horizonS}s`;
  const needed = [...new Set(['feature_ts', ...features, 'spread_bp', label])];
  const missing = needed.filter((c) => !columns.includes(c));
  if (missing.length > 0) throw new DatasetError(`dataset lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (rows === 0) throw new DatasetError('dataset is empty (0 rows)');
  const objs = (await parquetReadObjects({ file, columns: needed })) as Record<string, unknown>[];
  const raw = objs.map((o, i) => ({
    i,
    ts: toNumber(o.feature_ts),
    x: features.map((f) => toNumber(o[f])),
    ret: toNumber(o[label]),
    spread: toNumber(o.spread_bp),
  }));
  for (const r of raw) {
    if (!Number.isFinite(r.ts)) throw new DatasetError(`row ${r.i}: feature_ts is not a number`);
    const bad = r.x.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new DatasetError(`row ${r.i}: feature ${features[bad]} is not a finite number`);
  }
  // Time order is what walk-forward relies on; a file written out of order is sorted, not trusted.
  raw.sort((a, b) => a.ts - b.ts || a.i - b.i);
  const kept = raw.filter((r) => Number.isFinite(r.ret));
  return {
    horizonS,
    features,
    featureTs: kept.map((r) => r.ts),
    x: kept.map((r) => r.x),
    ret: kept.map((r) => r.ret),
    spreadBp: kept.map((r) => (Number.isFinite(r.spread) ? r.spread : 0)),
    droppedUnlabelled: raw.length - kept.length,
    symbol: kv['btcpipe.symbol'] ?? null,
  };
}

export async function readDataset(path: string, opts: ReadOptions = {}): Promise<TrainingData> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(code === 'ENOENT' ? `dataset ${path} does not exist` : `cannot read dataset ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (bytes.byteLength === 0) throw new DatasetError(`dataset ${path} is an empty file`);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return await parseDataset(file, opts);
  } catch (err) {
    if (err instanceof DatasetError) throw new DatasetError(`${path}: ${err.message}`);
    throw err;
  }
}
