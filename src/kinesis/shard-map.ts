import { createHash } from 'node:crypto';

/**
 * Which shard a partition key lands on, predicted the way Kinesis assigns it: the MD5 of the key's UTF-8
 * bytes read as an unsigned 128-bit big-endian integer, inside the open shard whose hash key range
 * [start, end] contains it. Pure: the producer feeds it ListShards results.
 */

/** What the map needs of a ListShards entry (structurally the SDK's `Shard`). */
export interface ShardDescription {
  ShardId?: string;
  HashKeyRange?: { StartingHashKey?: string; EndingHashKey?: string };
  SequenceNumberRange?: { EndingSequenceNumber?: string };
}

export interface ShardRange {
  shardId: string;
  start: bigint;
  end: bigint;
}

export const MAX_HASH_KEY = (1n << 128n) - 1n;

/** The 128-bit hash key Kinesis derives from a partition key. */
export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

export class ShardMap {
  private readonly ranges: readonly ShardRange[];

  /** `ranges` need not be sorted; overlapping ranges (a map caught mid-reshard) are rejected. */
  constructor(ranges: readonly ShardRange[]) {
    const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i];
      if (r.start > r.end || r.start < 0n || r.end > MAX_HASH_KEY) throw new RangeError(`shard ${r.shardId}: bad hash key range`);
      if (i > 0 && sorted[i - 1].end >= r.start) throw new RangeError(`shards ${sorted[i - 1].shardId} and ${r.shardId} overlap`);
    }
    this.ranges = sorted;
  }

  get size(): number {
    return this.ranges.length;
  }

  /** The open shard holding `hash`, or undefined when no range covers it (an incomplete listing). */
  shardOfHash(hash: bigint): string | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (hash < r.start) hi = mid - 1;
      else if (hash > r.end) lo = mid + 1;
      else return r.shardId;
    }
    return undefined;
  }

  shardOf(partitionKey: string): string | undefined {
    return this.shardOfHash(partitionKeyHash(partitionKey));
  }
}

/**
 * The map of a stream's open shards (closed parents of a reshard keep their ranges but take no writes).
 * Undefined when the listing is unusable: no open shard, a malformed range, or overlapping ranges.
 */
export function shardMapOf(shards: readonly ShardDescription[]): ShardMap | undefined {
  const ranges: ShardRange[] = [];
  for (const s of shards) {
    if (s.SequenceNumberRange?.EndingSequenceNumber !== undefined) continue;
    const start = s.HashKeyRange?.StartingHashKey;
    const end = s.HashKeyRange?.EndingHashKey;
    if (s.ShardId === undefined || start === undefined || end === undefined) return undefined;
    if (!/^\d{1,39}$/.test(start) || !/^\d{1,39}$/.test(end)) return undefined;
    ranges.push({ shardId: s.ShardId, start: BigInt(start), end: BigInt(end) });
  }
  if (ranges.length === 0) return undefined;
  try {
    return new ShardMap(ranges);
  } catch {
    return undefined;
  }
}
