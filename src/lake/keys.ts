import { assertValidKey, InvalidObjectKeyError } from './object-key.js';

/**
 * Bronze key layout (pure):
 *   {bronze}/{dataset}/symbol={SYM}/date={YYYY-MM-DD}/hour={HH}/{dataset}_{first}_{last}.parquet
 * Names are derived from the content's id range, so writing the same range again replaces the file
 * instead of adding a duplicate.
 */

export const DEFAULT_BRONZE_PREFIX = 'bronze';

export type DatasetName =
  | 'agg_trades'
  | 'klines_1m'
  | 'depth_snapshots'
  | 'depth_diffs'
  | 'trades'
  | 'best_bid_ask'
  | 'depth_snapshot_events'
  | 'reanchors'
  | 'stream_holes';

export interface HourPartition {
  date: string;
  hour: string;
}

/** UTC date and hour of a millisecond timestamp. */
export function hourPartition(tsMs: number): HourPartition {
  const iso = new Date(tsMs).toISOString(); // 2026-11-21T23:05:01.000Z
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Same UTC hour ⇔ same partition. */
export function hourIndex(tsMs: number): number {
  return Math.floor(tsMs / 3_600_000);
}

function checkSymbol(symbol: string): void {
  if (!/^[^/\\\s=]+$/u.test(symbol)) throw new InvalidObjectKeyError(symbol, 'not a usable symbol');
}

/** `{bronze}/{dataset}/symbol={SYM}/` — everything the lake holds for one symbol and dataset. */
export function symbolPrefix(bronzePrefix: string, dataset: DatasetName, symbol: string): string {
  checkSymbol(symbol);
  const base = bronzePrefix.replace(/^\/+|\/+$/g, '');
  return `${base ? `${base}/` : ''}${dataset}/symbol=${symbol}/`;
}

export function partitionPrefix(bronzePrefix: string, dataset: DatasetName, symbol: string, tsMs: number): string {
  const p = hourPartition(tsMs);
  return `${symbolPrefix(bronzePrefix, dataset, symbol)}date=${p.date}/hour=${p.hour}/`;
}

/** Key of a file holding the contiguous id (or open-time) range [first, last] whose rows fall in tsMs's hour. */
export function rangeFileKey(
  bronzePrefix: string,
  dataset: DatasetName,
  symbol: string,
  tsMs: number,
  first: number,
  last: number,
): string {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) {
    throw new InvalidObjectKeyError(`${first}_${last}`, 'range must be safe integers with first ≤ last');
  }
  const key = `${partitionPrefix(bronzePrefix, dataset, symbol, tsMs)}${dataset}_${first}_${last}.parquet`;
  assertValidKey(key);
  return key;
}

/** Key of one depth snapshot; the book at one update id is one file. */
export function depthSnapshotKey(bronzePrefix: string, symbol: string, tsMs: number, lastUpdateId: number): string {
  const key = `${partitionPrefix(bronzePrefix, 'depth_snapshots', symbol, tsMs)}depth_snapshots_${lastUpdateId}.parquet`;
  assertValidKey(key);
  return key;
}

/** The [first, last] range encoded in a range file's name, or undefined for other files. */
export function parseRangeFileKey(dataset: DatasetName, key: string): { first: number; last: number } | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const m = new RegExp(`^${dataset}_(\\d+)_(\\d+)\\.parquet$`).exec(name);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return Number.isSafeInteger(first) && Number.isSafeInteger(last) ? { first, last } : undefined;
}

/** The highest range end among `keys` (the newest archived id / open time), or undefined. */
export function newestRangeEnd(dataset: DatasetName, keys: Iterable<string>): number | undefined {
  let best: number | undefined;
  for (const k of keys) {
    const r = parseRangeFileKey(dataset, k);
    if (r && (best === undefined || r.last > best)) best = r.last;
  }
  return best;
}

/** Key of one `reanchors` row: the reanchor:done entry id (`<ms>-<seq>`) names the file and its hour. */
export function reanchorKey(bronzePrefix: string, symbol: string, entryId: string): string {
  const m = /^(\d+)-(\d+)$/.exec(entryId);
  if (!m) throw new InvalidObjectKeyError(entryId, 'not a stream entry id <ms>-<seq>');
  const key = `${partitionPrefix(bronzePrefix, 'reanchors', symbol, Number(m[1]))}reanchors_${m[1]}-${m[2]}.parquet`;
  assertValidKey(key);
  return key;
}

/** Key of one `stream_holes` row: stream and id range name the file, the event time after the hole its hour. */
export function streamHoleKey(bronzePrefix: string, symbol: string, stream: string, expected: number, got: number, tsMs: number): string {
  if (!/^[A-Za-z]+$/.test(stream)) throw new InvalidObjectKeyError(stream, 'not a stream name');
  const key = `${partitionPrefix(bronzePrefix, 'stream_holes', symbol, tsMs)}stream_holes_${stream}_${expected}_${got}.parquet`;
  assertValidKey(key);
  return key;
}
