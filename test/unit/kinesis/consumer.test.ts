import { describe, expect, it } from 'vitest';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisStreamConsumer } from '../../../src/kinesis/consumer.js';
import { InMemoryCheckpointStore } from '../../../src/kinesis/checkpoints.js';
import { fast, until } from '../../support/consumer.js';

function awsError(name: string, message = name): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

interface Script {
  /** Per GetRecords call: records to return, or an error to throw. */
  polls: Array<{ seqs: string[]; behindMs?: number } | Error>;
}

/**
 * A scripted stand-in for one single-shard stream, to drive the consumer through error paths
 * kinesis-local cannot produce on demand (expired iterators, throttling). Every request is logged.
 */
function scriptedClient(script: Script): { client: KinesisClient; log: Array<{ op: string; input: Record<string, unknown> }> } {
  const log: Array<{ op: string; input: Record<string, unknown> }> = [];
  let poll = 0;
  let iter = 0;
  const send = async (cmd: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> => {
    const op = cmd.constructor.name;
    log.push({ op, input: cmd.input });
    await new Promise((r) => setImmediate(r));
    if (op === 'ListShardsCommand') return { Shards: [{ ShardId: 'shardId-0', SequenceNumberRange: { StartingSequenceNumber: '0' } }] };
    if (op === 'GetShardIteratorCommand') return { ShardIterator: `it-${iter++}` };
    if (op === 'GetRecordsCommand') {
      const step = script.polls[poll++];
      if (step === undefined) return { Records: [], NextShardIterator: `it-${iter++}`, MillisBehindLatest: 0 };
      if (step instanceof Error) throw step;
      return {
        Records: step.seqs.map((s) => ({ SequenceNumber: s, PartitionKey: 'K', Data: Buffer.from(JSON.stringify({ s })), ApproximateArrivalTimestamp: new Date() })),
        NextShardIterator: `it-${iter++}`,
        MillisBehindLatest: step.behindMs ?? 1500,
      };
    }
    throw new Error(`unexpected ${op}`);
  };
  return { client: { send } as unknown as KinesisClient, log };
}

describe('KinesisStreamConsumer error paths', () => {
  it('re-acquires an expired iterator after the last delivered sequence number', async () => {
    const { client, log } = scriptedClient({ polls: [{ seqs: ['10', '11'] }, awsError('ExpiredIteratorException'), { seqs: ['12'] }] });
    const seen: string[] = [];
    const checkpoints = new InMemoryCheckpointStore();
    const c = new KinesisStreamConsumer({ client, stream: 's', checkpoints, handler: async (b) => void seen.push(...b.map((r) => r.sequenceNumber)), ...fast });
    await c.start();
    await until(() => seen.length === 3);
    await c.stop();
    expect(seen).toEqual(['10', '11', '12']);
    const iterators = log.filter((l) => l.op === 'GetShardIteratorCommand').map((l) => l.input);
    expect(iterators[0]).toMatchObject({ ShardIteratorType: 'LATEST' });
    expect(iterators[1]).toMatchObject({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: '11' });
    expect(await checkpoints.load('s', 'shardId-0')).toBe('12');
  });

  it('an iterator that expires before any record was delivered resumes AT_TIMESTAMP of the LATEST start, never LATEST again', async () => {
    const { client, log } = scriptedClient({ polls: [awsError('ExpiredIteratorException'), awsError('ServiceUnavailable'), { seqs: ['7'] }] });
    const seen: string[] = [];
    const askedAt = Date.now();
    const c = new KinesisStreamConsumer({ client, stream: 's', handler: async (b) => void seen.push(...b.map((r) => r.sequenceNumber)), ...fast });
    await c.start();
    await until(() => seen.length === 1);
    await c.stop();
    const iterators = log.filter((l) => l.op === 'GetShardIteratorCommand').map((l) => l.input);
    expect(iterators[0]).toMatchObject({ ShardIteratorType: 'LATEST' });
    expect(iterators.length).toBeGreaterThanOrEqual(3);
    for (const it of iterators.slice(1)) {
      expect(it.ShardIteratorType).toBe('AT_TIMESTAMP');
      expect((it.Timestamp as Date).getTime()).toBeLessThanOrEqual(askedAt);
    }
  });

  it('reads on at once while behind, but waits the poll interval once a poll reached the tip, even with records', async () => {
    const { client, log } = scriptedClient({ polls: [{ seqs: ['1'], behindMs: 900 }, { seqs: ['2'], behindMs: 0 }, { seqs: ['3'] }] });
    const seen: string[] = [];
    const c = new KinesisStreamConsumer({ client, stream: 's', handler: async (b) => void seen.push(...b.map((r) => r.sequenceNumber)), ...fast, pollIntervalMs: 60_000 });
    await c.start();
    await until(() => seen.length === 2);
    // An immediate third poll would come within a few event-loop turns; give it far longer.
    await new Promise((r) => setTimeout(r, 300));
    const polls = log.filter((l) => l.op === 'GetRecordsCommand').length;
    await c.stop();
    expect(seen).toEqual(['1', '2']);
    expect(polls).toBe(2);
  });

  it('starts from the checkpoint when there is one', async () => {
    const { client, log } = scriptedClient({ polls: [] });
    const checkpoints = new InMemoryCheckpointStore();
    await checkpoints.save('s', 'shardId-0', '42');
    const c = new KinesisStreamConsumer({ client, stream: 's', checkpoints, handler: async () => {}, ...fast });
    await c.start();
    await until(() => log.some((l) => l.op === 'GetRecordsCommand'));
    await c.stop();
    expect(log.find((l) => l.op === 'GetShardIteratorCommand')?.input).toMatchObject({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: '42' });
  });

  it('backs off on throttling, keeps the iterator, counts the error and reports lag', async () => {
    const { client, log } = scriptedClient({ polls: [awsError('ProvisionedThroughputExceededException'), awsError('ProvisionedThroughputExceededException'), { seqs: ['1'] }] });
    const seen: string[] = [];
    let lagInHandler = -1;
    let ctxLag = -1;
    const c: KinesisStreamConsumer = new KinesisStreamConsumer({
      client,
      stream: 's',
      handler: async (b, ctx) => {
        seen.push(...b.map((r) => r.sequenceNumber));
        lagInHandler = c.stats().lag_seconds;
        ctxLag = ctx.millisBehindLatest;
      },
      ...fast,
    });
    await c.start();
    await until(() => seen.length === 1);
    const st = c.stats();
    await c.stop();
    expect(st.errors).toBe(2);
    expect(st.last_error).toContain('ProvisionedThroughputExceededException');
    expect(log.filter((l) => l.op === 'GetShardIteratorCommand').length).toBe(1);
    const polls = log.filter((l) => l.op === 'GetRecordsCommand').map((l) => l.input.ShardIterator);
    expect(polls.slice(0, 3)).toEqual(['it-0', 'it-0', 'it-0']);
    expect(lagInHandler).toBe(1.5);
    expect(ctxLag).toBe(1500);
  });

  it('stop() waits for the running handler and checkpoints its batch', async () => {
    const { client } = scriptedClient({ polls: [{ seqs: ['7'] }] });
    const checkpoints = new InMemoryCheckpointStore();
    let release: () => void = () => {};
    let started = false;
    const c = new KinesisStreamConsumer({
      client,
      stream: 's',
      checkpoints,
      ...fast,
      handler: () =>
        new Promise<void>((resolve) => {
          started = true;
          release = resolve;
        }),
    });
    await c.start();
    await until(() => started);
    let stopped = false;
    const stopping = c.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await checkpoints.load('s', 'shardId-0')).toBe('7');
    expect(c.stats().status).toBe('stopped');
  });
});
