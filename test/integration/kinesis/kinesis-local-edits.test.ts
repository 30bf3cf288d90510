import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStreams, localKinesisClient, startEmbeddedKinesis, type EmbeddedKinesis } from '../../../src/kinesis/embedded.js';
import { KINESIS_LOCAL_EDITS } from '../../../src/kinesis/kinesis-local-edits.js';

/** One fixed sequence of calls, answers reduced to what does not depend on time or the run. */
async function script(client: KinesisClient): Promise<unknown[]> {
  const out: unknown[] = [];
  const errorName = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (e as Error).name);
  await ensureStreams(client, [{ name: 'quiet-a', shards: 2 }]);
  const shards = (await client.send(new ListShardsCommand({ StreamName: 'quiet-a' }))).Shards ?? [];
  out.push(shards.map((s) => [s.ShardId, s.HashKeyRange]));
  const payloads = [Buffer.alloc(0), Buffer.from('{"a":1}'), randomBytesSeeded(3_300), randomBytesSeeded(70_000)].filter((b) => b.length > 0);
  for (const [i, data] of payloads.entries()) {
    const r = await client.send(new PutRecordCommand({ StreamName: 'quiet-a', PartitionKey: `k${i}`, Data: data }));
    out.push(r.ShardId);
  }
  const batch = await client.send(
    new PutRecordsCommand({ StreamName: 'quiet-a', Records: payloads.map((d, i) => ({ PartitionKey: `b${i}`, Data: d })) }),
  );
  out.push(batch.FailedRecordCount, batch.Records?.map((r) => [r.ShardId, r.ErrorCode ?? null]));
  for (const s of shards) {
    const it = (await client.send(new GetShardIteratorCommand({ StreamName: 'quiet-a', ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    const got = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 100 }));
    out.push(got.Records?.map((r) => [r.PartitionKey, Buffer.from(r.Data ?? []).toString('base64')]), got.MillisBehindLatest !== undefined);
  }
  out.push(await walkShard(client));
  out.push(await errorName(client.send(new PutRecordCommand({ StreamName: 'quiet-missing', PartitionKey: 'k', Data: Buffer.from('x') }))));
  out.push(await errorName(client.send(new GetRecordsCommand({ ShardIterator: 'not-an-iterator' }))));
  return out;
}

/**
 * GetRecords from every kind of position of a one-shard stream of 40 records: a walk with Limit 3 (each call's
 * iterator points after a record in the middle), AFTER_SEQUENCE_NUMBER and AT_SEQUENCE_NUMBER of the first,
 * a middle and the last record, the tip before and after one more put, and a sequence number the shard does
 * not hold. Records are named by their partition key, never by sequence number (those carry times).
 */
async function walkShard(client: KinesisClient): Promise<unknown[]> {
  const out: unknown[] = [];
  const stream = 'quiet-walk';
  await ensureStreams(client, [stream]);
  const ShardId = 'shardId-000000000000';
  const seqs: string[] = [];
  for (let i = 0; i < 40; i++) {
    seqs.push((await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: `w${i}`, Data: Buffer.from([i]) }))).SequenceNumber ?? '');
  }
  const keys = (r: { Records?: { PartitionKey?: string }[] }): string[] => (r.Records ?? []).map((x) => x.PartitionKey ?? '');
  const iteratorAt = async (type: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER', seq: string): Promise<string | undefined> =>
    (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId, ShardIteratorType: type, StartingSequenceNumber: seq }))).ShardIterator;
  let it = (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  const walk: string[][] = [];
  for (let i = 0; i < 16; i++) {
    const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 3 }));
    walk.push(keys(r));
    it = r.NextShardIterator;
  }
  out.push(walk);
  for (const at of [0, 17, 38, 39]) {
    out.push(keys(await client.send(new GetRecordsCommand({ ShardIterator: await iteratorAt('AFTER_SEQUENCE_NUMBER', seqs[at]), Limit: 5 }))));
    out.push(keys(await client.send(new GetRecordsCommand({ ShardIterator: await iteratorAt('AT_SEQUENCE_NUMBER', seqs[at]), Limit: 5 }))));
  }
  await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'w40', Data: Buffer.from([40]) }));
  out.push(keys(await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 5 }))));
  // A sequence number of another shard's record: well-formed, but not this shard's. It is put on quiet-a's
  // second shard: a record on a shard 0 put in the same second at the same index would carry the very sequence
  // number of one of quiet-walk's records (kinesis-mock builds them from those), and the emulator would find it.
  const second = ((await client.send(new ListShardsCommand({ StreamName: 'quiet-a' }))).Shards ?? [])[1];
  const foreign = (await client.send(new PutRecordCommand({ StreamName: 'quiet-a', PartitionKey: 'k0', ExplicitHashKey: second?.HashKeyRange?.StartingHashKey, Data: Buffer.from('x') }))).SequenceNumber ?? '';
  out.push(await iteratorAt('AFTER_SEQUENCE_NUMBER', foreign).then((i) => client.send(new GetRecordsCommand({ ShardIterator: i }))).then(keys, (e: unknown) => (e as Error).name));
  return out;
}

/** Deterministic bytes, so both emulators get the same payloads. */
function randomBytesSeeded(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('kinesis-local with its edits (no TRACE-only logging work, GetRecords searching from the tip)', () => {
  const started: EmbeddedKinesis[] = [];
  afterAll(async () => {
    await Promise.all(started.map((k) => k.stop()));
  });

  it('makes its edits and answers a sequence of calls exactly as the emulator as shipped does', async () => {
    const [quiet, shipped] = await Promise.all([startEmbeddedKinesis(), startEmbeddedKinesis({ asShipped: true })]);
    started.push(quiet, shipped);
    expect(quiet.edits).toEqual(KINESIS_LOCAL_EDITS.map((e) => e.name));
    expect(quiet.skippedEdits).toEqual([]);
    expect(shipped.edits).toEqual([]);
    const [a, b] = [localKinesisClient(quiet.endpoint), localKinesisClient(shipped.endpoint)];
    try {
      const [fromQuiet, fromShipped] = await Promise.all([script(a), script(b)]);
      expect(fromQuiet).toEqual(fromShipped);
      // The script did read what it wrote: 3 payloads put singly and 3 in a batch, over the 2 shards.
      expect(JSON.stringify(fromQuiet)).toContain(randomBytesSeeded(3_300).toString('base64'));
      // The walk read all 40 records in order, and every position answered.
      const walk = fromQuiet[fromQuiet.length - 3] as unknown[];
      expect((walk[0] as string[][]).flat()).toEqual(Array.from({ length: 40 }, (_, i) => `w${i}`));
      expect(walk.slice(1, 9)).toEqual([['w1', 'w2', 'w3', 'w4', 'w5'], ['w0', 'w1', 'w2', 'w3', 'w4'], ['w18', 'w19', 'w20', 'w21', 'w22'], ['w17', 'w18', 'w19', 'w20', 'w21'], ['w39'], ['w38', 'w39'], [], ['w39']]);
      expect(walk[9]).toEqual(['w40']);
      // Another shard's sequence number is found nowhere in this one.
      expect(walk[10]).toBe('ResourceNotFoundException');
      // Errors answer alike too (a bad iterator gets an error without a modelled name from both).
      expect(fromQuiet[fromQuiet.length - 2]).toBe('ResourceNotFoundException');
      expect(fromQuiet[fromQuiet.length - 1]).not.toBe('ok');
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});
