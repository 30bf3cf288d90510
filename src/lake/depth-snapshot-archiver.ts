import type { DepthResponse } from '../binance/rest-types.js';
import { InlineParquetEncoder, type ParquetEncoder } from './parquet-encoder.js';
import { DEFAULT_BRONZE_PREFIX, depthSnapshotKey } from './keys.js';
import type { LakeWriter } from './lake-writer.js';

/** Stores REST depth snapshots (long format) under `depth_snapshots`, one file per update id. */
export class DepthSnapshotArchiver {
  private readonly bronzePrefix: string;
  private readonly encoder: ParquetEncoder;

  constructor(
    private readonly writer: LakeWriter,
    opts: { bronzePrefix?: string; encoder?: ParquetEncoder } = {},
  ) {
    this.bronzePrefix = opts.bronzePrefix ?? DEFAULT_BRONZE_PREFIX;
    this.encoder = opts.encoder ?? new InlineParquetEncoder();
  }

  /** Returns the key written, or undefined for an empty book (nothing to store). */
  async write(symbol: string, depth: DepthResponse, tsMs: number): Promise<string | undefined> {
    if (depth.bids.length + depth.asks.length === 0) return undefined;
    const key = depthSnapshotKey(this.bronzePrefix, symbol, tsMs, depth.lastUpdateId);
    await this.writer.write(key, await this.encoder.depthSnapshot(symbol, depth, tsMs), depth.bids.length + depth.asks.length);
    return key;
  }
}
