/**
 * Small synthetic training datasets in the `btcpipe dataset build` layout, written with hyparquet-writer:
 * the 10 s return depends linearly on ob_imbalance and vol_imbalance_1s plus noise, so a fitted model has
 * something to find and persistence does not.
 */
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import { FEATURE_NAMES } from '../../../src/core/features.js';

export interface FixtureOptions {
  rows: number;
  seed?: number;
  /** Noise standard deviation of the return (default 2e-4). */
  noise?: number;
  /** Leave these columns out. */
  omit?: readonly string[];
  /** Rows at the end without a label (their horizon is past the data). */
  unlabelledTail?: number;
  /** Written as the key-value metadata btcpipe.symbol, as `btcpipe dataset build` does. */
  symbol?: string;
}

export interface FixtureData {
  columns: Record<string, number[]>;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function fixtureColumns(o: FixtureOptions): FixtureData {
  const rnd = rng(o.seed ?? 1);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const noise = o.noise ?? 2e-4;
  const cols: Record<string, number[]> = { feature_ts: [] };
  for (const f of FEATURE_NAMES) cols[f] = [];
  cols.label_mid_price_10s = [];
  cols.label_ret_10s = [];
  let mid = 60_000;
  for (let i = 0; i < o.rows; i++) {
    cols.feature_ts.push(1_764_000_000 + 2 * i);
    const row: Record<string, number> = {};
    for (const f of FEATURE_NAMES) row[f] = gauss();
    row.mid_price = mid;
    row.price = mid + gauss();
    row.spread_bp = 0.01 + 0.002 * rnd();
    row.volume_1s = Math.abs(row.volume_1s) * 3;
    const ret = 4e-4 * row.ob_imbalance - 2e-4 * row.vol_imbalance_1s + noise * gauss();
    for (const f of FEATURE_NAMES) cols[f].push(row[f]);
    const unlabelled = i >= o.rows - (o.unlabelledTail ?? 0);
    cols.label_ret_10s.push(unlabelled ? NaN : ret);
    cols.label_mid_price_10s.push(unlabelled ? NaN : mid * Math.exp(ret));
    mid *= Math.exp(ret / 5);
  }
  for (const c of o.omit ?? []) delete cols[c];
  return { columns: cols };
}

export function fixtureParquet(o: FixtureOptions): ArrayBuffer {
  const { columns } = fixtureColumns(o);
  const columnData: ColumnSource[] = Object.entries(columns).map(([name, values]) => {
    if (name === 'feature_ts') {
      return { name, data: BigInt64Array.from(values.map((v) => BigInt(v))), type: 'INT64', nullable: false };
    }
    if (name.startsWith('label_')) return { name, data: values.map((v) => (Number.isFinite(v) ? v : null)), type: 'DOUBLE', nullable: true };
    return { name, data: Float64Array.from(values), type: 'DOUBLE', nullable: false };
  });
  return parquetWriteBuffer({ columnData, kvMetadata: o.symbol ? [{ key: 'btcpipe.symbol', value: o.symbol }] : undefined });
}
