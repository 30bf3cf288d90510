import type { DepthResponse, RestAggTrade, RestKline } from '../binance/rest-types.js';
import { EmptyDatasetError, encodeAggTrades, encodeDepthSnapshot, encodeKlines } from './datasets.js';
import type { StreamColumns } from './stream-columns.js';
import { encodeStreamColumns } from './stream-encode.js';

/** One Parquet encoding, as plain data so it can cross a worker_threads boundary (structured clone). */
export type ParquetJob =
  | { kind: 'aggTrades'; symbol: string; rows: readonly RestAggTrade[] }
  | { kind: 'klines'; symbol: string; rows: readonly RestKline[] }
  | { kind: 'depthSnapshot'; symbol: string; depth: DepthResponse; tsMs: number }
  | { kind: 'streamColumns'; columns: StreamColumns };

export function runParquetJob(job: ParquetJob): Uint8Array {
  switch (job.kind) {
    case 'aggTrades':
      return encodeAggTrades(job.symbol, job.rows);
    case 'klines':
      return encodeKlines(job.symbol, job.rows);
    case 'depthSnapshot':
      return encodeDepthSnapshot(job.symbol, job.depth, job.tsMs);
    case 'streamColumns':
      return encodeStreamColumns(job.columns);
  }
}

/** An encoding failure as plain data, and back: EmptyDatasetError keeps its class across the boundary. */
export interface ParquetJobFailure {
  name: string;
  message: string;
  dataset?: string;
}

export function toJobFailure(err: unknown): ParquetJobFailure {
  if (err instanceof EmptyDatasetError) return { name: err.name, message: err.message, dataset: err.dataset };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

export function fromJobFailure(f: ParquetJobFailure): Error {
  if (f.name === 'EmptyDatasetError' && f.dataset !== undefined) return new EmptyDatasetError(f.dataset);
  const err = new Error(`Parquet encoding failed: ${f.message}`);
  err.name = f.name;
  return err;
}
