import { afterAll, describe, expect, it } from 'vitest';
import { DeleteStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordCommand, PutRecordsCommand, type GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { withDirectCalls } from '../../../src/kinesis/direct-calls.js';
import { sharedKinesisEndpoint, uniqueSuffix } from '../../support/servers.js';

const sdk = localKinesisClient(sharedKinesisEndpoint());
const fast = withDirectCalls(localKinesisClient(sharedKinesisEndpoint()));
afterAll(() => {
  sdk.destroy();
  fast.destroy();
});

async function iterator(stream: string, shardId: string): Promise<string> {
  const r = await sdk.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  return r.ShardIterator as string;
}

/** What the consumer reads of an answer (the shard iterator string itself differs between calls). */
function view(r: GetRecordsCommandOutput): unknown {
  return {
    records: (r.Records ?? []).map((x) => ({
      seq: x.SequenceNumber,
      key: x.PartitionKey,
      arrivalMs: x.ApproximateArrivalTimestamp?.getTime(),
      data: Buffer.from(x.Data ?? new Uint8Array(0)).toString('hex'),
    })),
    next: typeof r.NextShardIterator,
    behind: r.MillisBehindLatest,
    children: r.ChildShards,
  };
}

describe('GetRecords on the direct path', () => {
  it('answers exactly what the SDK answers, page by page (bytes, keys, sequence numbers, arrival times)', async () => {
    const stream = `get-records-${uniqueSuffix()}`;
    await ensureStreams(sdk, [stream]);
    const shardId = (await sdk.send(new ListShardsCommand({ StreamName: stream }))).Shards?.[0]?.ShardId as string;
    const records = Array.from({ length: 25 }, (_, i) => ({
      // Every byte value, and records of several sizes (base64 padding of each kind).
      Data: Uint8Array.from({ length: 1 + i * 37 }, (_, j) => (i * 31 + j) & 0xff),
      PartitionKey: `k${i % 4}`,
    }));
    await sdk.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
    let a = await iterator(stream, shardId);
    let b = await iterator(stream, shardId);
    let pages = 0;
    let seen = 0;
    while (seen < records.length) {
      const [x, y] = await Promise.all([sdk.send(new GetRecordsCommand({ ShardIterator: a, Limit: 7 })), fast.send(new GetRecordsCommand({ ShardIterator: b, Limit: 7 }))]);
      expect(view(y)).toEqual(view(x));
      expect(y.Records?.[0]?.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
      seen += y.Records?.length ?? 0;
      a = x.NextShardIterator as string;
      b = y.NextShardIterator as string;
      if (++pages > 20) throw new Error('records did not all come back');
    }
    expect(seen).toBe(records.length);
    const firstData = (await fast.send(new GetRecordsCommand({ ShardIterator: await iterator(stream, shardId), Limit: 1 }))).Records?.[0]?.Data;
    expect(Buffer.from(firstData ?? new Uint8Array(0))).toEqual(Buffer.from(records[0].Data));
  });

  it('fails with the error name the SDK gives for the same refused call (a named error, and an empty 500)', async () => {
    const stream = `get-records-${uniqueSuffix()}`;
    await ensureStreams(sdk, [stream]);
    const gone = await iterator(stream, 'shardId-000000000000');
    await sdk.send(new DeleteStreamCommand({ StreamName: stream }));
    const bogus = 'AAAAAAAAAAH9Bogus+iterator+that+no+shard+ever+issued+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';
    for (const it of [gone, bogus]) {
      const names = await Promise.all(
        [sdk, fast].map((c) =>
          c.send(new GetRecordsCommand({ ShardIterator: it })).then(
            () => 'no error',
            (err: unknown) => (err as Error).name,
          ),
        ),
      );
      expect(names[1]).toBe(names[0]);
      expect(names[0]).not.toBe('no error');
    }
  });

  it('rejects with AbortError when the call is aborted, and passes every other command to the SDK', async () => {
    const stream = `get-records-${uniqueSuffix()}`;
    await ensureStreams(sdk, [stream]);
    const listed = await fast.send(new ListShardsCommand({ StreamName: stream }));
    expect(listed.Shards).toHaveLength(1);
    const it0 = await iterator(stream, listed.Shards?.[0]?.ShardId as string);
    const ac = new AbortController();
    const pending = fast.send(new GetRecordsCommand({ ShardIterator: it0 }), { abortSignal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('PutRecord writes what the SDK writes, where the SDK writes it, and fails with the same error name', async () => {
    const stream = `put-record-${uniqueSuffix()}`;
    await ensureStreams(sdk, [{ name: stream, shards: 2 }]);
    const shards = (await sdk.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    const cases = Array.from({ length: 12 }, (_, i) => ({
      Data: Uint8Array.from({ length: 1 + i * 53 }, (_, j) => (i * 17 + j) & 0xff),
      PartitionKey: `key-${i}-é`,
      // Half of them pinned to the second shard's first hash key, as the producer's shared records are.
      ...(i % 2 ? { ExplicitHashKey: shards[1]?.HashKeyRange?.StartingHashKey } : {}),
    }));
    for (const c of cases) {
      const [x, y] = await Promise.all([sdk, fast].map((client) => client.send(new PutRecordCommand({ StreamName: stream, ...c }))));
      expect(y.ShardId).toBe(x.ShardId);
      expect(typeof y.SequenceNumber).toBe('string');
    }
    // Every record twice on its shard (once per client), byte for byte.
    for (const sh of shards) {
      const got = await sdk.send(new GetRecordsCommand({ ShardIterator: await iterator(stream, sh.ShardId as string) }));
      const seen = (got.Records ?? []).map((r) => `${r.PartitionKey}:${Buffer.from(r.Data ?? new Uint8Array(0)).toString('hex')}`);
      for (let k = 0; k < seen.length; k += 2) expect(seen[k + 1]).toBe(seen[k]);
    }
    const total = (await Promise.all(shards.map(async (sh) => (await sdk.send(new GetRecordsCommand({ ShardIterator: await iterator(stream, sh.ShardId as string) }))).Records?.length ?? 0))).reduce((a, b) => a + b, 0);
    expect(total).toBe(cases.length * 2);
    const names = await Promise.all(
      [sdk, fast].map((c) =>
        c.send(new PutRecordCommand({ StreamName: `missing-${uniqueSuffix()}`, Data: new Uint8Array([1]), PartitionKey: 'k' })).then(
          () => 'no error',
          (err: unknown) => (err as Error).name,
        ),
      ),
    );
    expect(names[1]).toBe(names[0]);
    expect(names[0]).not.toBe('no error');
  });
});
