import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { createLogger } from '../../../src/ops/logger.js';
import { runService, type RunningService } from '../../../src/services/service.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { uniqueSuffix } from '../../support/servers.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import { resolveConfig } from '../../../src/ops/config.js';
import type { Service } from '../../../src/services/service.js';
import { startResponder, type Responder } from './support/responder.js';
import { aggregatorConfig, obMismatches, sleep, truthBook, waitFor, type TruthBook } from './support/stack.js';

/**
 * simulator → SBE WebSocket → SBE ingest service → kinesis-local → aggregator → redis-server, with re-anchors
 * performed by the REST mode's code path (AtomicReanchor + the simulator's REST depth). For 60 s we read
 * ob:{SYM} with one HGETALL at a time: every sample must be the venue's true book at the sample's own
 * last_update_id, or say `resyncing`. From 20 s to 40 s 2 % of depth frames are dropped.
 */

const SYM = 'BTCUSDT';
const SAMPLE_MS = 60_000;
const DROP_FROM_MS = 20_000;
const DROP_UNTIL_MS = 40_000;

let sim: Simulator;
let server: EmbeddedRedis;
let redis: RedisClient;
let blocking: RedisClient;
let responder: Responder | undefined;
let ingest: Service | undefined;
let running: RunningService | undefined;

beforeAll(async () => {
  server = await startEmbeddedRedis();
  redis = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  blocking = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000, blocking: true });
  await Promise.all([waitForRedisReady(redis, 5000), waitForRedisReady(blocking, 5000)]);
  // Full-depth snapshots weigh 250: lift the venue's weight limit so re-anchors are never refused here.
  sim = await startSimulator({ symbols: [SYM], seed: 11, rate: 200, weightLimitPerMinute: 1_000_000 });
});

afterAll(async () => {
  await ingest?.stop();
  await running?.stop();
  await responder?.stop();
  await sim?.stop();
  redis?.disconnect();
  blocking?.disconnect();
  await server?.stop();
});

