/**
 * `btcpipe dataset build` minus the CLI: the served ticks of [from, to) from the lake's served-feature log,
 * the archived stream from where each of their aggregator runs began, the re-anchor snapshots they used,
 * replayed through the core (rebuild.ts) into rows, and the rows as one Parquet file.
 *
 * hyparquet / hyparquet-writer rather than DuckDB: the replay must run the same TypeScript core the aggregator
 * runs, so SQL could only list partitions and do the as-of label lookup — a binary search over the replay's
 * own mid series — and both libraries are already dependencies that read and write the lake (folder and S3)
 * through the same ObjectStore, with no native module to install.
 */
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import type { ObjectStore } from '../lake/object-store.js';
import { partitionHour, readServedEntries, readStreamEvents, SnapshotCatalog, symbolKnown } from './lake-source.js';
import { servedPrefix } from './served-archive.js';
import { rebuildServedFeatures, type ParityStats } from './rebuild.js';
import { DATASET_FEATURES, DATASET_KV, DATASET_SCHEMA_VERSION, labelColumns, type DatasetRow } from './schema.js';

export class DatasetRangeError extends Error {
  override readonly name = 'DatasetRangeError';
}

export interface BuildOptions {
  store: ObjectStore;
  bronzePrefix: string;
  symbol: string;
  fromMs: number;
  toMs: number;
  horizonSeconds: number;
  maxBufferedDiffs?: number;
  /** One progress line (stderr in the CLI). */
  progress?(line: string): void;
}

