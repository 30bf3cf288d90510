import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { FolderObjectStore, InvalidObjectKeyError, S3ObjectStore, type ObjectStore } from '../../../src/lake/object-store.js';
import { startS3rver, type RunningS3rver } from './s3rver-process.js';
import { uniqueSuffix } from '../../support/servers.js';
import { LakeWriter } from '../../../src/lake/lake-writer.js';
import { DepthSnapshotArchiver } from '../../../src/lake/depth-snapshot-archiver.js';
import { readParquetWithArrow } from '../../unit/lake/arrow-read.js';

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'btcpipe-lake-'));
  tmpDirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function roundTrip(store: ObjectStore): Promise<void> {
  const a = 'bronze/agg_trades/symbol=BTCUSDT/date=2026-11-21/hour=23/agg_trades_1_10.parquet';
  const b = 'bronze/agg_trades/symbol=BTCUSDT/date=2026-11-21/hour=22/agg_trades_0_0.parquet';
  const c = 'bronze/klines_1m/symbol=BTCUSDT/date=2026-11-21/hour=23/klines_1m_1_1.parquet';
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  await store.put(a, bytes);
  await store.put(b, new Uint8Array([9]));
  await store.put(c, new Uint8Array([]));
  expect(await store.get(a)).toEqual(bytes);
  expect(await store.get(c)).toEqual(new Uint8Array([]));
  expect(await store.get('bronze/nope.parquet')).toBeUndefined();
  expect(await store.list('bronze/agg_trades/symbol=BTCUSDT/')).toEqual([b, a]);
  expect(await store.list('bronze/agg_trades/symbol=BTCUSDT/date=2026-11-21/hour=2')).toEqual([b, a]);
  expect(await store.list('bronze/')).toEqual([b, a, c]);
  expect(await store.list('bronze/klines_1m/symbol=ETHUSDT/')).toEqual([]);
  // Same key replaces.
  await store.put(a, new Uint8Array([7, 7]));
  expect(await store.get(a)).toEqual(new Uint8Array([7, 7]));
  expect(await store.list('bronze/agg_trades/')).toHaveLength(2);
  await expect(store.put('../escape', bytes)).rejects.toBeInstanceOf(InvalidObjectKeyError);
  await expect(store.put('/abs/key', bytes)).rejects.toBeInstanceOf(InvalidObjectKeyError);
  await expect(store.get('a//b')).rejects.toBeInstanceOf(InvalidObjectKeyError);
}

describe('FolderObjectStore', () => {
  it('round-trips, lists by prefix, replaces, rejects escaping keys', async () => {
    const root = await tempDir();
    const store = new FolderObjectStore(root);
    await roundTrip(store);
    expect(store.describe()).toBe(`file://${root}`);
  });

  it('never shows temp files and leaves none behind', async () => {
    const root = await tempDir();
    const store = new FolderObjectStore(root);
    const key = 'bronze/x/symbol=S/date=2026-01-01/hour=00/f.parquet';
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(key, new Uint8Array([i]))));
    const dir = join(root, 'bronze/x/symbol=S/date=2026-01-01/hour=00');
    expect(await readdir(dir)).toEqual(['f.parquet']);
    // A crashed writer's leftover temp file is not an object.
    await writeFile(join(dir, 'g.parquet.tmp-1-abcd'), 'partial');
    expect(await store.list('bronze/')).toEqual([key]);
  });

  it('reports a write into an unusable root as an error', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'file'), 'x');
    const store = new FolderObjectStore(join(root, 'file'));
    await expect(store.put('a/b.parquet', new Uint8Array([1]))).rejects.toThrow();
  });
});

describe('S3ObjectStore against s3rver (path-style, loopback)', () => {
  let server: RunningS3rver;
  let endpoint: string;
  const bucket = 'lake-test';

  beforeAll(async () => {
    server = await startS3rver(await tempDir(), [bucket]);
    endpoint = server.endpoint;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const creds = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

  it('round-trips, lists by prefix (paginated), replaces', async () => {
    const store = new S3ObjectStore({ bucket, prefix: `t-${uniqueSuffix()}`, endpoint, forcePathStyle: true, region: 'us-east-1', credentials: creds });
    try {
      await roundTrip(store);
      expect(store.describe()).toMatch(/^s3:\/\/lake-test\/t-/);
    } finally {
      store.close();
    }
  });

  it('holds Parquet files that arrow-rs reads back, under deterministic keys', async () => {
    const store = new S3ObjectStore({ bucket, prefix: `pq-${uniqueSuffix()}`, endpoint, forcePathStyle: true, region: 'us-east-1', credentials: creds });
    try {
      const writer = new LakeWriter(store);
      const arch = new DepthSnapshotArchiver(writer, { bronzePrefix: 'bronze' });
      const depth = { lastUpdateId: 9_007_199_254, bids: [['97000.10', '0.00100000']] as [string, string][], asks: [['97000.20', '3']] as [string, string][] };
      const key = await arch.write('BTCUSDT', depth, Date.UTC(2026, 10, 21, 5));
      await arch.write('BTCUSDT', depth, Date.UTC(2026, 10, 21, 5));
      expect(await store.list('bronze/')).toEqual([key]);
      const t = readParquetWithArrow((await store.get(key as string)) as Uint8Array);
      expect(t.columns.price.values).toEqual(['97000.10', '97000.20']);
      expect(t.columns.qty.values).toEqual(['0.00100000', '3']);
      expect(t.columns.last_update_id.values[0]).toBe(9_007_199_254n);
      expect(writer.stats()).toMatchObject({ files_written_today: 2, write_errors: 0, last_file: key });
      expect(writer.stats().store).toMatch(/^s3:\/\/lake-test\/pq-/);
    } finally {
      store.close();
    }
  });

  it('lists more than one page of keys', async () => {
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: creds });
    const b2 = `lake-many-${uniqueSuffix()}`;
    await client.send(new CreateBucketCommand({ Bucket: b2 }));
    const store = new S3ObjectStore({ bucket: b2, client, listPageSize: 40 });
    try {
      const keys = Array.from({ length: 105 }, (_, i) => `p/k${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 25) {
        await Promise.all(keys.slice(i, i + 25).map((k) => store.put(k, new Uint8Array([1]))));
      }
      expect(await store.list('p/')).toEqual(keys);
    } finally {
      client.destroy();
    }
  });
});
