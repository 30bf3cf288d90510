import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScheduledEvent } from 'aws-lambda';
import { S3ObjectStore } from '../../../src/lake/object-store.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { requestReanchor } from '../../../src/redis/streams.js';
import { createScheduledHandler, disposeScheduledHandler } from '../../../src/lambda/scheduled-handler.js';
import { readParquetWithArrow } from '../../unit/lake/arrow-read.js';
import { startS3rver } from '../lake/s3rver-process.js';
import { obMismatches, restConfig, startStack, truthBook } from './support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.().catch(() => undefined);
});

const event = (id: string): ScheduledEvent => ({
  version: '0',
  id,
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/btcpipe-rest-poll'],
  detail: {},
});

describe('EventBridge Lambda handler with an S3 lake', () => {
  it('runs the same poll cycle per invocation, writes Parquet to S3 and answers pending re-anchor requests', async () => {
    const stack = await startStack();
    cleanups.push(() => stack.stop());
    const dir = await mkdtemp(join(tmpdir(), 'btcpipe-s3rver-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const s3 = await startS3rver(dir, ['lake-rest']);
    cleanups.push(() => s3.stop());
    process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
    const config = restConfig(stack, {
      lake: { backend: 's3' },
      aws: { s3: { bucket: 'lake-rest', bronze_prefix: 'bronze', endpoint_url: s3.endpoint, force_path_style: true } },
      scheduler: { depth_snapshot_limit: 1000 },
      logging: { level: 'silent' },
    });
    const handler = createScheduledHandler(() => config);
    cleanups.push(() => disposeScheduledHandler());

    // A request made before the (cold) invocation is still answered by it.
    await requestReanchor(stack.redis, 'BTCUSDT', 'gap');
    const r1 = await handler(event('e1'));
    expect(r1).toMatchObject({ ok: true, requestsHandled: 1 });
    expect(r1.symbols.BTCUSDT.aggTrades).toBeGreaterThan(0);
    const ob = await stack.redis.hgetall(symbolKeys('BTCUSDT').ob);
    expect(obMismatches(ob, await truthBook(stack.sim.restUrl, 'BTCUSDT', Number(ob.last_update_id)))).toEqual([]);

    await new Promise((r) => setTimeout(r, 1500));
    const r2 = await handler(event('e2')); // warm: resumes from the cursor, no request left
    expect(r2).toMatchObject({ ok: true, requestsHandled: 0 });
    expect(r2.symbols.BTCUSDT.lastAggId).toBeGreaterThan(r1.symbols.BTCUSDT.lastAggId ?? 0);

    const store = new S3ObjectStore({ bucket: 'lake-rest', endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
    cleanups.push(async () => store.close());
    const keys = await store.list('bronze/agg_trades/symbol=BTCUSDT/');
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const ids: number[] = [];
    for (const k of keys) ids.push(...readParquetWithArrow((await store.get(k)) as Uint8Array).columns.agg_id.values.map(Number));
    ids.forEach((id, i) => expect(id).toBe(ids[0] + i));
    expect(ids[ids.length - 1]).toBe(r2.symbols.BTCUSDT.lastAggId);
    expect(await store.list('bronze/depth_snapshots/symbol=BTCUSDT/')).toHaveLength(1);
  }, 90_000);
});