export interface BuildSummary {
  symbol: string;
  from: string;
  to: string;
  rows: number;
  labelled: number;
  runs: number;
  /** Runs replayed from a later re-anchor because the lake lacks their beginning (see rebuild.ts). */
  warm_starts: number;
  /** In-range ticks left out: less than 10 s after such a warm start. */
  warmup_skipped: number;
  events_replayed: number;
  lake_files: number;
  parity: ParityStats;
  seconds: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function buildDataset(o: BuildOptions): Promise<{ rows: DatasetRow[]; summary: BuildSummary }> {
  const t0 = performance.now();
  const say = o.progress ?? (() => undefined);
  if (!(o.fromMs < o.toMs)) throw new DatasetRangeError(`--from ${iso(o.fromMs)} must be before --to ${iso(o.toMs)}`);
  if (!(await symbolKnown(o.store, o.bronzePrefix, o.symbol))) {
    throw new DatasetRangeError(`the lake (${o.store.describe()}, ${o.bronzePrefix}/) has no data for ${o.symbol}`);
  }
  const inRange = (await readServedEntries(o.store, o.bronzePrefix, o.symbol, o.fromMs, o.toMs)).filter(
    (e) => e.kind === 'feat' && e.wall_ms >= o.fromMs && e.wall_ms < o.toMs,
  );
  if (inRange.length === 0) {
    const hours = (await o.store.list(servedPrefix(o.bronzePrefix, o.symbol))).map(partitionHour).filter((h): h is number => h !== undefined);
    const cover = hours.length ? `it holds ${iso(Math.min(...hours) * 3_600_000)} .. ${iso((Math.max(...hours) + 1) * 3_600_000)}` : 'it holds none';
    throw new DatasetRangeError(`the lake has no served features of ${o.symbol} in ${iso(o.fromMs)} .. ${iso(o.toMs)} (${cover})`);
  }
  const runs = new Set(inRange.map((e) => e.run));
  const startUs = Math.min(...inRange.map((e) => e.cut.firstTs));
  // The whole of each run up to the range's end: its re-anchors before `from` shaped the book too.
  const entries = (await readServedEntries(o.store, o.bronzePrefix, o.symbol, Math.floor(startUs / 1000), o.toMs)).filter(
    (e) => runs.has(e.run) && e.wall_ms < o.toMs,
  );
  const lastUs = Math.max(...inRange.map((e) => e.event_ts_us));
  const untilUs = lastUs + o.horizonSeconds * 1e6 + 60e6;
  say(`${o.symbol}: ${inRange.length} served ticks in range from ${runs.size} aggregator run(s); reading the stream from ${iso(startUs / 1000)}`);
  const read = await readStreamEvents(o.store, o.bronzePrefix, o.symbol, startUs, untilUs, (done, total) => {
    if (done % 20 === 0 || done === total) say(`lake files read ${done}/${total}`);
  });
  if (read.events.length === 0) throw new DatasetRangeError(`the lake has no archived events of ${o.symbol} in ${iso(startUs / 1000)} .. ${iso(untilUs / 1000)}`);
  if (read.newestUs < lastUs) {
    throw new DatasetRangeError(
      `the lake's stream of ${o.symbol} ends at ${iso(read.newestUs / 1000)}, before the last served tick of the range (${iso(lastUs / 1000)}); archive further or narrow --to`,
    );
  }
  say(`${read.events.length} events from ${read.files} files; replaying`);
  const snaps = new SnapshotCatalog(o.store, o.bronzePrefix, o.symbol);
  await snaps.load(entries.filter((e) => e.kind === 'anchor').map((e) => e.cut.anchorId));
  let lastPct = -1;
  const result = rebuildServedFeatures({
    symbol: o.symbol,
    events: read.events,
    entries,
    snapshot: (id) => snaps.get(id),
    fromMs: o.fromMs,
    toMs: o.toMs,
    horizonSeconds: o.horizonSeconds,
    maxBufferedDiffs: o.maxBufferedDiffs,
    onProgress: (done, total) => {
      const pct = Math.floor((done / Math.max(1, total)) * 10) * 10;
      if (pct !== lastPct) {
        lastPct = pct;
        say(`replay ${pct}% (${done}/${total} log entries)`);
      }
    },
  });
  const summary: BuildSummary = {
    symbol: o.symbol,
    from: iso(o.fromMs),
    to: iso(o.toMs),
    rows: result.rows.length,
    labelled: result.rows.filter((r) => r.label_mid !== null).length,
    runs: result.runs,
    warm_starts: result.warmStarts,
    warmup_skipped: result.warmupSkipped,
    events_replayed: result.eventsApplied,
    lake_files: read.files,
    parity: result.parity,
    seconds: Math.round((performance.now() - t0) / 10) / 100,
  };
  return { rows: result.rows, summary };
}

/** Rows as a Parquet file (columns of schema.ts, in its order). */
export function encodeDataset(rows: readonly DatasetRow[], meta: { symbol: string; fromMs: number; toMs: number; horizonSeconds: number }): Uint8Array {
  if (rows.length === 0) throw new DatasetRangeError('no rows to write');
  const l = labelColumns(meta.horizonSeconds);
  const dbl = (name: string, f: (r: DatasetRow) => number): ColumnSource => ({ name, type: 'DOUBLE', nullable: false, data: Float64Array.from(rows, f) });
  const optDbl = (name: string, f: (r: DatasetRow) => number | null): ColumnSource => ({ name, type: 'DOUBLE', nullable: true, data: rows.map(f) });
  const str = (name: string, f: (r: DatasetRow) => string): ColumnSource => ({ name, type: 'STRING', nullable: false, data: rows.map(f) });
  const columnData: ColumnSource[] = [
    str('symbol', (r) => r.symbol),
    str('run_id', (r) => r.run_id),
    dbl('feature_ts', (r) => r.feature_ts),
    dbl('feature_wall_ms', (r) => r.feature_wall_ms),
    dbl('event_ts_us', (r) => r.event_ts_us),
    dbl('data_age_ms', (r) => r.data_age_ms),
    dbl('completeness', (r) => r.completeness),
    ...DATASET_FEATURES.map((n) => dbl(n, (r) => r.features[n])),
    optDbl(l.mid, (r) => r.label_mid),
    optDbl(l.ret, (r) => r.label_ret),
    optDbl(l.ts, (r) => r.label_ts_us),
  ];
  const buf = parquetWriteBuffer({
    columnData,
    kvMetadata: [
      { key: DATASET_KV.dataset, value: 'features' },
      { key: DATASET_KV.schemaVersion, value: DATASET_SCHEMA_VERSION },
      { key: DATASET_KV.symbol, value: meta.symbol },
      { key: DATASET_KV.from, value: iso(meta.fromMs) },
      { key: DATASET_KV.to, value: iso(meta.toMs) },
      { key: DATASET_KV.horizon, value: String(meta.horizonSeconds) },
    ],
    createdBy: 'btcpipe dataset build',
  });
  return new Uint8Array(buf);
}
