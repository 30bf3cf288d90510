import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { BestBidAskEvent, DepthEvent, Level, MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { SymbolState } from '../../../src/core/symbol-state.js';
import { buildStagingState } from '../../../src/core/staging.js';
import { encodeEventFrame } from '../../../src/binance/sbe-encode.js';
import { aggregateRecords } from '../../../src/kinesis/deaggregate.js';
import { encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { REANCHOR_REQUESTS_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { AtomicReanchor } from '../../../src/redis/reanchor.js';
import { readMinuteStats } from '../../../src/redis/streams.js';
import { lambdaKinesisRecord } from '../../support/lambda-records.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LambdaConfigError, lambdaConfig, lambdaStream } from '../../../src/lambda/kinesis-handler.js';

/**
 * The Lambda handler against a real (private) redis-server: KPL-aggregated base64 records in, the same
 * projection as the service out, warm state across invocations, idempotent re-delivery, and a partial
 * batch response when Redis is gone.
 */

const SYM = 'LAMBDAUSDT';
let server: EmbeddedRedis;
let redis: RedisClient;
let handler: typeof import('../../../src/lambda/kinesis-handler.js').handler;
let dispose: typeof import('../../../src/lambda/kinesis-handler.js').disposeLambdaState;
let warmState: typeof import('../../../src/lambda/kinesis-handler.js').lambdaWarmState;
let seq = 1000;

beforeAll(async () => {
  server = await startEmbeddedRedis();
  process.env.REDIS_HOST = '127.0.0.1';
  process.env.REDIS_PORT = String(server.port);
  delete process.env.CONFIG_FILE;
  redis = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
  const mod = await import('../../../src/lambda/kinesis-handler.js');
  handler = mod.handler;
  dispose = mod.disposeLambdaState;
  warmState = mod.lambdaWarmState;
});

afterAll(async () => {
  await dispose();
  redis.disconnect();
  await server.stop();
});

/** One Kinesis record per group of events, each group KPL-aggregated (several user records per record). */
function kinesisEvent(groups: MarketEvent[][]): KinesisStreamEvent {
  const Records: KinesisStreamRecord[] = groups.map((evs) => {
    const [agg] = aggregateRecords(evs.map((e) => ({ partitionKey: e.symbol, data: Buffer.from(JSON.stringify(e)) })));
    return lambdaKinesisRecord({ stream: 'market-sbe-events', partitionKey: agg.partitionKey, data: agg.data, sequenceNumber: String(seq++) });
  });
  return { Records };
}

const t0 = Date.now() * 1000;
const trade = (id: number, price: string, qty: string, dtUs: number): TradeEvent => ({
  type: 'trade', symbol: SYM, event_ts: t0 + dtUs, source: 'sbe', trade_id: id, sequence_id: id, price, quantity: qty, is_buyer_maker: id % 2 === 0,
});
const diff = (U: number, u: number, bids: Level[], asks: Level[], dtUs: number): DepthEvent => ({
  type: 'depth', symbol: SYM, event_ts: t0 + dtUs, source: 'sbe', first_update_id: U, final_update_id: u, bids, asks,
});
const bba = (id: number, dtUs: number): BestBidAskEvent => ({
  type: 'bestBidAsk', symbol: SYM, event_ts: t0 + dtUs, source: 'sbe', sequence_id: id,
  bid_price: '100.5', bid_quantity: '1', ask_price: '100.7', ask_quantity: '2',
});

const snapshot = {
  lastUpdateId: 200,
  bids: [['100.5', '1.5'], ['100.4', '2'], ['100.3', '3']] as Level[],
  asks: [['100.7', '1'], ['100.8', '2.25'], ['100.9', '4']] as Level[],
};
const diffsBefore = [diff(190, 199, [['100.1', '9']], [], 1000), diff(200, 203, [['100.5', '1.75']], [['100.8', '0']], 2000)];
const diffsAfter = [diff(204, 207, [['100.6', '0.5']], [['100.75', '3']], 5000), diff(208, 210, [['100.4', '0']], [], 6000)];
const trades = [trade(1, '100.6', '0.1', 1500), trade(2, '100.65', '0.25', 2500), trade(3, '100.7', '0.002', 3000)];

describe('Lambda kinesis handler', () => {
  it('cold start: buffers depth without a book, asks for a re-anchor, writes trades and per-minute stats', async () => {
    const res = await handler(kinesisEvent([[bba(150, 500), ...diffsBefore], trades]));
    expect(res.batchItemFailures).toEqual([]);
    const k = symbolKeys(SYM);
    const requests = await redis.xrange(REANCHOR_REQUESTS_STREAM, '-', '+');
    expect(requests.map(([, f]) => [f[1], f[3]])).toEqual([[SYM, 'no-book']]);
    const ob = await redis.hgetall(k.ob);
    expect(ob.status).toBe('resyncing');
    const tr1 = await redis.hgetall(k.tr1s);
    expect(tr1.count).toBe('3');
    expect(tr1.volume).toBe('0.352');
    const minute = Math.floor((t0 + 1500) / 60_000_000) * 60_000;
    const stats = await readMinuteStats(redis, SYM, [minute, minute + 60_000]);
    const total = stats.reduce((a, s) => a + s.count, 0);
    expect(total).toBe(3);
    const state = await warmState();
    expect(state?.symbols[0]).toMatchObject({ symbol: SYM, status: 'resyncing', buffered: 2 });
  });

  it('warm: after the swap it loads the snapshot, replays buffered diffs with u > lastUpdateId and goes live exactly', async () => {
    const ra = new AtomicReanchor(redis, { minIntervalMs: 0 });
    const r = await ra.run(SYM, async () => {
      const s = buildStagingState(SYM, snapshot, [], Date.now());
      return { ob: s.ob, tr1s: s.tr1s, tr5s: s.tr5s, feat: s.feat, snapshot };
    });
    expect(r.status).toBe('ok');
    const res = await handler(kinesisEvent([diffsAfter]));
    expect(res.batchItemFailures).toEqual([]);

    // Reference: the core alone, fed the snapshot and every diff (stale ones are skipped by the rules).
    const ref = new SymbolState(SYM);
    ref.loadSnapshot(snapshot, t0);
    for (const d of [...diffsBefore, ...diffsAfter]) ref.apply(d);
    expect(ref.status).toBe('live');
    const expected = ref.obHash(10).set;
    const ob = await redis.hgetall(symbolKeys(SYM).ob);
    expect(ob.status).toBe('live');
    expect(ob.last_update_id).toBe('210');
    for (const f of Object.keys(expected).filter((f) => /^(bid|ask)\d+_[pq]$/.test(f))) expect(ob[f]).toBe(expected[f]);
    expect(ob.best_bid).toBe('100.6');
    expect(ob.bid3_p).toBe('100.3');
    expect(ob.ask2_p).toBe('100.75');
    expect(ob.ask2_q).toBe('3');
    const state = await warmState();
    expect(state?.invocations).toBe(2);
    expect(state?.counters.reanchor_outcomes.ok).toBe(1);
  });

  it('a re-delivered batch (Lambda retry) changes nothing: no double counting', async () => {
    const before = await redis.hgetall(symbolKeys(SYM).tr5s);
    const res = await handler(kinesisEvent([trades, diffsAfter]));
    expect(res.batchItemFailures).toEqual([]);
    const after = await redis.hgetall(symbolKeys(SYM).tr5s);
    expect(after.count).toBe('3');
    expect(after.volume).toBe(before.volume);
    const minute = Math.floor((t0 + 1500) / 60_000_000) * 60_000;
    const stats = await readMinuteStats(redis, SYM, [minute, minute + 60_000]);
    expect(stats.reduce((a, s) => a + s.count, 0)).toBe(3);
  });

  it('skips corrupt and invalid records but keeps the rest of the batch', async () => {
    const ev = kinesisEvent([[trade(4, '100.7', '1', 7000)]]);
    const bad = kinesisEvent([[trade(5, '100.7', '1', 7100)]]).Records[0];
    bad.kinesis.data = Buffer.from('{"type":"trade","symbol":"LAMBDAUSDT"}').toString('base64');
    ev.Records.push(bad);
    const res = await handler(ev);
    expect(res.batchItemFailures).toEqual([]);
    expect((await redis.hgetall(symbolKeys(SYM).tr5s)).count).toBe('4');
    const state = await warmState();
    expect(state?.counters.decode_errors).toBe(1);
  });

  it('applies SBE records like JSON ones, both formats in one aggregated record; a bad SBE message is skipped and counted', async () => {
    const sbe = (ev: MarketEvent): Buffer => encodeSbeRecord(encodeEventFrame(ev), Date.now() * 1000, 1);
    const [agg] = aggregateRecords([
      { partitionKey: SYM, data: sbe(trade(5, '100.7', '0.5', 7010)) },
      { partitionKey: SYM, data: Buffer.from(JSON.stringify(trade(6, '100.8', '0.25', 7020))) },
      { partitionKey: SYM, data: sbe(trade(7, '100.9', '0.125', 7030)) },
      { partitionKey: SYM, data: sbe(trade(8, '101', '1', 7040)).subarray(0, 40) },
    ]);
    const before = await warmState();
    const res = await handler({ Records: [lambdaKinesisRecord({ stream: 'market-sbe-events', partitionKey: SYM, data: agg.data, sequenceNumber: String(seq++) })] });
    expect(res.batchItemFailures).toEqual([]);
    const tr5 = await redis.hgetall(symbolKeys(SYM).tr5s);
    expect(tr5.count).toBe('7');
    const state = await warmState();
    expect(state!.counters.decode_errors - before!.counters.decode_errors).toBe(1);
    expect(state!.counters.dead_letters - before!.counters.dead_letters).toBe(1);
  });

  it('ignores records from a stream other than the configured one (each would build a partial state)', async () => {
    const before = await redis.hgetall(symbolKeys(SYM).tr5s);
    const ev = kinesisEvent([[trade(50, '100.9', '1', 7200)]]);
    ev.Records[0].eventSourceARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/market-sbe-trade';
    const res = await handler(ev);
    expect(res.batchItemFailures).toEqual([]);
    expect((await redis.hgetall(symbolKeys(SYM).tr5s)).count).toBe(before.count);
  });

  it('refuses, at cold start, a config with one stream per event type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'btcpipe-lambda-'));
    const file = join(dir, 'three.yaml');
    writeFileSync(
      file,
      `redis:\n  host: "127.0.0.1"\n  port: ${server.port}\naws:\n  kinesis:\n    streams:\n      trade: "t"\n      depth: "d"\n      bestbidask: "b"\n`,
    );
    expect(() => lambdaStream(lambdaConfig({ CONFIG_FILE: file }))).toThrow(LambdaConfigError);
    expect(() => lambdaStream(lambdaConfig({ CONFIG_FILE: file }))).toThrow(/needs every event type on one stream, but aws.kinesis.streams names t, d, b/);
    await dispose();
    process.env.CONFIG_FILE = file;
    try {
      const before = await redis.hgetall(symbolKeys(SYM).tr5s);
      const ev = kinesisEvent([[trade(51, '100.9', '1', 7300)]]);
      const res = await handler(ev);
      expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(ev.Records.map((r) => r.kinesis.sequenceNumber));
      expect((await redis.hgetall(symbolKeys(SYM).tr5s)).count).toBe(before.count);
    } finally {
      delete process.env.CONFIG_FILE;
      await dispose();
    }
  });

  it('reports every record as failed when Redis is gone, so Lambda retries the batch', async () => {
    await server.stop();
    const ev = kinesisEvent([[trade(6, '100.7', '1', 8000)], [trade(7, '100.7', '1', 8100)]]);
    const res = await handler(ev);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(ev.Records.map((r) => r.kinesis.sequenceNumber));
  });
});
