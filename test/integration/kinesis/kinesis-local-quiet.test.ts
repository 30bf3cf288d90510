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
import { QUIET_EDITS } from '../../../src/kinesis/kinesis-local-quiet.js';

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
  out.push(await errorName(client.send(new PutRecordCommand({ StreamName: 'quiet-missing', PartitionKey: 'k', Data: Buffer.from('x') }))));
  out.push(await errorName(client.send(new GetRecordsCommand({ ShardIterator: 'not-an-iterator' }))));
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

describe('kinesis-local without its TRACE-only logging work', () => {
  const started: EmbeddedKinesis[] = [];
  afterAll(async () => {
    await Promise.all(started.map((k) => k.stop()));
  });

  it('makes its edits and answers a sequence of calls exactly as the emulator as shipped does', async () => {
    const [quiet, shipped] = await Promise.all([startEmbeddedKinesis(), startEmbeddedKinesis({ quiet: false })]);
    started.push(quiet, shipped);
    expect(quiet.quietEdits).toEqual(QUIET_EDITS.map((e) => e.name));
    expect(shipped.quietEdits).toEqual([]);
    const [a, b] = [localKinesisClient(quiet.endpoint), localKinesisClient(shipped.endpoint)];
    try {
      const [fromQuiet, fromShipped] = await Promise.all([script(a), script(b)]);
      expect(fromQuiet).toEqual(fromShipped);
      // The script did read what it wrote: 3 payloads put singly and 3 in a batch, over the 2 shards.
      expect(JSON.stringify(fromQuiet)).toContain(randomBytesSeeded(3_300).toString('base64'));
      // Errors answer alike too (a bad iterator gets an error without a modelled name from both).
      expect(fromQuiet[fromQuiet.length - 2]).toBe('ResourceNotFoundException');
      expect(fromQuiet[fromQuiet.length - 1]).not.toBe('ok');
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});
