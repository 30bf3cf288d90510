import type { DepthResponse } from '../binance/rest-types.js';
import { encodeDepthSnapshot } from './datasets.js';
import { DEFAULT_BRONZE_PREFIX, depthSnapshotKey } from './keys.js';
import type { LakeWriter } from './lake-writer.js';

/** Stores REST depth snapshots (long format) under `depth_snapshots`, one file per update id. */
export class DepthSnapshotArchiver {
  private readonly bronzePrefix: string;

  constructor(
    private readonly writer: LakeWriter,
    opts: { bronzePrefix?: string } = {},
  ) {
    this.bronzePrefix = opts.bronzePrefix ?? DEFAULT_BRONZE_PREFIX;
  }

  /** Returns the key written, or undefined for an empty book (nothing to store). */
  async write(symbol: string, depth: DepthResponse, tsMs: number): Promise<string | undefined> {
    if (depth.bids.length + depth.asks.length === 0) return undefined;
    const key = depthSnapshotKey(this.bronzePrefix, symbol, tsMs, depth.lastUpdateId);
    await this.writer.write(key, encodeDepthSnapshot(symbol, depth, tsMs), depth.bids.length + depth.asks.length);
    return key;
  }
}
