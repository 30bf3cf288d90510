import { afterAll, describe, expect, it } from 'vitest';
import {
  DescribeStreamSummaryCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  SplitShardCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { Redis } from 'ioredis';
import { localKinesisClient, ensureStreams } from '../../../src/kinesis/embedded.js';
import { KinesisProducer } from '../../../src/kinesis/producer.js';
import { KinesisStreamConsumer, type ConsumedRecord } from '../../../src/kinesis/consumer.js';
import { InMemoryCheckpointStore } from '../../../src/kinesis/checkpoints.js';
import { RedisCheckpointStore, checkpointKey } from '../../../src/kinesis/redis-checkpoints.js';
import { sharedKinesisEndpoint, sharedRedisUrl, uniqueSuffix } from '../../support/servers.js';

const client = localKinesisClient(sharedKinesisEndpoint());
afterAll(() => client.destroy());

interface Seen {
  key: string;
  n: number;
  shardId: string;
  seq: string;
}

function collector(): { seen: Seen[]; handler: (batch: ConsumedRecord[]) => Promise<void> } {
  const seen: Seen[] = [];
  return {
    seen,
    handler: async (batch) => {
      for (const r of batch) {
        const p = JSON.parse(r.data.toString()) as { n: number };
        seen.push({ key: r.partitionKey, n: p.n, shardId: r.shardId, seq: r.sequenceNumber });
      }
    },
  };
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function produce(stream: string, keys: string[], from: number, to: number): Promise<void> {
  const p = new KinesisProducer({ client, lingerMs: 2 });
  for (let n = from; n < to; n++) for (const k of keys) p.put(stream, k, { n });
  expect(await p.flush(20_000)).toBe(true);
  await p.close();
}

const fast = { pollIntervalMs: 20, backoff: { baseMs: 20, capMs: 200 } };

describe('KinesisStreamConsumer against kinesis-local', () => {
  it('reads what the producer wrote (KPL aggregated), in order per key, and reports stats', async () => {
    const stream = `test-cons-${uniqueSuffix()}`;
    await ensureStreams(client, [{ name: stream, shards: 2 }]);
    const c = collector();
    const consumer = new KinesisStreamConsumer({ client, stream, handler: c.handler, ...fast });
    await consumer.start();
    expect(consumer.stats().shards).toBe(2);
    const keys = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
    await produce(stream, keys, 0, 200);
    await until(() => c.seen.length >= 600, 20_000);
    const st = consumer.stats();
    await consumer.stop();
    expect(c.seen.length).toBe(600);
    for (const k of keys) expect(c.seen.filter((s) => s.key === k).map((s) => s.n)).toEqual([...Array(200).keys()]);
    expect(st.status).toBe('consuming');
    expect(st.records_processed).toBe(600);
    expect(st.kinesis_records).toBeLessThan(600);
    expect(st.last_processed).not.toBeNull();
    expect(st.records_per_second).toBeGreaterThan(0);
    expect(consumer.stats().status).toBe('stopped');
  });

  it('resumes from its Redis checkpoint after a restart without re-delivering handled batches', async () => {
    const stream = `test-ckpt-${uniqueSuffix()}`;
    await ensureStreams(client, [{ name: stream, shards: 1 }]);
    const redis = new Redis(sharedRedisUrl());
    try {
      const store = new RedisCheckpointStore(redis);
      const a = collector();
      const first = new KinesisStreamConsumer({ client, stream, handler: a.handler, checkpoints: store, initialPosition: 'TRIM_HORIZON', ...fast });
      await first.start();
      await produce(stream, ['BTCUSDT'], 0, 100);
      await until(() => a.seen.length >= 100, 20_000);
      await first.stop();
      const saved = await redis.hget(checkpointKey(stream), 'shardId-000000000000');
      expect(saved).toBe(a.seen[a.seen.length - 1].seq);

      await produce(stream, ['BTCUSDT'], 100, 150);
      const b = collector();
      const second = new KinesisStreamConsumer({ client, stream, handler: b.handler, checkpoints: store, initialPosition: 'TRIM_HORIZON', ...fast });
      await second.start();
      await until(() => b.seen.length >= 50, 20_000);
      await new Promise((r) => setTimeout(r, 200));
      await second.stop();
      expect(b.seen.map((s) => s.n)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    } finally {
      await redis.quit();
    }
  });

  it('retries a failing handler on the same batch, then checkpoints only after success', async () => {
    const stream = `test-herr-${uniqueSuffix()}`;
    await ensureStreams(client, [{ name: stream, shards: 1 }]);
    const store = new InMemoryCheckpointStore();
    let failures = 3;
    const delivered: number[][] = [];
    const consumer = new KinesisStreamConsumer({
      client,
      stream,
      checkpoints: store,
      ...fast,
      handler: async (batch) => {
        delivered.push(batch.map((r) => (JSON.parse(r.data.toString()) as { n: number }).n));
        if (failures-- > 0) {
          expect(await store.load(stream, batch[0].shardId)).toBeUndefined();
          throw new Error('downstream unavailable');
        }
      },
    });
    await consumer.start();
    await produce(stream, ['BTCUSDT'], 0, 5);
    await until(() => delivered.length >= 4, 10_000);
    const st = consumer.stats();
    await consumer.stop();
    expect(delivered.slice(0, 4)).toEqual([[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]);
    expect(st.handler_errors).toBe(3);
    expect(st.last_error).toContain('downstream unavailable');
    expect(await store.load(stream, 'shardId-000000000000')).toBeDefined();
  });

  it('starts at LATEST on first start (older records are not delivered)', async () => {
    const stream = `test-latest-${uniqueSuffix()}`;
    await ensureStreams(client, [{ name: stream, shards: 1 }]);
    await produce(stream, ['BTCUSDT'], 0, 20);
    const c = collector();
    const consumer = new KinesisStreamConsumer({ client, stream, handler: c.handler, ...fast });
    await consumer.start();
    await new Promise((r) => setTimeout(r, 300));
    await produce(stream, ['BTCUSDT'], 20, 30);
    await until(() => c.seen.length >= 10, 10_000);
    await consumer.stop();
    expect(c.seen.map((s) => s.n)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
  });

  it('reports an error (and keeps running) for a stream that does not exist, while another consumer is unaffected', async () => {
    const good = `test-good-${uniqueSuffix()}`;
    await ensureStreams(client, [good]);
    const c = collector();
    const ok = new KinesisStreamConsumer({ client, stream: good, handler: c.handler, ...fast });
    const broken = new KinesisStreamConsumer({ client, stream: `test-missing-${uniqueSuffix()}`, handler: async () => {}, ...fast });
    await Promise.all([ok.start(), broken.start()]);
    await produce(good, ['BTCUSDT'], 0, 10);
    await until(() => c.seen.length >= 10, 10_000);
    expect(broken.stats().status).toBe('error');
    expect(broken.stats().errors).toBeGreaterThan(0);
    expect(broken.stats().last_error).toContain('ResourceNotFound');
    expect(ok.stats().status).toBe('consuming');
    await Promise.all([ok.stop(), broken.stop()]);
  });

  it('follows a shard split: children are read after the parent, per-key order holds, nothing lost', async () => {
    const stream = `test-split-${uniqueSuffix()}`;
    await ensureStreams(client, [{ name: stream, shards: 1 }]);
    const c = collector();
    const consumer = new KinesisStreamConsumer({ client, stream, handler: c.handler, rediscoverIntervalMs: 200, ...fast });
    await consumer.start();
    const keys = Array.from({ length: 8 }, (_, i) => `SYM${i}`);
    await produce(stream, keys, 0, 50);
    await until(() => c.seen.length >= 400, 20_000);

    const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
    await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: Shards[0].ShardId, NewStartingHashKey: (2n ** 127n).toString() }));
    for (;;) {
      const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await produce(stream, keys, 50, 100);
    await until(() => c.seen.length >= 800, 20_000);
    await new Promise((r) => setTimeout(r, 200));
    const st = consumer.stats();
    await consumer.stop();
    expect(c.seen.length).toBe(800);
    for (const k of keys) expect(c.seen.filter((s) => s.key === k).map((s) => s.n)).toEqual([...Array(100).keys()]);
    const parent = Shards[0].ShardId as string;
    const firstChild = c.seen.findIndex((s) => s.shardId !== parent);
    expect(firstChild).toBe(400);
    expect(new Set(c.seen.slice(400).map((s) => s.shardId)).size).toBe(2);
    expect(st.finished_shards).toBe(1);
    expect(st.shards).toBe(2);
  });

  it('an iterator that expires before anything was delivered (no checkpoint) resumes where it was, not at LATEST', async () => {
    const stream = `test-expire-${uniqueSuffix()}`;
    await ensureStreams(client, [stream]);
    // The real kinesis-local behind a gate: while armed, the next GetRecords waits (the consumer is stalled,
    // as when its process pauses past the 5-minute iterator lifetime) and then fails as an expired iterator.
    let gate: { armed: boolean; reached?: () => void; release?: () => void } = { armed: false };
    let iterators = 0;
    const gated = {
      send: async (cmd: unknown, opts?: unknown): Promise<unknown> => {
        if (cmd instanceof GetShardIteratorCommand) iterators++;
        if (cmd instanceof GetRecordsCommand && gate.armed) {
          gate.armed = false;
          gate.reached?.();
          await new Promise<void>((r) => (gate.release = r));
          throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata: {} });
        }
        return (client.send as (c: unknown, o?: unknown) => Promise<unknown>)(cmd, opts);
      },
    } as unknown as KinesisClient;
    const c = collector();
    const consumer = new KinesisStreamConsumer({ client: gated, stream, handler: c.handler, ...fast });
    await consumer.start();
    const reached = new Promise<void>((r) => (gate = { armed: true, reached: r }));
    await reached;
    await produce(stream, ['BTCUSDT'], 0, 20);
    const before = iterators;
    gate.release?.();
    await until(() => iterators > before, 10_000);
    await produce(stream, ['BTCUSDT'], 20, 30);
    await until(() => c.seen.some((s) => s.n === 29), 20_000);
    await new Promise((r) => setTimeout(r, 200));
    await consumer.stop();
    expect(c.seen.map((s) => s.n)).toEqual([...Array(30).keys()]);
  });
});
