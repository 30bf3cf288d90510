import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { decodeMinuteValue } from '../../../src/redis/codec.js';
import { checkpointKey } from '../../../src/kinesis/redis-checkpoints.js';
import { addDecimals } from '../../../src/core/decimal.js';
import { createLogger } from '../../../src/ops/logger.js';
import type { Service } from '../../../src/services/service.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { uniqueSuffix } from '../../support/servers.js';
import { startSbePipe, type SbePipe } from './support/pipe.js';
import { startResponder, type Responder } from './support/responder.js';
import { aggregatorConfig, sleep, waitFor } from './support/stack.js';

/**
 * Restart mid-run: a second aggregator resumes from the first one's Redis checkpoints, and the per-minute
 * trade stats (count and exact volume, the REST volume check's input) equal the venue's trades — nothing
 * counted twice, nothing lost, including the minute the restart happened in. The bestBidAsk stream does not
 * exist: its consumer fails alone while the other two keep working, and health says which one.
 */

const SYM = 'BTCUSDT';
let sim: Simulator;
let server: EmbeddedRedis;
let redis: RedisClient;
let blocking: RedisClient;
let responder: Responder | undefined;
let pipe: SbePipe | undefined;
const services: Service[] = [];

beforeAll(async () => {
  server = await startEmbeddedRedis();
  redis = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  blocking = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000, blocking: true });
  await Promise.all([waitForRedisReady(redis, 5000), waitForRedisReady(blocking, 5000)]);
  sim = await startSimulator({ symbols: [SYM], seed: 23, rate: 100, weightLimitPerMinute: 1_000_000 });
});

afterAll(async () => {
  await pipe?.stop();
  for (const s of services) await s.stop();
  await responder?.stop();
  await sim?.stop();
  redis?.disconnect();
  blocking?.disconnect();
  await server?.stop();
});

interface TruthTrade {
  id: number;
  qty: string;
  timeUs: number;
}

async function truthTrades(fromId: number, toId: number): Promise<TruthTrade[]> {
  const out: TruthTrade[] = [];
  for (let from = fromId; from <= toId; ) {
    const res = await fetch(`${sim.restUrl}/sim/truth/trades?symbol=${SYM}&fromId=${from}&limit=${Math.min(10_000, toId - from + 1)}`);
    const page = (await res.json()) as TruthTrade[];
    if (page.length === 0) break;
    out.push(...page.filter((t) => t.id <= toId));
    from = page[page.length - 1].id + 1;
  }
  return out;
}

function byMinute(trades: readonly { timeUs: number; qty: string }[]): Map<number, { count: number; volume: string }> {
  const groups = new Map<number, string[]>();
  for (const t of trades) {
    const m = Math.floor(t.timeUs / 60_000_000) * 60_000;
    let g = groups.get(m);
    if (!g) groups.set(m, (g = []));
    g.push(t.qty);
  }
  return new Map([...groups].map(([m, qs]) => [m, { count: qs.length, volume: addDecimals(qs) }]));
}

async function redisMinutes(): Promise<Map<number, { count: number; volume: string }>> {
  const raw = await redis.hgetall(symbolKeys(SYM).minutes);
  return new Map(Object.entries(raw).map(([f, v]) => {
    const m = decodeMinuteValue(Number(f), v);
    return [m.minuteStartMs, { count: m.count, volume: m.volume }];
  }));
}

describe('aggregator restart', () => {
  it('resumes from checkpoints without double counting; a missing stream fails alone', async () => {
    const sfx = uniqueSuffix();
    const streams = { trade: `agr-${sfx}-trade`, bestbidask: `agr-${sfx}-bba-missing`, depth: `agr-${sfx}-depth` };
    const endpoint = inject('kinesisEndpoint');
    const kc = localKinesisClient(endpoint);
    await ensureStreams(kc, [streams.trade, streams.depth]);
    kc.destroy();

    responder = await startResponder({ redis, blocking, restUrl: sim.restUrl, minIntervalMs: 500 });
    // TRIM_HORIZON on fresh streams: the first run sees every trade the pipe forwarded.
    const config = aggregatorConfig({ redisPort: server.port, kinesisEndpoint: endpoint, streams, symbols: [SYM], initialPosition: 'TRIM_HORIZON' });
    const logger = createLogger({ service: 'aggregator-restart-test', level: 'error' });
    pipe = await startSbePipe({ wsUrl: sim.wsUrl, symbols: [SYM], kinesisEndpoint: endpoint, streams, types: ['trade', 'depth'] });

    const first = createAggregatorService(config, logger);
    services.push(first);
    await first.start();
    await waitFor('trades in Redis', async () => Number((await redis.hget(symbolKeys(SYM).tr5s, 'count')) ?? 0) > 0, 30_000);
    await waitFor('the book live', async () => (await redis.hget(symbolKeys(SYM).ob, 'status')) === 'live', 30_000);
    await sleep(4000);

    const h = await first.health();
    const consumers = (h.components as Record<string, Record<string, { status: string }>>).kinesis_consumers;
    expect(consumers.bestbidask_stream.status).toBe('error');
    expect(consumers.trade_stream.status).toBe('consuming');
    expect(consumers.depth_stream.status).toBe('consuming');
    expect(h.status).toBe('degraded');

    await first.stop();
    const checkpoints = await redis.hgetall(checkpointKey(streams.trade));
    expect(Object.keys(checkpoints).length).toBe(1);
    // Events keep flowing into Kinesis while no aggregator runs.
    const forwardedAtStop = pipe.trades.length;
    await sleep(3000);
    expect(pipe.trades.length).toBeGreaterThan(forwardedAtStop);

    const second = createAggregatorService(config, logger);
    services.push(second);
    await second.start();
    await sleep(5000);
    await pipe.stop();
    const sent = pipe.trades;
    pipe = undefined;

    const ids = sent.map((t) => t.trade_id);
    expect(new Set(ids).size).toBe(ids.length);
    const firstId = ids[0];
    const lastId = ids[ids.length - 1];
    expect(lastId - firstId + 1).toBe(ids.length); // the pipe lost nothing: the comparison below is against the venue
    const truth = await truthTrades(firstId, lastId);
    expect(truth.length).toBe(ids.length);
    const expected = byMinute(truth);

    // Wait until the second run has drained Kinesis, then make sure nothing more arrives on top.
    const total = (m: Map<number, { count: number }>): number => [...m.values()].reduce((a, v) => a + v.count, 0);
    await waitFor('every trade counted', async () => total(await redisMinutes()) >= truth.length, 60_000, 200);
    await sleep(1500);
    const got = await redisMinutes();
    console.log(`[aggregate restart] trades=${truth.length} minutes=${JSON.stringify([...got])}`);
    expect(total(got)).toBe(truth.length);
    expect([...got].sort((a, b) => a[0] - b[0])).toEqual([...expected].sort((a, b) => a[0] - b[0]));

    const tr5 = await redis.hgetall(symbolKeys(SYM).tr5s);
    expect(Number(tr5.count)).toBeGreaterThan(0);
    await second.stop();
  }, 150_000);
});
