import { describe, expect, it } from 'vitest';
import { ListShardsCommand, PutRecordCommand, type KinesisClient, type ListShardsCommandOutput, type PutRecordsCommand, type PutRecordsCommandOutput, type Shard } from '@aws-sdk/client-kinesis';
import type { MarketEvent } from '../../../src/core/events.js';
import { KinesisProducer, type KinesisProducerOptions } from '../../../src/kinesis/producer.js';
import { deaggregateRecord, deaggregateRecordData } from '../../../src/kinesis/deaggregate.js';
import { partitionKeyHash } from '../../../src/kinesis/shard-map.js';
import fc from 'fast-check';
import { KinesisProducerClosedError, KinesisRecordTooLargeError, KinesisSerializationError } from '../../../src/kinesis/errors.js';


type Entry = { PartitionKey: string; ExplicitHashKey?: string; Data: Uint8Array };
type Responder = (records: Entry[], call: number) => PutRecordsCommandOutput | Error | 'hang';

/**
 * An in-process stand-in for the Kinesis API (PutRecords, and ListShards when given `shards`, else it
 * fails like a role without that permission) so the producer's buffering, retry and packing decisions can
 * be checked deterministically; the real service is covered by the integration tests.
 */
class FakeKinesis {
  calls: Array<{ stream: string; records: Entry[] }> = [];
  /** Of `calls`, those that came as PutRecord. */
  putRecordCalls = 0;
  accepted: Entry[] = [];
  listShardsCalls: Array<{ StreamName?: string; NextToken?: string }> = [];
  /** Pages of the ListShards answer. */
  shards: Shard[][] | undefined;
  constructor(private respond: Responder = okAll) {}
  setResponder(r: Responder): void {
    this.respond = r;
  }
  asClient(): KinesisClient {
    return { send: (cmd: PutRecordsCommand | PutRecordCommand | ListShardsCommand, opts?: { abortSignal?: AbortSignal }) => this.send(cmd, opts) } as unknown as KinesisClient;
  }
  private send(cmd: PutRecordsCommand | PutRecordCommand | ListShardsCommand, opts?: { abortSignal?: AbortSignal }): Promise<unknown> {
    if (cmd instanceof ListShardsCommand) return this.listShards(cmd.input);
    if (cmd instanceof PutRecordCommand) return this.putOne(cmd.input as Entry & { StreamName: string }, opts);
    const input = cmd.input as { StreamName: string; Records: Entry[] };
    this.calls.push({ stream: input.StreamName, records: input.Records });
    const r = this.respond(input.Records, this.calls.length);
    if (r !== 'hang' && !(r instanceof Error)) {
      input.Records.forEach((rec, i) => {
        if (!r.Records?.[i]?.ErrorCode) this.accepted.push(rec);
      });
    }
    return new Promise((resolve, reject) => {
      if (r === 'hang') {
        opts?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted')));
        return;
      }
      setImmediate(() => (r instanceof Error ? reject(r) : resolve(r)));
    });
  }
  /** PutRecord (what the producer sends for a call of one record) answered by the same responder. */
  private async putOne(input: Entry & { StreamName: string }, opts?: { abortSignal?: AbortSignal }): Promise<unknown> {
    this.putRecordCalls++;
    const { StreamName, ...entry } = input;
    const res = (await this.send({ input: { StreamName, Records: [entry] } } as unknown as PutRecordsCommand, opts)) as PutRecordsCommandOutput;
    const r = res.Records?.[0];
    if (r?.ErrorCode) throw Object.assign(new Error(r.ErrorMessage ?? r.ErrorCode), { name: r.ErrorCode });
    return { ShardId: r?.ShardId, SequenceNumber: r?.SequenceNumber, $metadata: {} };
  }
  private listShards(input: { StreamName?: string; NextToken?: string }): Promise<ListShardsCommandOutput> {
    this.listShardsCalls.push(input);
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        if (!this.shards) return reject(Object.assign(new Error('not authorized to perform kinesis:ListShards'), { name: 'AccessDeniedException' }));
        const page = input.NextToken === undefined ? 0 : Number(input.NextToken);
        const next = page + 1 < this.shards.length ? String(page + 1) : undefined;
        resolve({ Shards: this.shards[page], ...(next !== undefined ? { NextToken: next } : {}), $metadata: {} });
      }),
    );
  }
  /** Every user event the fake accepted, decoded, in acceptance order. */
  events(): unknown[] {
    return this.accepted.flatMap((r) => deaggregateRecordData(Buffer.from(r.Data)).map((b) => JSON.parse(b.toString())));
  }
}

