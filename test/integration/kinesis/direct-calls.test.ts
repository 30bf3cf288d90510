import { afterAll, describe, expect, it } from 'vitest';
import { DeleteStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { withFastGetRecords } from '../../../src/services/aggregate-get-records.js';
import { sharedKinesisEndpoint, uniqueSuffix } from '../../support/servers.js';

const sdk = localKinesisClient(sharedKinesisEndpoint());
const fast = withFastGetRecords(localKinesisClient(sharedKinesisEndpoint()));
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
});
