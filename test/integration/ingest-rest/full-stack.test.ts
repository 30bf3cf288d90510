import { afterEach, describe, expect, it, inject } from 'vitest';
import { isSequenceGapReason } from '../../../src/core/gap-rules.js';
import { createLogger } from '../../../src/ops/logger.js';
import { resolveConfig } from '../../../src/ops/config.js';
import { REANCHOR_DONE_STREAM, REANCHOR_REQUESTS_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import { createRestIngestService } from '../../../src/services/ingest-rest.js';
import { startEmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady } from '../../../src/redis/connect.js';
import { startSimulator } from '../../../src/sim/index.js';
import { uniqueSuffix } from '../../support/servers.js';
import { captureLogger, metricValue, obMismatches, restConfig, sleep, truthBook, waitFor, type Stack } from './support.js';

const SYM = 'BTCUSDT';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.().catch(() => undefined);
});

describe('full stack: simulator → SBE ingestor → kinesis-local → aggregator → redis, with the REST mode', () => {
  it('detects every hot-path break the aggregator reports and re-anchors ob:{SYM} to the venue book', async () => {
    const [sim, redisServer] = await Promise.all([
      // Full-depth snapshots weigh 250: lift the venue's limit so re-anchors are never refused here.
      startSimulator({ symbols: [SYM], seed: 23, rate: 150, weightLimitPerMinute: 1_000_000 }),
      startEmbeddedRedis(),
    ]);
    cleanups.push(() => Promise.allSettled([sim.stop(), redisServer.stop()]));
    const redis = createRedis({ url: redisServer.url, socketTimeoutMs: 2000, connectTimeoutMs: 1000 });
    await waitForRedisReady(redis, 5000);
    cleanups.push(async () => redis.disconnect());
    const stack = { sim, redisServer, redis, lakeDir: `/tmp/btcpipe-fullstack-${uniqueSuffix()}`, stop: async () => undefined } as Stack;

    const sfx = uniqueSuffix();
    const endpoint = inject('kinesisEndpoint');
    const common = {
      binance: { sbe_ws_url: sim.wsUrl, rest_base_url: sim.restUrl, api_key: 'test-key-fullstack-01', symbols: [SYM], watchdog_timeout_seconds: 10 },
      aws: {
        region: 'us-east-1',
        endpoint_url: endpoint,
        kinesis: {
          streams: { trade: `rf-trade-${sfx}`, bestbidask: `rf-bba-${sfx}`, depth: `rf-depth-${sfx}` },
          create_streams: true,
          consumer_config: { shard_iterator_type: 'TRIM_HORIZON', max_records_per_poll: 1000, poll_interval_ms: 20 },
        },
      },
      redis: { host: '127.0.0.1', port: redisServer.port, socket_timeout_seconds: 2 },
      processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1 },
      health: { port: 0, host: '127.0.0.1' },
      metrics: { prometheus_port: 0 },
      logging: { level: 'warn' },
    };
    const logger = createLogger({ service: 'fullstack', level: 'error' });
    const sbe = await createSbeIngestService(resolveConfig(common, 'test', { mode: 'sbe', env: {} }), logger);
    await sbe.start();
    cleanups.push(() => sbe.stop());
    const agg = await createAggregatorService(resolveConfig(common, 'test', { mode: 'aggregator', env: {} }), logger);
    await agg.start();
    cleanups.push(() => agg.stop());
    const cap = captureLogger();
    const restCfg = restConfig(stack, {
      binance: { rate_limit_requests_per_minute: 100_000 },
      scheduler: { poll_interval_seconds: 5, reanchor_min_interval_seconds: 1 },
      lake: { root: stack.lakeDir },
    });
    const rest = createRestIngestService(restCfg, cap.logger);
    await rest.start();
    cleanups.push(() => rest.stop());

    const k = symbolKeys(SYM);
    await waitFor('the first live book', async () => (await redis.hget(k.ob, 'status')) === 'live', 45_000, 100);

    // Drops on the stream: the aggregator sees breaks and asks; the REST mode re-anchors.
    sim.setFaults({ drop: { streams: ['depth', 'trade'], probability: 0.02 } });
    let compared = 0;
    const mismatches: string[] = [];
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const ob = await redis.hgetall(k.ob);
      if (ob.status === 'live' && ob.last_update_id) {
        const t = await truthBook(sim.restUrl, SYM, Number(ob.last_update_id)).catch(() => undefined);
        if (t) {
          compared++;
          const d = obMismatches(ob, t);
          if (d.length) mismatches.push(`${ob.last_update_id}: ${d.join('; ')}`);
        }
      }
      await sleep(50);
    }
    sim.clearFaults();
    const dropped = sim.stats() as unknown as { streams?: Record<string, { dropped: number }> };
    // Every break reported by the aggregator was counted and answered.
    const reqs = await redis.xrange(REANCHOR_REQUESTS_STREAM, '-', '+');
    const gapReqs = reqs.filter(([, f]) => f[f.indexOf('symbol') + 1] === SYM && isSequenceGapReason(f[f.indexOf('reason') + 1]));
    expect(gapReqs.length).toBeGreaterThan(0);
    await waitFor('every request counted', async () =>
      (await metricValue(await rest.registry.metrics(), 'ingestor_rest_gaps_detected_total', { criterion: 'sequence' })) === gapReqs.length, 10_000);
    const done = await redis.xrange(REANCHOR_DONE_STREAM, '-', '+');
    expect(done.length).toBeGreaterThan(0);
    await waitFor('live again after the drops', async () => (await redis.hget(k.ob, 'status')) === 'live', 30_000, 100);
    const ob = await redis.hgetall(k.ob);
    expect(obMismatches(ob, await truthBook(sim.restUrl, SYM, Number(ob.last_update_id)))).toEqual([]);
    expect(mismatches).toEqual([]);
    console.log(`full stack: ${compared} live samples equal to truth, ${gapReqs.length} gap requests, ${done.length} re-anchors, sim drops ${JSON.stringify(dropped.streams ?? {})}`);
  }, 150_000);
});
