import {
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  type PutRecordCommandOutput,
  type KinesisClient,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { deaggregateRecord } from '../../../src/kinesis/deaggregate.js';
import { KinesisProducer } from '../../../src/kinesis/producer.js';
import { partitionKeyHash, shardMapOf, type ShardMap } from '../../../src/kinesis/shard-map.js';
import { sharedKinesisEndpoint, uniqueSuffix } from '../../support/servers.js';
import { readAllEvents } from './reader.js';

const client = localKinesisClient(sharedKinesisEndpoint());
afterAll(() => client.destroy());

interface SeenCall {
  records: PutRecordsRequestEntry[];
  result: PutRecordsCommandOutput;
}

/** The real client, recording each PutRecords (or single-record PutRecord) request with its response. */
function recordingClient(real: KinesisClient, calls: SeenCall[]): KinesisClient {
  return {
    send: async (cmd: unknown, opts?: unknown) => {
      const res: unknown = await (real.send as (c: unknown, o?: unknown) => Promise<unknown>)(cmd, opts);
      if (cmd instanceof PutRecordsCommand) calls.push({ records: cmd.input.Records ?? [], result: res as PutRecordsCommandOutput });
      if (cmd instanceof PutRecordCommand) {
        const { StreamName: _stream, ...entry } = cmd.input;
        const one = res as PutRecordCommandOutput;
        calls.push({ records: [entry], result: { Records: [{ ShardId: one.ShardId, SequenceNumber: one.SequenceNumber }], $metadata: one.$metadata } });
      }
      return res;
    },
  } as unknown as KinesisClient;
}

async function mapOf(stream: string): Promise<ShardMap> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
  const map = shardMapOf(Shards);
  if (!map) throw new Error(`no usable shard map for ${stream}`);
  return map;
}

describe('KinesisProducer packs the keys of one shard into one record (kinesis-local, 2 shards)', () => {
  it('sends at most one record per shard per call, every event once, in order per key, on the shard kinesis-local assigns the key', async () => {
    const stream = `test-prod-shards-${uniqueSuffix()}`;
    await ensureStreams(client, [{ name: stream, shards: 2 }]);
    const map = await mapOf(stream);
    expect(map.size).toBe(2);
    const keys = Array.from({ length: 12 }, (_, i) => `SYM${i}USDT`);
    const predicted = new Map(keys.map((k) => [k, map.shardOf(k) as string]));
    expect(new Set(predicted.values()).size).toBe(2);

    const calls: SeenCall[] = [];
    const perKey = 40;
    const p = new KinesisProducer({ client: recordingClient(client, calls), streams: [stream], lingerMs: 5 });
    await p.start();
    for (let n = 0; n < perKey; n++) {
      for (const k of keys) p.put(stream, k, { k, n });
      if (n % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
    expect(await p.flush(30_000)).toBe(true);
    const st = p.stats();
    await p.close();
    expect(st.events_sent).toBe(keys.length * perKey);
    expect(st.dropped).toBe(0);
    expect(st.shard_map_errors).toBe(0);

    let shared = 0;
    for (const c of calls) {
      expect(c.records.length).toBeLessThanOrEqual(2);
      c.records.forEach((r, i) => {
        const members = new Set(deaggregateRecord(r.Data as Uint8Array, r.PartitionKey).map((u) => u.partitionKey));
        const landed = c.result.Records?.[i]?.ShardId;
        // Where kinesis-local put the record is where every member key belongs.
        for (const k of members) expect(predicted.get(k)).toBe(landed);
        if (members.size > 1) {
          shared++;
          expect(r.ExplicitHashKey).toBe(partitionKeyHash(r.PartitionKey as string).toString());
        }
      });
    }
    expect(shared).toBeGreaterThan(0);
    expect(st.records_sent).toBe(calls.reduce((n, c) => n + c.records.length, 0));

    const events = await readAllEvents(client, stream, keys.length * perKey);
    expect(events.length).toBe(keys.length * perKey);
    for (const k of keys) {
      const mine = events.filter((e) => e.partitionKey === k);
      expect(mine.map((e) => e.payload.n)).toEqual([...Array(perKey).keys()]);
      expect(mine.every((e) => e.payload.k === k && e.shardId === predicted.get(k))).toBe(true);
    }

    // The prediction agrees with kinesis-local's own assignment of plain records (no ExplicitHashKey).
    const probeKeys = [...keys, ...Array.from({ length: 28 }, (_, i) => `probe-${i}-é`)];
    const res = await client.send(
      new PutRecordsCommand({ StreamName: stream, Records: probeKeys.map((k) => ({ PartitionKey: k, Data: Buffer.from('{}') })) }),
    );
    expect(res.Records?.map((r) => r.ShardId)).toEqual(probeKeys.map((k) => map.shardOf(k)));
  });
});