describe('aggregator on the full local stack', () => {
  it('keeps ob:{SYM} equal to the venue book at its last_update_id (or resyncing), through drops and re-anchors', async () => {
    const sfx = uniqueSuffix();
    const streams = { trade: `agg-${sfx}-trade`, bestbidask: `agg-${sfx}-bba`, depth: `agg-${sfx}-depth` };
    const endpoint = inject('kinesisEndpoint');
    const kc = localKinesisClient(endpoint);
    await ensureStreams(kc, [streams.trade, streams.bestbidask, streams.depth]);
    kc.destroy();

    responder = await startResponder({ redis, blocking, restUrl: sim.restUrl, minIntervalMs: 500 });
    const config = aggregatorConfig({ redisPort: server.port, kinesisEndpoint: endpoint, streams, symbols: [SYM] });
    const logger = createLogger({ service: 'aggregator-test', level: 'warn' });
    running = await runService(createAggregatorService(config, logger), config, logger);
    const ingestConfig = resolveConfig(
      {
        binance: { sbe_ws_url: sim.wsUrl, rest_base_url: sim.restUrl, api_key: 'test-key', symbols: [SYM] },
        aws: { region: 'us-east-1', endpoint_url: endpoint, kinesis: { streams } },
        health: { port: 0, host: '127.0.0.1' },
        metrics: { prometheus_port: 0 },
        logging: { level: 'warn' },
      },
      'test',
      { mode: 'sbe', env: {} },
    );
    ingest = createSbeIngestService(ingestConfig, logger);
    await ingest.start();

    const key = symbolKeys(SYM).ob;
    await waitFor('the first live book', async () => (await redis.hget(key, 'status')) === 'live', 30_000);

    // Samples are recorded as fast as HGETALL answers and checked against the truth afterwards (the venue
    // keeps 10 minutes of history), so slow truth look-ups never thin out the sampling.
    const byId = new Map<number, Map<string, { ob: Record<string, string>; n: number }>>();
    let compared = 0;
    let resyncing = 0;
    let resyncedAfterDrops = false;
    let liveAgainAfterResync = false;
    const start = Date.now();
    let dropping = false;
    while (Date.now() - start < SAMPLE_MS) {
      const elapsed = Date.now() - start;
      if (!dropping && elapsed >= DROP_FROM_MS && elapsed < DROP_UNTIL_MS) {
        sim.setFaults({ drop: { streams: ['depth'], probability: 0.02 } });
        dropping = true;
      } else if (dropping && elapsed >= DROP_UNTIL_MS) {
        sim.clearFaults();
        dropping = false;
      }
      const ob = await redis.hgetall(key);
      if (ob.status !== 'live') {
        resyncing++;
        if (elapsed >= DROP_FROM_MS) resyncedAfterDrops = true;
      } else {
        if (resyncedAfterDrops) liveAgainAfterResync = true;
        compared++;
        const id = Number(ob.last_update_id);
        let group = byId.get(id);
        if (!group) byId.set(id, (group = new Map()));
        const levels = Object.keys(ob).filter((f) => /^(bid|ask)\d+_[pq]$|^best_/.test(f)).sort().map((f) => `${f}=${ob[f]}`).join(',');
        const g = group.get(levels);
        if (g) g.n++;
        else group.set(levels, { ob, n: 1 });
      }
      await sleep(5);
    }
    if (dropping) sim.clearFaults();

    const mismatches: { id: number; diff: string[] }[] = [];
    let outOfHistory = 0;
    const ids = [...byId.keys()];
    const check = async (id: number): Promise<void> => {
      const truth: TruthBook | null = await truthBook(sim.restUrl, SYM, id);
      if (!truth) {
        outOfHistory++;
        return;
      }
      for (const { ob, n } of (byId.get(id) as Map<string, { ob: Record<string, string>; n: number }>).values()) {
        const diff = obMismatches(ob, truth);
        // The quote fields come from the same book: they must agree with level 1.
        if (ob.best_bid !== ob.bid1_p || ob.best_ask !== ob.ask1_p) diff.push(`best ${ob.best_bid}/${ob.best_ask} vs level 1 ${ob.bid1_p}/${ob.ask1_p}`);
        if (diff.length > 0) mismatches.push({ id, diff: [`${n} samples`, ...diff] });
      }
    };
    for (let i = 0; i < ids.length; i += 4) await Promise.all(ids.slice(i, i + 4).map(check));

    const simStats = sim.stats() as unknown as { streams?: Record<string, { dropped?: number }> };
    const health = (await (await fetch(`http://127.0.0.1:${running.health.port}/health`)).json()) as Record<string, unknown>;
    const metrics = await (await fetch(`http://127.0.0.1:${running.metrics?.port}/metrics`)).text();
    const okReanchors = responder.results.filter((r) => r.status === 'ok').length;
    console.log(
      `[aggregate e2e] samples compared=${compared} distinct ids=${ids.length} resyncing=${resyncing} outOfHistory=${outOfHistory} ` +
        `mismatches=${mismatches.length} reanchors ok=${okReanchors} requests=${responder.requests.length} ` +
        `depth dropped=${JSON.stringify(simStats.streams?.depth ?? simStats)}`,
    );

    const st = (await running.service.stats()) as { consumers: Record<string, { records_processed: number; lag_seconds: number }>; redis: unknown; pipeline: unknown };
    console.log(`[aggregate e2e] consumers=${JSON.stringify(st.consumers)} redis=${JSON.stringify(st.redis)} pipeline=${JSON.stringify(st.pipeline)}`);
    console.log(metrics.split('\n').filter((l) => l.startsWith('aggregator_end_to_end_latency_seconds')).join('\n'));
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(500);
    expect(ids.length).toBeGreaterThan(30);
    expect(outOfHistory).toBe(0);
    // The drops broke the book, it was re-anchored (initial no-book + at least one gap) and came back.
    expect(resyncedAfterDrops).toBe(true);
    expect(liveAgainAfterResync).toBe(true);
    expect(okReanchors).toBeGreaterThanOrEqual(2);
    expect(responder.requests.some((r) => r.reason === 'gap' || r.reason === 'buffer-gap')).toBe(true);
    await waitFor('live again after the faults cleared', async () => (await redis.hget(key, 'status')) === 'live', 30_000);

    // Health and metrics carry real values in the seed's shapes.
    const comps = health.components as Record<string, Record<string, Record<string, unknown>>>;
    expect(health.service).toBe('bitcoin-aggregator');
    expect(comps.kinesis_consumers.trade_stream.status).toBe('consuming');
    expect(comps.kinesis_consumers.depth_stream.records_per_second).toBeGreaterThan(0);
    expect(typeof comps.kinesis_consumers.bestbidask_stream.last_processed).toBe('string');
    expect(comps.redis_cluster.status).toBe('connected');
    expect(comps.redis_cluster.operations_per_second).toBeGreaterThan(0);
    expect(comps.feature_pipeline.status).toBe('active');
    expect(comps.feature_pipeline.features_per_minute).toBeGreaterThanOrEqual(30);
    expect(comps.reanchor_system.last_reanchor).toEqual(expect.any(String));
    expect(comps.books[SYM]).toMatchObject({ last_update_id: expect.any(Number) });
    for (const name of [
      'aggregator_kinesis_records_processed_total{',
      'aggregator_redis_operations_total{result="ok"',
      'aggregator_feature_updates_total{',
      'aggregator_feature_computation_duration_seconds_bucket',
      'aggregator_reanchor_operations_total{result="ok"',
      'aggregator_reanchor_duration_seconds_count',
      'aggregator_book_status{',
      'aggregator_end_to_end_latency_seconds_bucket',
    ]) {
      expect(metrics).toContain(name);
    }
    const feat = await redis.hgetall(symbolKeys(SYM).feat);
    expect(Number(feat.completeness)).toBeGreaterThan(0);
    expect(Object.values(feat).every((v) => Number.isFinite(Number(v)))).toBe(true);
  }, 180_000);
});
