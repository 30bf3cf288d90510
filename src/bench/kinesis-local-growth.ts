/**
 * Part of bench section "kinesis": what one GetRecords at a shard's tip costs kinesis-local as the shard
 * fills, edited (kinesis-local-edits.ts) and as shipped. A consumer at the tip polls ~50 times a second and
 * the emulator keeps records for 24 h, so a cost that grows with the stored records decides how long a local
 * stack can run: as shipped, the search for the iterator's record starts at the shard's first record.
 */
import { randomBytes } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { processCpuMs } from '../chaos/launcher-watch.js';
import { withDirectCalls } from '../kinesis/direct-calls.js';
import { localKinesisClient, startEmbeddedKinesis } from '../kinesis/embedded.js';

export interface GrowthPoint {
  storedRecords: number;
  /** kinesis-local's CPU per empty GetRecords at the tip, ms. */
  emptyGetCpuMs: number;
}

export interface GrowthResult {
  build: 'edited' | 'as shipped';
  points: GrowthPoint[];
}

const STREAM = 'bench-growth';
const SHARD = 'shardId-000000000000';
/** Calls per measured point (CPU is read in 10 ms ticks from /proc), after as many unmeasured ones. */
const CALLS = 300;
/** Concurrent PutRecord calls while filling (PutRecords would cost kinesis-local O(stored) per record). */
const FILL_CONCURRENCY = 8;

/** Fill one shard to each size in `sizes` and measure the emulator's CPU per empty GetRecords at its tip. */
export async function measureGetRecordsGrowth(sizes: readonly number[], asShipped: boolean, onProgress?: (line: string) => void): Promise<GrowthResult> {
  const kinesis = await startEmbeddedKinesis({ streams: [STREAM], asShipped });
  const client = withDirectCalls(localKinesisClient(kinesis.endpoint));
  const build = asShipped || kinesis.edits.length === 0 ? 'as shipped' : 'edited';
  const points: GrowthPoint[] = [];
  try {
    const data = randomBytes(64);
    let stored = 0;
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    for (const size of sizes) {
      while (stored < size) {
        const n = Math.min(FILL_CONCURRENCY, size - stored);
        await Promise.all(Array.from({ length: n }, () => client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: data }))));
        stored += n;
      }
      iterator = await readToTip(client, iterator);
      // Unmeasured calls first: the filling's garbage is collected and the call path compiled meanwhile.
      for (let i = 0; i < CALLS; i++) iterator = await emptyGet(client, iterator);
      const cpu0 = processCpuMs(kinesis.pid);
      for (let i = 0; i < CALLS; i++) iterator = await emptyGet(client, iterator);
      const cpu1 = processCpuMs(kinesis.pid);
      if (cpu0 === undefined || cpu1 === undefined) throw new Error('kinesis-local CPU is not readable from /proc');
      const point = { storedRecords: stored, emptyGetCpuMs: Math.round(((cpu1 - cpu0) / CALLS) * 100) / 100 };
      points.push(point);
      onProgress?.(`  kinesis-local ${build}: ${point.storedRecords} records stored → ${point.emptyGetCpuMs} ms CPU per empty GetRecords`);
    }
  } finally {
    client.destroy();
    await kinesis.stop();
  }
  return { build, points };
}

async function emptyGet(client: KinesisClient, iterator: string | undefined): Promise<string | undefined> {
  return (await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }))).NextShardIterator;
}

async function readToTip(client: KinesisClient, iterator: string | undefined): Promise<string | undefined> {
  for (;;) {
    const r = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    iterator = r.NextShardIterator;
    if ((r.Records?.length ?? 0) === 0) return iterator;
  }
}
