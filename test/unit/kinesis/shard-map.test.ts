import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_HASH_KEY, ShardMap, partitionKeyHash, shardMapOf, type ShardRange } from '../../../src/kinesis/shard-map.js';

/** Contiguous ranges covering [0, 2^128 - 1], split at the given (distinct, sorted) points. */
function split(points: bigint[]): ShardRange[] {
  const cuts = [...new Set(points)].filter((p) => p > 0n && p <= MAX_HASH_KEY).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: ShardRange[] = [];
  let start = 0n;
  for (const c of cuts) {
    ranges.push({ shardId: `shardId-${String(ranges.length).padStart(12, '0')}`, start, end: c - 1n });
    start = c;
  }
  ranges.push({ shardId: `shardId-${String(ranges.length).padStart(12, '0')}`, start, end: MAX_HASH_KEY });
  return ranges;
}

const hashKey = fc.bigInt({ min: 0n, max: MAX_HASH_KEY });

describe('partitionKeyHash', () => {
  it('is the MD5 of the key as an unsigned 128-bit big-endian integer', () => {
    // RFC 1321 test vectors.
    expect(partitionKeyHash('')).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    expect(partitionKeyHash('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    expect(partitionKeyHash('abc')).toBe(0x900150983cd24fb0d6963f7d28e17f72n);
  });

  it('hashes the UTF-8 bytes of the key', () => {
    // MD5 of the bytes c3 a9 ('é' in UTF-8; values from Python's hashlib), not of the Latin-1 byte e9.
    expect(partitionKeyHash('é')).toBe(0x66ddcd97cfdeabb2f6fb8a999b4bc76fn);
    expect(partitionKeyHash('é')).not.toBe(0x3406877694691ddd1dfb0aca54681407n);
  });
});

describe('ShardMap', () => {
  it('finds the shard whose range holds the hash, as a brute-force search does (property)', () => {
    fc.assert(
      fc.property(fc.array(hashKey, { maxLength: 30 }), fc.array(hashKey, { minLength: 1, maxLength: 40 }), fc.boolean(), (cuts, hashes, dropOne) => {
        let ranges = split(cuts);
        // A listing missing a shard (mid-reshard) leaves a hole: no prediction there.
        if (dropOne && ranges.length > 1) ranges = ranges.filter((_, i) => i !== hashes.length % ranges.length);
        const shuffled = [...ranges].reverse();
        const map = new ShardMap(shuffled);
        for (const h of [...hashes, ...ranges.flatMap((r) => [r.start, r.end])]) {
          const brute = ranges.find((r) => r.start <= h && h <= r.end)?.shardId;
          expect(map.shardOfHash(h)).toBe(brute);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('predicts a partition key by its MD5', () => {
    const half = 1n << 127n;
    const map = new ShardMap(split([half]));
    for (const key of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'a', 'abc']) {
      expect(map.shardOf(key)).toBe(partitionKeyHash(key) < half ? 'shardId-000000000000' : 'shardId-000000000001');
    }
  });

  it('rejects overlapping or inverted ranges', () => {
    expect(() => new ShardMap([{ shardId: 'a', start: 0n, end: 10n }, { shardId: 'b', start: 10n, end: 20n }])).toThrow(/overlap/);
    expect(() => new ShardMap([{ shardId: 'a', start: 5n, end: 4n }])).toThrow(/range/);
  });
});

describe('shardMapOf (ListShards results)', () => {
  const shard = (id: string, start: bigint, end: bigint, closed = false): object => ({
    ShardId: id,
    HashKeyRange: { StartingHashKey: start.toString(), EndingHashKey: end.toString() },
    SequenceNumberRange: { StartingSequenceNumber: '1', ...(closed ? { EndingSequenceNumber: '9' } : {}) },
  });

  it('keeps only open shards: a closed parent of a split takes no writes', () => {
    const half = 1n << 127n;
    const map = shardMapOf([shard('parent', 0n, MAX_HASH_KEY, true), shard('left', 0n, half - 1n), shard('right', half, MAX_HASH_KEY)]);
    expect(map?.size).toBe(2);
    expect(map?.shardOfHash(0n)).toBe('left');
    expect(map?.shardOfHash(MAX_HASH_KEY)).toBe('right');
  });

  it('gives no map for an unusable listing', () => {
    expect(shardMapOf([])).toBeUndefined();
    expect(shardMapOf([shard('only', 0n, MAX_HASH_KEY, true)])).toBeUndefined();
    expect(shardMapOf([{ ShardId: 'x', HashKeyRange: { StartingHashKey: '0x10', EndingHashKey: '20' } }])).toBeUndefined();
    expect(shardMapOf([{ ShardId: 'x' }])).toBeUndefined();
    expect(shardMapOf([shard('a', 0n, 10n), shard('b', 5n, 20n)])).toBeUndefined();
  });
});
