import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { deaggregateRecord } from '../../../src/kinesis/deaggregate.js';

export interface ReadEvent {
  shardId: string;
  partitionKey: string;
  payload: Record<string, unknown>;
}

/**
 * A plain AWS SDK reader (no code under test besides de-aggregation): reads every shard from
 * TRIM_HORIZON until `expected` user records arrived or `timeoutMs` passed, in shard order.
 */
export async function readAllEvents(client: KinesisClient, stream: string, expected: number, timeoutMs = 20_000): Promise<ReadEvent[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream }));
  const iterators = new Map<string, string | undefined>();
  for (const s of Shards) {
    const it = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    iterators.set(s.ShardId as string, it.ShardIterator);
  }
  const out: ReadEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < expected && Date.now() < deadline) {
    let got = 0;
    for (const [shardId, it] of iterators) {
      if (!it) continue;
      const res = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      iterators.set(shardId, res.NextShardIterator);
      for (const r of res.Records ?? []) {
        for (const u of deaggregateRecord(r.Data as Uint8Array, r.PartitionKey, r.SequenceNumber)) {
          out.push({ shardId, partitionKey: u.partitionKey, payload: JSON.parse(u.data.toString()) as Record<string, unknown> });
          got++;
        }
      }
    }
    if (got === 0) await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}
