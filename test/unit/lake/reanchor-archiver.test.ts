import { describe, expect, it } from 'vitest';
import { parquetReadObjects } from 'hyparquet';
import { encodeDepthSnapshot } from '../../../src/lake/datasets.js';
import { encodeStreamRows } from '../../../src/lake/stream-encode.js';
import { depthSnapshotKey } from '../../../src/lake/keys.js';
import { LakeWriter } from '../../../src/lake/lake-writer.js';
import { MemoryObjectStore } from '../../../src/lake/memory-store.js';
import { REANCHOR_CURSOR_KEY, ReanchorArchiver, type ReanchorRedis } from '../../../src/lake/reanchor-archiver.js';

/** reanchor:done and a few string keys, as Redis answers them (XRANGE with an exclusive start). */
function fakeRedis(entries: Array<[string, Record<string, string>]>, strings: Record<string, string>): ReanchorRedis & { strings: Record<string, string> } {
  const cmp = (a: string, b: string): number => {
    const [am, as] = a.split('-').map(Number);
    const [bm, bs] = b.split('-').map(Number);
    return am - bm || as - bs;
  };
  return {
    strings,
    xrange: (_k, start, _end, _c, n) => {
      const after = start.replace('(', '');
      return Promise.resolve(entries.filter(([id]) => cmp(id, after) > 0).slice(0, n).map(([id, f]) => [id, Object.entries(f).flat()]));
    },
    get: (k) => Promise.resolve(strings[k] ?? null),
    set: (k, v) => {
      strings[k] = v;
      return Promise.resolve('OK');
    },
  };
}

const encoder = {
  depthSnapshot: (s: string, d: Parameters<typeof encodeDepthSnapshot>[1], t: number) => Promise.resolve(encodeDepthSnapshot(s, d, t)),
  streamRows: (ds: Parameters<typeof encodeStreamRows>[0], rows: Parameters<typeof encodeStreamRows>[1]) => Promise.resolve(encodeStreamRows(ds, rows)),
};

async function rows(store: MemoryObjectStore, prefix: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const k of await store.list(prefix)) {
    const b = (await store.get(k)) as Uint8Array;
    out.push(...(await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer })));
  }
  return out;
}

describe('ReanchorArchiver', () => {
  it('links the REST mode snapshot file, writes a missing one from Redis, and passes an unreadable or expired snapshot', async () => {
    const t = Date.UTC(2026, 10, 30, 10, 0, 5);
    const store = new MemoryObjectStore();
    const writer = new LakeWriter(store);
    const restFile = depthSnapshotKey('bronze', 'BTCUSDT', t - 10_000, 7);
    await writer.write(restFile, encodeDepthSnapshot('BTCUSDT', { lastUpdateId: 7, bids: [['1.0', '1']], asks: [] }, t - 10_000), 1);
    const redis = fakeRedis(
      [
        [`${t}-0`, { symbol: 'BTCUSDT', last_update_id: '7', snapshot_key: 'ob:snapshot:BTCUSDT:a' }],
        [`${t + 1}-0`, { symbol: 'BTCUSDT', last_update_id: '9', snapshot_key: 'ob:snapshot:BTCUSDT:b' }],
        [`${t + 2}-0`, { symbol: 'BTCUSDT', last_update_id: '11', snapshot_key: 'ob:snapshot:BTCUSDT:c' }],
        [`${t + 3}-0`, { symbol: 'BTCUSDT', last_update_id: '12', snapshot_key: 'ob:snapshot:BTCUSDT:gone' }],
        [`${t + 60_000}-0`, { symbol: 'BTCUSDT', last_update_id: '13', snapshot_key: 'ob:snapshot:BTCUSDT:d' }],
      ],
      {
        'ob:snapshot:BTCUSDT:a': JSON.stringify({ lastUpdateId: 7, bids: [['1.0', '1']], asks: [['2.0', '3']] }),
        'ob:snapshot:BTCUSDT:b': JSON.stringify({ lastUpdateId: 9, bids: [['1.5', '2.00']], asks: [] }),
        'ob:snapshot:BTCUSDT:c': '{not json',
      },
    );
    const a = new ReanchorArchiver({ redis, writer, encoder, graceMs: 30_000, now: () => t + 40_000 });
    expect(await a.poll()).toEqual({ archived: 4, missingSnapshots: 2 });
    // The entry younger than the grace waits for the next poll.
    expect(redis.strings[REANCHOR_CURSOR_KEY]).toBe(`${t + 3}-0`);
    const r = await rows(store, 'bronze/reanchors/');
    expect(r.map((x) => [Number(x.last_update_id), x.snapshot_file, x.bid_levels])).toEqual([
      [7, restFile, 1],
      [9, depthSnapshotKey('bronze', 'BTCUSDT', t + 1, 9), 1],
      [11, null, null],
      [12, null, null],
    ]);
    const levels = await rows(store, 'bronze/depth_snapshots/');
    expect(levels.filter((l) => Number(l.last_update_id) === 9).map((l) => [l.side, l.price, l.qty])).toEqual([['bid', '1.5', '2.00']]);
    expect(await a.poll()).toEqual({ archived: 0, missingSnapshots: 0 });
  });
});