function okAll(records: unknown[]): PutRecordsCommandOutput {
  return { FailedRecordCount: 0, Records: records.map((_, i) => ({ SequenceNumber: String(i), ShardId: 'shardId-0' })), $metadata: {} };
}

function networkError(): Error {
  const e = new Error('connect ECONNREFUSED 127.0.0.1:1');
  e.name = 'Error';
  return e;
}

function producer(fake: FakeKinesis, opts: Partial<KinesisProducerOptions> = {}): KinesisProducer {
  return new KinesisProducer({ client: fake.asClient(), lingerMs: 1, backoff: { baseMs: 1, capMs: 5 }, random: () => 0.5, ...opts });
}

describe('KinesisProducer (buffering and retries)', () => {
  it('aggregates events of one key into one record and sends them all', async () => {
    const fake = new FakeKinesis();
    const p = producer(fake);
    for (let i = 0; i < 100; i++) p.put('s', 'BTCUSDT', { i });
    expect(await p.flush(2000)).toBe(true);
    expect(fake.events()).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
    expect(fake.calls.every((c) => c.records.length === 1)).toBe(true);
    const st = p.stats();
    expect(st.events_sent).toBe(100);
    expect(st.buffer_size).toBe(0);
    await p.close();
  });

  it('without aggregation sends ≤ 500 records per call', async () => {
    const fake = new FakeKinesis();
    const p = producer(fake, { aggregate: false, lingerMs: 50 });
    for (let i = 0; i < 1200; i++) p.put('s', 'K', { i });
    expect(await p.flush(2000)).toBe(true);
    expect(Math.max(...fake.calls.map((c) => c.records.length))).toBe(500);
    expect(fake.events().length).toBe(1200);
    await p.close();
  });

  it('rejects an event over 1 MiB with a typed error and a counter, never sending it', async () => {
    const fake = new FakeKinesis();
    const p = producer(fake);
    expect(() => p.putData('s', 'K', Buffer.alloc(1024 * 1024))).toThrow(KinesisRecordTooLargeError);
    expect(() => p.put('s', 'K', { big: 1n })).toThrow(KinesisSerializationError);
    expect(p.stats().rejected_oversize).toBe(1);
    await p.flush(100);
    expect(fake.calls.length).toBe(0);
    await p.close();
    expect(() => p.put('s', 'K', {})).toThrow(KinesisProducerClosedError);
  });

  it('retries only the failed records of a partial failure and keeps per-key order', async () => {
    const fake = new FakeKinesis((records, call) =>
      call === 1
        ? {
            FailedRecordCount: 1,
            Records: records.map((r) =>
              r.PartitionKey === 'B' ? { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' } : { SequenceNumber: '1', ShardId: 's' },
            ),
            $metadata: {},
          }
        : okAll(records),
    );
    const p = producer(fake);
    for (let i = 0; i < 10; i++) {
      p.put('s', 'A', { k: 'A', i });
      p.put('s', 'B', { k: 'B', i });
    }
    expect(await p.flush(2000)).toBe(true);
    const keysOfCall2 = fake.calls[1].records.map((r) => r.PartitionKey);
    expect(keysOfCall2).toEqual(['B']);
    const ev = fake.events() as Array<{ k: string; i: number }>;
    expect(ev.filter((e) => e.k === 'A').map((e) => e.i)).toEqual([...Array(10).keys()]);
    expect(ev.filter((e) => e.k === 'B').map((e) => e.i)).toEqual([...Array(10).keys()]);
    const st = p.stats();
    expect(st.retries).toBe(10);
    expect(st.failed_records).toBe(1);
    expect(st.events_sent).toBe(20);
    await p.close();
  });

  it('sends a call of one record as PutRecord and retries it when throttled, as a record of PutRecords', async () => {
    let throttles = 3;
    const fake = new FakeKinesis((records) =>
      throttles-- > 0
        ? { FailedRecordCount: 1, Records: records.map(() => ({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' })), $metadata: {} }
        : okAll(records),
    );
    const p = producer(fake);
    for (let i = 0; i < 20; i++) p.put('s', 'K', { i });
    expect(await p.flush(5000)).toBe(true);
    expect(fake.putRecordCalls).toBe(fake.calls.length);
    expect(fake.calls.length).toBeGreaterThanOrEqual(4);
    expect((fake.events() as Array<{ i: number }>).map((e) => e.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const st = p.stats();
    expect(st.throttled).toBe(3);
    // Throttling is the records' failure, not the call's: the producer never reports Kinesis down for it.
    expect(st.status).not.toBe('down');
    await p.close();
  });

  it('drains an aggregated backlog in calls of many batches, bounded by bytes, not in one batch per call', async () => {
    const fake = new FakeKinesis();
    const p = producer(fake, { batchSize: 100 });
    // The first full batch leaves at once; the rest piles up behind it, as when calls slow down.
    for (let i = 0; i < 1000; i++) p.put('s', 'K', { i });
    expect(await p.flush(5000)).toBe(true);
    expect(fake.calls.length).toBeLessThanOrEqual(3);
    for (const c of fake.calls) expect(c.records.length).toBe(1);
    expect((fake.events() as Array<{ i: number }>).map((e) => e.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    await p.close();
  });

  it('halves the batch size on throttling and grows it back after successes', async () => {
    let throttle = true;
    const fake = new FakeKinesis((records) =>
      throttle
        ? { FailedRecordCount: records.length, Records: records.map(() => ({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' })), $metadata: {} }
        : okAll(records),
    );
    const p = producer(fake, { batchSize: 400, aggregate: false });
    for (let i = 0; i < 50; i++) p.put('s', 'K', { i });
    while (p.stats().throttled < 4) await new Promise((r) => setTimeout(r, 5));
    // 400 → 200 → 100 → 50 → 25 after four throttled calls.
    expect(p.stats().batch_size.s).toBeLessThanOrEqual(25);
    expect(p.stats().throttled).toBeGreaterThan(0);
    expect(p.stats().last_error).toContain('ProvisionedThroughputExceededException');
    throttle = false;
    for (let i = 50; i < 2000; i++) p.put('s', 'K', { i });
    expect(await p.flush(5000)).toBe(true);
    expect(p.stats().batch_size.s).toBe(400);
    expect((fake.events() as Array<{ i: number }>).length).toBe(2000);
    await p.close();
  });

  it('when Kinesis is unreachable, keeps the newest events within the bound and drops the oldest', async () => {
    let down = true;
    const fake = new FakeKinesis((records) => (down ? networkError() : okAll(records)));
    const drops: number[] = [];
    const p = producer(fake, { maxBufferedEvents: 100, hooks: { onDrop: (d) => drops.push(d.count) } });
    for (let i = 0; i < 1000; i++) p.put('s', 'K', { i });
    while (p.stats().failed_records < 2) await new Promise((r) => setTimeout(r, 5));
    const st = p.stats();
    expect(st.buffer_size).toBeLessThanOrEqual(100 + 100); // bound + at most one in-flight batch
    expect(st.dropped).toBeGreaterThanOrEqual(800);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(st.dropped);
    expect(st.status).not.toBe('healthy');
    down = false;
    expect(await p.flush(3000)).toBe(true);
    const got = (fake.events() as Array<{ i: number }>).map((e) => e.i);
    expect(got.length + p.stats().dropped).toBe(1000);
    // What survived is the newest, in order.
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(got[got.length - 1]).toBe(999);
    expect(got[0]).toBeGreaterThanOrEqual(800);
    await p.close();
  });

  it('drops by bytes too', async () => {
    const fake = new FakeKinesis(() => networkError());
    const p = producer(fake, { maxBufferedBytes: 10_000 });
    for (let i = 0; i < 100; i++) p.putData('s', 'K', Buffer.alloc(1000, 65));
    expect(p.stats().buffer_bytes).toBeLessThanOrEqual(10_000 + 1000);
    expect(p.stats().dropped).toBeGreaterThanOrEqual(89);
    await p.close(50);
  });

  it('close() gives up after its timeout, counts what was never sent, and settles a hung call', async () => {
    const fake = new FakeKinesis(() => 'hang');
    const p = producer(fake);
    for (let i = 0; i < 10; i++) p.put('s', 'K', { i });
    p.put('t', 'K', { i: 0 });
    const { unsent } = await p.close(100);
    expect(unsent).toBe(11);
    expect(p.stats().in_flight_calls).toBe(0);
  });

  it('reports acknowledgements with enqueue times for latency measurement', async () => {
    const fake = new FakeKinesis();
    const acks: number[] = [];
    const p = producer(fake, { hooks: { onAck: (a) => acks.push(...a.enqueuedAt.map((t) => a.ackedAt - t)) } });
    for (let i = 0; i < 30; i++) p.put('s', `K${i % 3}`, { i });
    await p.flush(2000);
    expect(acks.length).toBe(30);
    expect(acks.every((ms) => ms >= 0)).toBe(true);
    expect(p.stats().success_rate).toBe(1);
    await p.close();
  });

  it('putEvent sends each market event as its JSON, keyed by symbol, in per-key order', async () => {
    const fake = new FakeKinesis();
    const p = producer(fake);
    const events: MarketEvent[] = [];
    for (let i = 0; i < 300; i++) {
      const symbol = ['BTCUSDT', 'ÉTH"€', 'X\\Y'][i % 3];
      events.push(
        i % 2 === 0
          ? { type: 'trade', symbol, event_ts: 1_763_700_000_000_000 + i, source: 'sbe', trade_id: i, price: `98000.${i}`, quantity: '0.5', is_buyer_maker: i % 4 === 0, sequence_id: i, transact_ts: 1_763_700_000_000_000 }
          : { type: 'depth', symbol, event_ts: i, source: 'sbe', first_update_id: i, final_update_id: i + 1, bids: [[`${i}`, '1']], asks: [], recv_ts_us: i },
      );
    }
    for (const ev of events) p.putEvent('s', ev);
    expect(await p.flush(2000)).toBe(true);
    for (const key of ['BTCUSDT', 'ÉTH"€', 'X\\Y']) {
      const records = fake.accepted.filter((r) => r.PartitionKey === key);
      const sent = records.flatMap((r) => deaggregateRecordData(Buffer.from(r.Data)).map((b) => b.toString()));
      expect(sent).toEqual(events.filter((e) => e.symbol === key).map((e) => JSON.stringify(e)));
    }
    await p.close();
  });

  it('aborts a call that outlives callTimeoutMs and retries its events', async () => {
    const fake = new FakeKinesis((records, call) => (call === 1 ? 'hang' : okAll(records)));
    const p = producer(fake, { callTimeoutMs: 50 });
    for (let i = 0; i < 5; i++) p.put('s', 'K', { i });
    expect(await p.flush(2000)).toBe(true);
    expect(fake.calls.length).toBe(2);
    expect(fake.events()).toEqual(Array.from({ length: 5 }, (_, i) => ({ i })));
    const st = p.stats();
    expect(st.retries).toBe(5);
    expect(st.last_error).not.toBeNull();
    await p.close();
  });
});

const HALF = 1n << 127n;
const SHARD_IDS = ['shardId-000000000000', 'shardId-000000000001'];
function shardDesc(i: number): Shard {
  const [start, end] = i === 0 ? [0n, HALF - 1n] : [HALF, (1n << 128n) - 1n];
  return { ShardId: SHARD_IDS[i], HashKeyRange: { StartingHashKey: start.toString(), EndingHashKey: end.toString() }, SequenceNumberRange: { StartingSequenceNumber: '1' } };
}
/** Where Kinesis puts a record: its ExplicitHashKey when given, else the MD5 of its partition key. */
function shardOfEntry(e: Entry): string {
  const h = e.ExplicitHashKey !== undefined ? BigInt(e.ExplicitHashKey) : partitionKeyHash(e.PartitionKey);
  return h < HALF ? SHARD_IDS[0] : SHARD_IDS[1];
}
function okSharded(records: Entry[]): PutRecordsCommandOutput {
  return { FailedRecordCount: 0, Records: records.map((r, i) => ({ SequenceNumber: String(i), ShardId: shardOfEntry(r) })), $metadata: {} };
}
const KEYS = Array.from({ length: 12 }, (_, i) => `SYM${i}USDT`);

/** The user records of every accepted Kinesis record, with their own keys, in acceptance order. */
function acceptedUsers(fake: FakeKinesis): Array<{ key: string; payload: { k: string; i: number } }> {
  return fake.accepted.flatMap((r) =>
    deaggregateRecord(Buffer.from(r.Data), r.PartitionKey).map((u) => ({ key: u.partitionKey, payload: JSON.parse(u.data.toString()) as { k: string; i: number } })),
  );
}
function expectEachKeyOnceInOrder(fake: FakeKinesis, perKey: number): void {
  const users = acceptedUsers(fake);
  for (const u of users) expect(u.payload.k).toBe(u.key);
  for (const k of KEYS) expect(users.filter((u) => u.key === k).map((u) => u.payload.i)).toEqual([...Array(perKey).keys()]);
}
function keysOf(r: Entry): string[] {
  return [...new Set(deaggregateRecord(Buffer.from(r.Data), r.PartitionKey).map((u) => u.partitionKey))];
}

describe('KinesisProducer (aggregation across the keys of one shard)', () => {
  it('packs the keys of one shard into one Kinesis record per call, each user record under its own key', async () => {
    const fake = new FakeKinesis(okSharded);
    fake.shards = [[shardDesc(0), shardDesc(1)]];
    const p = producer(fake, { streams: ['s'] });
    await p.start();
    for (let i = 0; i < 20; i++) for (const k of KEYS) p.put('s', k, { k, i });
    expect(await p.flush(2000)).toBe(true);
    expect(fake.listShardsCalls).toEqual([{ StreamName: 's' }]);
    for (const c of fake.calls) expect(c.records.length).toBeLessThanOrEqual(2);
    const shared = fake.calls.flatMap((c) => c.records).filter((r) => keysOf(r).length > 1);
    expect(shared.length).toBeGreaterThan(0);
    for (const r of shared) {
      // Routed exactly where its first key goes, and every member key is predicted to that shard.
      expect(r.ExplicitHashKey).toBe(partitionKeyHash(r.PartitionKey).toString());
      for (const k of keysOf(r)) expect(shardOfEntry({ PartitionKey: k, Data: new Uint8Array() })).toBe(shardOfEntry(r));
    }
    expectEachKeyOnceInOrder(fake, 20);
    const st = p.stats();
    expect(st.records_sent).toBe(fake.accepted.length);
    expect(st.events_sent).toBe(KEYS.length * 20);
    expect(st.shard_map_errors).toBe(0);
    await p.close();
  });

  it('reads a paginated ListShards (NextToken without StreamName)', async () => {
    const fake = new FakeKinesis(okSharded);
    fake.shards = [[shardDesc(0)], [shardDesc(1)]];
    const p = producer(fake, { streams: ['s'] });
    await p.start();
    for (const k of KEYS) p.put('s', k, { k, i: 0 });
    expect(await p.flush(2000)).toBe(true);
    expect(fake.listShardsCalls).toEqual([{ StreamName: 's' }, { NextToken: '1' }]);
    expect(fake.calls.length).toBe(1);
    expect(new Set(fake.calls[0].records.map(shardOfEntry))).toEqual(new Set(SHARD_IDS));
    await p.close();
  });

  it('a failed shared record sends every member key\'s events again, at the front of its lane (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.boolean(), { maxLength: 2 }), { maxLength: 12 }), fc.integer({ min: 1, max: 40 }), async (failures, perKey) => {
        // Call c fails its record r when failures[c][r] says so; later calls all succeed.
        const fake = new FakeKinesis((records, call) => {
          const plan = failures[call - 1] ?? [];
          return {
            FailedRecordCount: 0,
            Records: records.map((r, i) => (plan[i] ? { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' } : { SequenceNumber: '1', ShardId: shardOfEntry(r) })),
            $metadata: {},
          };
        });
        fake.shards = [[shardDesc(0), shardDesc(1)]];
        const p = producer(fake, { streams: ['s'], backoff: { baseMs: 0, capMs: 0 } });
        await p.start();
        for (let i = 0; i < perKey; i++) for (const k of KEYS) p.put('s', k, { k, i });
        expect(await p.flush(5000)).toBe(true);
        for (const c of fake.calls) expect(c.records.length).toBeLessThanOrEqual(2);
        expectEachKeyOnceInOrder(fake, perKey);
        expect(p.stats().events_sent).toBe(KEYS.length * perKey);
        await p.close();
      }),
      { numRuns: 30 },
    );
  });

  it('sends one record per key when ListShards fails, logging it once and counting every failure', async () => {
    const fake = new FakeKinesis(okSharded);
    const warnings: string[] = [];
    const logger = { info: () => {}, error: () => {}, warn: (_o: object, msg: string) => warnings.push(msg) };
    const p = producer(fake, { streams: ['s'], logger, shardMapMinIntervalMs: 0 });
    await p.start();
    for (let round = 0; round < 3; round++) {
      for (const k of KEYS) p.put('s', k, { k, i: round });
      expect(await p.flush(2000)).toBe(true);
    }
    expect(fake.listShardsCalls.length).toBeGreaterThanOrEqual(1);
    for (const r of fake.accepted) {
      expect(keysOf(r)).toEqual([r.PartitionKey]);
      expect(r.ExplicitHashKey).toBeUndefined();
    }
    expectEachKeyOnceInOrder(fake, 3);
    expect(p.stats().shard_map_errors).toBe(fake.listShardsCalls.length);
    expect(warnings.filter((w) => w.includes('ListShards'))).toHaveLength(1);
    await p.close();
  });

  it('drops the map when a record lands on another shard than predicted, and lists the shards again only after the interval', async () => {
    // As after a reshard the producer has not seen: everything lands on a shard the map does not know.
    const moved = (records: Entry[]): PutRecordsCommandOutput => ({
      FailedRecordCount: 0,
      Records: records.map((_, i) => ({ SequenceNumber: String(i), ShardId: 'shardId-000000000007' })),
      $metadata: {},
    });
    const fake = new FakeKinesis(moved);
    fake.shards = [[shardDesc(0), shardDesc(1)]];
    const p = producer(fake, { streams: ['s'], shardMapMinIntervalMs: 3_600_000 });
    await p.start();
    for (const k of KEYS) p.put('s', k, { k, i: 0 });
    expect(await p.flush(2000)).toBe(true);
    expect(fake.calls.length).toBe(1);
    expect(fake.calls[0].records.length).toBe(2);
    for (const k of KEYS) p.put('s', k, { k, i: 1 });
    expect(await p.flush(2000)).toBe(true);
    // Map dropped: one record per key, and no second ListShards inside the interval.
    expect(fake.calls[1].records.map((r) => r.PartitionKey).sort()).toEqual([...KEYS].sort());
    expect(fake.listShardsCalls.length).toBe(1);
    expectEachKeyOnceInOrder(fake, 2);
    await p.close();

    const fake2 = new FakeKinesis(moved);
    fake2.shards = [[shardDesc(0), shardDesc(1)]];
    const p2 = producer(fake2, { streams: ['s'], shardMapMinIntervalMs: 0 });
    await p2.start();
    for (const k of KEYS) p2.put('s', k, { k, i: 0 });
    expect(await p2.flush(2000)).toBe(true);
    for (const k of KEYS) p2.put('s', k, { k, i: 1 });
    expect(await p2.flush(2000)).toBe(true);
    expect(fake2.listShardsCalls.length).toBeGreaterThanOrEqual(2);
    await p2.close();
  });

  it('keeps one record per key when aggregateAcrossKeys is off, without listing shards', async () => {
    const fake = new FakeKinesis(okSharded);
    fake.shards = [[shardDesc(0), shardDesc(1)]];
    const p = producer(fake, { streams: ['s'], aggregateAcrossKeys: false });
    await p.start();
    for (const k of KEYS) p.put('s', k, { k, i: 0 });
    expect(await p.flush(2000)).toBe(true);
    expect(fake.listShardsCalls).toEqual([]);
    expect(fake.calls[0].records.length).toBe(KEYS.length);
    await p.close();
  });
});
