import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { BestBidAskEvent, DepthEvent, TradeEvent } from '../../../src/core/events.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { createLogger } from '../../../src/ops/logger.js';
import type { Service } from '../../../src/services/service.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { sharedKinesisEndpoint, sharedRedisUrl, uniqueSuffix, uniqueSymbol } from '../../support/servers.js';
import { aggregatorConfig, sleep, waitFor } from './support/stack.js';

/**
 * One stream per event type, the trade stream running 200 ms behind the bestBidAsk stream (as when one
 * Kinesis stream or its producer lags): every feature vector the aggregator writes must count exactly the
 * trades of its own 1 s window — (event_ts_us − 1 s, event_ts_us] — never a window whose time was advanced
 * by another stream past trades that had not arrived yet.
 */

const SYM = uniqueSymbol('LAGUSDT');
const sfx = uniqueSuffix();
const streams = { trade: `lag-trade-${sfx}`, depth: `lag-depth-${sfx}`, bestbidask: `lag-bba-${sfx}` };
let kinesis: KinesisClient;
let redis: RedisClient;
let service: Service | undefined;

beforeAll(async () => {
  kinesis = localKinesisClient(sharedKinesisEndpoint());
  await ensureStreams(kinesis, Object.values(streams));
  redis = createRedis({ url: sharedRedisUrl(), socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
  const port = Number(new URL(sharedRedisUrl()).port);
  const config = aggregatorConfig({
    redisPort: port,
    kinesisEndpoint: sharedKinesisEndpoint(),
    streams,
    symbols: [SYM],
    initialPosition: 'TRIM_HORIZON',
    // Every stream carries events here, so only their own times may move the watermark: no wall-clock
    // bound that a slow put on a loaded test machine could overtake.
    consumer: { watermark_idle_ms: 60_000, watermark_max_hold_ms: 600_000 },
    processing: { feature_update_interval_seconds: 0.1, reanchor_request_interval_seconds: 60 },
    prometheus: false,
  });
  service = createAggregatorService(config, createLogger({ service: 'lag-test', level: 'warn' }));
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  redis?.disconnect();
  kinesis?.destroy();
});

async function put(stream: string, events: readonly object[]): Promise<void> {
  if (events.length === 0) return;
  const res = await kinesis.send(
    new PutRecordsCommand({ StreamName: stream, Records: events.map((e) => ({ PartitionKey: SYM, Data: Buffer.from(JSON.stringify(e)) })) }),
  );
  expect(res.FailedRecordCount ?? 0).toBe(0);
}

describe('aggregator with one stream per event type', () => {
  it('a lagging trade stream never makes a written window undercount', async () => {
    const tradeTimes: number[] = [];
    const lagged: Array<{ dueMs: number; ev: TradeEvent }> = [];
    let id = 1;
    const samples = new Map<number, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const f = await redis.hgetall(symbolKeys(SYM).feat);
        if (f.event_ts_us) samples.set(Number(f.event_ts_us), Number(f.volume_1s));
        await sleep(15);
      }
    })();

    // The generator runs on its own cadence; each stream has one sender that puts what is due, in order
    // (one PutRecords in flight per stream, as the producer does), the trade sender 200 ms behind.
    const bbaQueue: BestBidAskEvent[] = [];
    const depthQueue: DepthEvent[] = [];
    let generating = true;
    const sender = async (stream: string, take: () => object[]): Promise<void> => {
      while (generating || lagged.length > 0 || bbaQueue.length > 0 || depthQueue.length > 0) {
        const batch = take();
        if (batch.length > 0) await put(stream, batch);
        else await sleep(5);
      }
    };
    const senders = Promise.all([
      sender(streams.bestbidask, () => bbaQueue.splice(0)),
      sender(streams.depth, () => depthQueue.splice(0)),
      sender(streams.trade, () => {
        const now = Date.now();
        let n = 0;
        while (n < lagged.length && (lagged[n].dueMs <= now || !generating)) n++;
        return lagged.splice(0, n).map((l) => l.ev);
      }),
    ]);
    const endMs = Date.now() + 4000;
    while (Date.now() < endMs) {
      const tsUs = Date.now() * 1000;
      // No book ever arrives (no re-anchor here): diffs are buffered, and still carry their stream's time.
      depthQueue.push({
        type: 'depth', symbol: SYM, event_ts: tsUs, source: 'sbe', first_update_id: 1000 + id, final_update_id: 1000 + id,
        bids: [['100.00', String(id)]], asks: [],
      });
      bbaQueue.push({
        type: 'bestBidAsk', symbol: SYM, event_ts: tsUs, source: 'sbe', sequence_id: id,
        bid_price: '100.00', bid_quantity: '1', ask_price: '100.10', ask_quantity: '1',
      });
      const trade: TradeEvent = {
        type: 'trade', symbol: SYM, event_ts: tsUs, source: 'sbe', trade_id: id, sequence_id: id,
        price: '100.05', quantity: '1', is_buyer_maker: id % 2 === 0,
      };
      id++;
      tradeTimes.push(tsUs);
      lagged.push({ dueMs: Date.now() + 200, ev: trade });
      await sleep(10);
    }
    generating = false;
    await senders;
    const last = tradeTimes[tradeTimes.length - 1];
    await waitFor('the last event in a feature vector', () => [...samples.keys()].some((t) => t >= last), 30_000);
    sampling = false;
    await sampler;

    const wrong: string[] = [];
    for (const [nowUs, volume] of samples) {
      const expected = tradeTimes.filter((t) => t > nowUs - 1_000_000 && t <= nowUs).length;
      if (volume !== expected) wrong.push(`at ${nowUs}: volume_1s ${volume}, trades in its window ${expected}`);
    }
    expect(samples.size).toBeGreaterThanOrEqual(3);
    expect(wrong).toEqual([]);
  });
});
