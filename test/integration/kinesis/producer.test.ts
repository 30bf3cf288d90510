import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { localKinesisClient, ensureStreams, startEmbeddedKinesis } from '../../../src/kinesis/embedded.js';
import { KinesisProducer } from '../../../src/kinesis/producer.js';
import { KinesisStreamConsumer } from '../../../src/kinesis/consumer.js';
import { sharedKinesisEndpoint, uniqueSuffix } from '../../support/servers.js';
import { readAllEvents, type ReadEvent } from './reader.js';

const client = localKinesisClient(sharedKinesisEndpoint());
afterAll(() => client.destroy());

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function firstRawRecord(stream: string): Promise<Uint8Array> {
  const shards = await client.send(new ListShardsCommand({ StreamName: stream }));
  for (const sh of shards.Shards ?? []) {
    const it = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: sh.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const res = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator, Limit: 1 }));
    const data = res.Records?.[0]?.Data;
    if (data) return data;
  }
  throw new Error(`no record in ${stream}`);
}

function checkPerKeyOrder(events: ReadEvent[], keys: string[], perKey: number): void {
  for (const k of keys) {
    const seqs = events.filter((e) => e.partitionKey === k).map((e) => e.payload.n);
    expect(seqs).toEqual(Array.from({ length: perKey }, (_, i) => i));
    // One key always maps to one shard.
    expect(new Set(events.filter((e) => e.partitionKey === k).map((e) => e.shardId)).size).toBe(1);
  }
}

describe('KinesisProducer against kinesis-local', () => {
  const variants = [
    [true, 'none'],
    [false, 'none'],
    [true, 'gzip'],
    [false, 'gzip'],
  ] as const;
  for (const [aggregate, compression] of variants) {
    it(`delivers every event exactly once, in order per key (aggregate=${aggregate}, compression=${compression})`, async () => {
      const stream = `test-prod-${uniqueSuffix()}`;
      await ensureStreams(client, [{ name: stream, shards: 2 }]);
      const keys = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT'];
      const perKey = 300;
      const p = new KinesisProducer({ client, aggregate, compression, lingerMs: 5, batchSize: 200 });
      for (let n = 0; n < perKey; n++) {
        for (const k of keys) p.put(stream, k, { symbol: k, n, pad: 'x'.repeat(n % 50) });
        if (n % 50 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      expect(await p.flush(20_000)).toBe(true);
      const st = p.stats();
      expect(st.events_sent).toBe(keys.length * perKey);
      expect(st.dropped).toBe(0);
      if (aggregate) expect(st.records_sent).toBeLessThan(st.events_sent);
      else expect(st.records_sent).toBe(st.events_sent);
      await p.close();
      const events = await readAllEvents(client, stream, keys.length * perKey);
      expect(events.length).toBe(keys.length * perKey);
      checkPerKeyOrder(events, keys, perKey);
      const raw = await firstRawRecord(stream);
      // On the wire: gzip magic when compressing, else KPL magic or the JSON's `{`.
      expect(raw[0]).toBe(compression === 'gzip' ? 0x1f : aggregate ? 0xf3 : 0x7b);
    });
  }

  it('creates a missing stream when createStreams is set', async () => {
    const stream = `test-create-${uniqueSuffix()}`;
    const p = new KinesisProducer({ client, streams: [stream], createStreams: true });
    await p.start();
    for (let n = 0; n < 10; n++) p.put(stream, 'BTCUSDT', { n });
    expect(await p.flush(10_000)).toBe(true);
    await p.close();
    const events = await readAllEvents(client, stream, 10);
    expect(events.map((e) => e.payload.n)).toEqual([...Array(10).keys()]);
  });

  it('buffers while kinesis-local is down and delivers after it restarts on the same ports; the consumer recovers too', async () => {
    const first = await startEmbeddedKinesis();
    const { plainPort, tlsPort } = first;
    const priv = localKinesisClient(first.endpoint);
    const stream = `test-outage-${uniqueSuffix()}`;
    const p = new KinesisProducer({
      client: priv,
      streams: [stream],
      createStreams: true,
      backoff: { baseMs: 20, capMs: 300 },
      callTimeoutMs: 3_000,
    });
    const consumed: Array<{ phase: number; n: number }> = [];
    const consumer = new KinesisStreamConsumer({
      client: priv,
      stream,
      pollIntervalMs: 20,
      rediscoverIntervalMs: 500,
      backoff: { baseMs: 20, capMs: 300 },
      handler: async (batch) => {
        for (const r of batch) consumed.push(JSON.parse(r.data.toString()) as { phase: number; n: number });
      },
    });
    let second: Awaited<ReturnType<typeof startEmbeddedKinesis>> | undefined;
    try {
      await p.start();
      await consumer.start();
      for (let n = 0; n < 50; n++) p.put(stream, 'BTCUSDT', { phase: 1, n });
      expect(await p.flush(10_000)).toBe(true);
      await waitFor(() => consumed.length >= 50, 10_000);

      await first.stop();
      for (let n = 0; n < 200; n++) p.put(stream, 'BTCUSDT', { phase: 2, n });
      await new Promise((r) => setTimeout(r, 500));
      const during = p.stats();
      expect(during.buffer_size).toBe(200);
      expect(during.failed_records).toBeGreaterThan(0);
      expect(during.status).not.toBe('healthy');
      expect(during.last_error).not.toBeNull();

      // kinesis-local keeps streams in memory: the producer re-creates the stream itself.
      second = await startEmbeddedKinesis({ plainPort, tlsPort });
      expect(await p.flush(30_000)).toBe(true);
      expect(p.stats().dropped).toBe(0);
      const events = await readAllEvents(priv, stream, 200);
      expect(events.map((e) => e.payload.n)).toEqual([...Array(200).keys()]);
      expect(events.every((e) => e.payload.phase === 2)).toBe(true);
      // The consumer's checkpoint belongs to the old stream; it must resume on the new one.
      await waitFor(() => consumed.length >= 250, 20_000).catch((e: unknown) => {
        console.log("DEBUG", consumed.length, JSON.stringify(consumer.stats()));
        throw e;
      });
      expect(consumed.map((e) => e.n)).toEqual([...Array(50).keys(), ...Array(200).keys()]);
    } finally {
      await consumer.stop();
      await p.close(1_000);
      priv.destroy();
      await first.stop();
      await second?.stop();
    }
  });
});
