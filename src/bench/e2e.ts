/**
 * Bench section "e2e": the whole hot path on the local stack — simulator (SBE WebSocket) → SBE ingest
 * service → private kinesis-local → aggregator service → private redis-server — at ~5,000 messages/s.
 * Measures frame received (recv_ts_us, stamped by the ingest path) → the aggregator's Redis projection
 * write containing the event returned, P50/P95/P99, and the process RSS. Re-anchors are answered the way
 * the REST mode does (AtomicReanchor + the simulator's REST depth snapshot), so the book goes live.
 *
 * Everything runs in this one process, so RSS is reported as the whole (simulator + ingestor +
 * aggregator) and as the growth after the aggregator started.
 */
import { performance } from 'node:perf_hooks';
import type { Level, TradeEvent } from '../core/events.js';
import { buildStagingState } from '../core/staging.js';
import { startEmbeddedKinesis } from '../kinesis/embedded.js';
import { resolveConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { createRedis, waitForRedisReady } from '../redis/connect.js';
import { startEmbeddedRedis } from '../redis/embedded.js';
import { AtomicReanchor } from '../redis/reanchor.js';
import { readReanchorRequests } from '../redis/streams.js';
import { createAggregatorService } from '../services/aggregate.js';
import { createSbeIngestService } from '../services/ingest-sbe.js';
import { startSimulator } from '../sim/index.js';
import type { BenchSection } from './index.js';

export interface E2eBenchResult {
  seconds: number;
  simulatorRate: number;
  messagesPerSecond: number;
  latency: { count: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  redisWriteAvgMs: number;
  reanchors: number;
  rssMb: number;
  rssGrowthMb: number;
  bookStatus: string;
}

const SYMBOL = 'BTCUSDT';
/** Order-flow actions/s that make the simulator send ~5,000 trade + bestBidAsk + depth messages/s. */
const SIM_RATE = 9_500;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function run(opts: { json: boolean; quick: boolean }): Promise<E2eBenchResult> {
  const seconds = opts.quick ? 5 : 15;
  const warmupMs = opts.quick ? 2000 : 3000;
  const streams = { trade: 'e2e-trade', bestbidask: 'e2e-bestbidask', depth: 'e2e-depth' };
  const [kinesis, redisServer] = await Promise.all([
    startEmbeddedKinesis({ streams: [streams.trade, streams.bestbidask, streams.depth] }),
    startEmbeddedRedis(),
  ]);
  const sim = await startSimulator({ symbols: [SYMBOL], seed: 5, rate: SIM_RATE, weightLimitPerMinute: 1_000_000 });
  const logger = createLogger({ service: 'bench-e2e', level: 'error' });
  const doc = {
    binance: { sbe_ws_url: sim.wsUrl, rest_base_url: sim.restUrl, api_key: 'bench-key', symbols: [SYMBOL] },
    aws: {
      region: 'us-east-1',
      endpoint_url: kinesis.endpoint,
      kinesis: { streams, consumer_config: { shard_iterator_type: 'LATEST', poll_interval_ms: 10, max_records_per_poll: 1000 } },
    },
    redis: { host: '127.0.0.1', port: redisServer.port },
    health: { port: 0 },
    metrics: { prometheus_port: 0 },
    logging: { level: 'error' },
  };
  const ingestConfig = resolveConfig(doc, 'bench', { mode: 'sbe', env: {} });
  const aggConfig = resolveConfig(doc, 'bench', { mode: 'aggregator', env: {} });

  const redis = createRedis({ host: '127.0.0.1', port: redisServer.port, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  const blocking = createRedis({ host: '127.0.0.1', port: redisServer.port, socketTimeoutMs: 2000, connectTimeoutMs: 2000, blocking: true });
  await Promise.all([waitForRedisReady(redis, 5000), waitForRedisReady(blocking, 5000)]);

  // The REST mode's answer to re-anchor requests (what `btcpipe ingest --mode rest` runs).
  const reanchor = new AtomicReanchor(redis, { minIntervalMs: 1000 });
  let reanchors = 0;
  let answering = true;
  const responder = (async () => {
    let lastId = '$';
    while (answering) {
      const reqs = await readReanchorRequests(blocking, lastId, 200).catch(() => []);
      for (const req of reqs) {
        lastId = req.id;
        const r = await reanchor.run(req.symbol, async (signal) => {
          const [d, t] = await Promise.all([
            fetch(`${sim.restUrl}/api/v3/depth?symbol=${req.symbol}&limit=5000`, { signal }).then((x) => x.json()),
            fetch(`${sim.restUrl}/api/v3/trades?symbol=${req.symbol}&limit=1000`, { signal }).then((x) => x.json()),
          ]);
          const depth = d as { lastUpdateId: number; bids: Level[]; asks: Level[] };
          const trades = (t as { id: number; price: string; qty: string; time: number; isBuyerMaker: boolean }[]).map(
            (x): TradeEvent => ({
              type: 'trade', symbol: req.symbol, event_ts: x.time * 1000, source: 'rest', trade_id: x.id, sequence_id: x.id,
              price: x.price, quantity: x.qty, is_buyer_maker: x.isBuyerMaker,
            }),
          );
          const s = buildStagingState(req.symbol, depth, trades, Date.now());
          return { ob: s.ob, tr1s: s.tr1s, tr5s: s.tr5s, feat: s.feat, snapshot: depth };
        });
        if (r.status === 'ok') reanchors++;
      }
    }
  })();

  const latencies: number[] = [];
  let measuring = false;
  const rssBefore = process.memoryUsage().rss;
  const aggregator = createAggregatorService(aggConfig, logger, {
    hooks: {
      onEndToEnd: (secs) => {
        if (measuring) for (const s of secs) latencies.push(s * 1000);
      },
    },
  });
  await aggregator.start();
  const ingest = createSbeIngestService(ingestConfig, logger);
  await ingest.start();

  await sleep(warmupMs);
  const statsAt = (): number => {
    const st = sim.stats() as unknown as { streams: Record<string, { sent: number }> };
    return Object.values(st.streams).reduce((a, s) => a + s.sent, 0);
  };
  const sent0 = statsAt();
  const t0 = performance.now();
  measuring = true;
  let peakRss = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await sleep(250);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const sent = statsAt() - sent0;

  const aggStats = (await aggregator.stats()) as { redis: { projection: { avgLatencyMs: number } | null }; symbols: { status: string }[] };
  await ingest.stop();
  await aggregator.stop();
  answering = false;
  await responder;
  redis.disconnect();
  blocking.disconnect();
  await sim.stop();
  await Promise.all([kinesis.stop(), redisServer.stop()]);

  latencies.sort((a, b) => a - b);
  const result: E2eBenchResult = {
    seconds: round(elapsed),
    simulatorRate: SIM_RATE,
    messagesPerSecond: Math.round(sent / elapsed),
    latency: {
      count: latencies.length,
      p50Ms: round(pct(latencies, 50)),
      p95Ms: round(pct(latencies, 95)),
      p99Ms: round(pct(latencies, 99)),
      maxMs: round(latencies[latencies.length - 1] ?? 0),
    },
    redisWriteAvgMs: round(aggStats.redis.projection?.avgLatencyMs ?? 0),
    reanchors,
    rssMb: round(peakRss / 2 ** 20),
    rssGrowthMb: round((peakRss - rssBefore) / 2 ** 20),
    bookStatus: aggStats.symbols[0]?.status ?? 'none',
  };
  if (!opts.json) {
    const l = result.latency;
    process.stdout.write(
      `e2e: ${result.messagesPerSecond} msg/s for ${result.seconds} s (sim rate ${SIM_RATE}); frame → Redis ` +
        `P50 ${l.p50Ms} ms, P95 ${l.p95Ms} ms, P99 ${l.p99Ms} ms, max ${l.maxMs} ms over ${l.count} events; ` +
        `redis write avg ${result.redisWriteAvgMs} ms; re-anchors ${reanchors}; book ${result.bookStatus}; ` +
        `RSS ${result.rssMb} MB (+${result.rssGrowthMb} MB after the aggregator started; sim + ingest + aggregator in one process)\n`,
    );
  }
  return result;
}

export const e2eSection: BenchSection = { name: 'e2e', run };
