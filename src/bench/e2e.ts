/**
 * Bench section "e2e": the whole hot path on the local stack — simulator (SBE WebSocket) → SBE ingest
 * service → private kinesis-local → aggregator service → private redis-server — at ~5,000 messages/s.
 * Measures frame received (recv_ts_us, stamped by the ingest path) → the aggregator's Redis projection
 * write containing the event returned, P50/P95/P99, and the process RSS. Re-anchors are answered the way
 * the REST mode does (AtomicReanchor + the simulator's REST depth snapshot), so the book goes live.
 *
 * When the compiled CLI exists (dist/), the simulator and the ingestor run as their own processes
 * (`btcpipe sim`, `btcpipe ingest --mode sbe`, as `btcpipe up` runs them) and the aggregator runs in this
 * process, so RSS is the aggregator's. Without dist/ (e.g. from the TypeScript sources) all three share
 * this process — then the one event loop saturates first and the figures are a lower bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Level, TradeEvent } from '../core/events.js';
import { buildStagingState } from '../core/staging.js';
import { startEmbeddedKinesis } from '../kinesis/embedded.js';
import { resolveConfig, type BtcpipeConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { freePort, waitForPort } from '../ops/free-port.js';
import { createRedis, waitForRedisReady } from '../redis/connect.js';
import { startEmbeddedRedis } from '../redis/embedded.js';
import { AtomicReanchor } from '../redis/reanchor.js';
import { readReanchorRequests } from '../redis/streams.js';
import { createAggregatorService } from '../services/aggregate.js';
import { createSbeIngestService } from '../services/ingest-sbe.js';
import { startSimulator } from '../sim/index.js';
import type { BenchSection } from './index.js';

interface Summary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

function summarize(v: number[]): Summary {
  const s = [...v].sort((a, b) => a - b);
  return { count: s.length, p50Ms: round(pct(s, 50)), p95Ms: round(pct(s, 95)), p99Ms: round(pct(s, 99)), maxMs: round(s[s.length - 1] ?? 0) };
}

export interface E2eBenchResult {
  mode: 'processes' | 'in-process';
  seconds: number;
  simulatorRate: number;
  messagesPerSecond: number;
  latency: Summary;
  /** Split: ingest (frame received → Kinesis arrival) is the rest; this is Kinesis arrival → Redis written. */
  arrivalToRedis: Summary;
  /** Our own share: GetRecords returned → the projection write containing the batch returned (per record). */
  receivedToRedis: Summary;
  redisWriteAvgMs: number;
  reanchors: number;
  rssMb: number;
  rssGrowthMb: number;
  bookStatus: string;
}

const SYMBOL = 'BTCUSDT';
/** Order-flow actions/s that make the simulator send ~5,000 trade + bestBidAsk + depth messages/s (env BTCPIPE_E2E_SIM_RATE overrides). */
const SIM_RATE = Number(process.env.BTCPIPE_E2E_SIM_RATE ?? 12_500);

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


interface Feed {
  mode: 'processes' | 'in-process';
  restUrl: string;
  /** Frames the simulator has sent so far (all streams). */
  sent(): Promise<number>;
  stop(): Promise<void>;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function childStopped(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  });
}

async function sentOf(restUrl: string): Promise<number> {
  const st = (await (await fetch(`${restUrl}/sim/stats`)).json()) as { streams: Record<string, { sent: number }> };
  return Object.values(st.streams).reduce((a, x) => a + x.sent, 0);
}

/** Simulator + SBE ingestor as child processes of the compiled CLI. */
async function processFeed(rate: number, ingestDoc: (wsUrl: string, restUrl: string) => object): Promise<Feed> {
  const bin = join(ROOT, 'bin', 'btcpipe.js');
  const [restPort, wsPort] = [await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'btcpipe-e2e-'));
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map(childStopped));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sim = spawn(process.execPath, [bin, 'sim', '--rest-port', String(restPort), '--ws-port', String(wsPort), '--symbols', SYMBOL,
      '--seed', '5', '--rate', String(rate), '--weight-limit', '1000000'], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(sim);
    await Promise.all([waitForPort(restPort), waitForPort(wsPort)]);
    const restUrl = `http://127.0.0.1:${restPort}`;
    const cfg = join(dir, 'ingest.yaml');
    writeFileSync(cfg, JSON.stringify(ingestDoc(`ws://127.0.0.1:${wsPort}`, restUrl)));
    const ingest = spawn(process.execPath, [bin, 'ingest', '--mode', 'sbe', '--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(ingest);
    return { mode: 'processes', restUrl, sent: () => sentOf(restUrl), stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function inProcessFeed(rate: number, ingestConfig: (wsUrl: string, restUrl: string) => BtcpipeConfig): Promise<Feed> {
  const sim = await startSimulator({ symbols: [SYMBOL], seed: 5, rate, weightLimitPerMinute: 1_000_000 });
  const ingest = createSbeIngestService(ingestConfig(sim.wsUrl, sim.restUrl), createLogger({ service: 'bench-e2e-ingest', level: 'error' }));
  await ingest.start();
  return {
    mode: 'in-process',
    restUrl: sim.restUrl,
    sent: () => sentOf(sim.restUrl),
    async stop() {
      await ingest.stop();
      await sim.stop();
    },
  };
}

async function run(opts: { json: boolean; quick: boolean }): Promise<E2eBenchResult> {
  const seconds = opts.quick ? 5 : 15;
  const warmupMs = opts.quick ? 2000 : 3000;
  // The default layout: one stream carries every event type (one producer queue, one poller).
  const streams = { trade: 'e2e-events', bestbidask: 'e2e-events', depth: 'e2e-events' };
  const [kinesis, redisServer] = await Promise.all([
    startEmbeddedKinesis({ streams: ['e2e-events'] }),
    startEmbeddedRedis(),
  ]);
  const logger = createLogger({ service: 'bench-e2e', level: 'error' });
  const docFor = (wsUrl: string, restUrl: string): Record<string, unknown> => ({
    binance: { sbe_ws_url: wsUrl, rest_base_url: restUrl, api_key: 'bench-key', symbols: [SYMBOL] },
    aws: {
      region: 'us-east-1',
      endpoint_url: kinesis.endpoint,
      // As config/local.yaml: gzip records (kinesis-local's cost grows with bytes), 10 ms idle poll.
      kinesis: { streams, compression: 'gzip', consumer_config: { shard_iterator_type: 'LATEST', poll_interval_ms: 10, max_records_per_poll: 1000 } },
    },
    redis: { host: '127.0.0.1', port: redisServer.port },
    health: { port: 0, host: '127.0.0.1' },
    metrics: { prometheus_port: 0 },
    logging: { level: 'error' },
  });
  const compiled = existsSync(join(ROOT, 'dist', 'cli', 'main.js')) && existsSync(join(ROOT, 'dist', 'services', 'ingest-sbe.js'));
  const feed = compiled
    ? await processFeed(SIM_RATE, docFor)
    : await inProcessFeed(SIM_RATE, (ws, rest) => resolveConfig(docFor(ws, rest), 'bench', { mode: 'sbe', env: {} }));
  const aggConfig = resolveConfig(docFor('ws://127.0.0.1:1', feed.restUrl), 'bench', { mode: 'aggregator', env: {} });

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
            fetch(`${feed.restUrl}/api/v3/depth?symbol=${req.symbol}&limit=5000`, { signal }).then((x) => x.json()),
            fetch(`${feed.restUrl}/api/v3/trades?symbol=${req.symbol}&limit=1000`, { signal }).then((x) => x.json()),
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
  const arrivalToRedis: number[] = [];
  const receivedToRedis: number[] = [];
  let measuring = false;
  const rssBefore = process.memoryUsage().rss;
  const aggregator = createAggregatorService(aggConfig, logger, {
    hooks: {
      onEndToEnd: (secs) => {
        if (measuring) for (const s of secs) latencies.push(s * 1000);
      },
    },
    onBatchWritten: ({ arrivalMs, receivedMs, writtenAtMs }) => {
      if (!measuring) return;
      for (const a of arrivalMs) {
        arrivalToRedis.push(writtenAtMs - a);
        receivedToRedis.push(writtenAtMs - receivedMs);
      }
    },
  });
  await aggregator.start();

  await sleep(warmupMs);
  const sent0 = await feed.sent();
  const t0 = performance.now();
  measuring = true;
  let peakRss = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await sleep(250);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const sent = (await feed.sent()) - sent0;

  const aggStats = (await aggregator.stats()) as { redis: { projection: { avgLatencyMs: number } | null }; symbols: { status: string }[] };
  await feed.stop();
  await aggregator.stop();
  answering = false;
  await responder;
  redis.disconnect();
  blocking.disconnect();
  await Promise.all([kinesis.stop(), redisServer.stop()]);

  const result: E2eBenchResult = {
    mode: feed.mode,
    seconds: round(elapsed),
    simulatorRate: SIM_RATE,
    messagesPerSecond: Math.round(sent / elapsed),
    latency: summarize(latencies),
    arrivalToRedis: summarize(arrivalToRedis),
    receivedToRedis: summarize(receivedToRedis),
    redisWriteAvgMs: round(aggStats.redis.projection?.avgLatencyMs ?? 0),
    reanchors,
    rssMb: round(peakRss / 2 ** 20),
    rssGrowthMb: round((peakRss - rssBefore) / 2 ** 20),
    bookStatus: aggStats.symbols[0]?.status ?? 'none',
  };
  if (!opts.json) {
    const l = result.latency;
    process.stdout.write(
      `e2e (${feed.mode}, gzip records): ${result.messagesPerSecond} msg/s for ${result.seconds} s (sim rate ${SIM_RATE}); frame → Redis ` +
        `P50 ${l.p50Ms} ms, P95 ${l.p95Ms} ms, P99 ${l.p99Ms} ms, max ${l.maxMs} ms over ${l.count} events; ` +
        `of which Kinesis arrival → Redis P50 ${result.arrivalToRedis.p50Ms} ms, P95 ${result.arrivalToRedis.p95Ms} ms, P99 ${result.arrivalToRedis.p99Ms} ms, ` +
        `and GetRecords returned → Redis (the aggregator's own share) P50 ${result.receivedToRedis.p50Ms} ms, P95 ${result.receivedToRedis.p95Ms} ms, P99 ${result.receivedToRedis.p99Ms} ms; ` +
        `redis write avg ${result.redisWriteAvgMs} ms; re-anchors ${reanchors}; book ${result.bookStatus}; ` +
        `RSS ${result.rssMb} MB (+${result.rssGrowthMb} MB after the aggregator started${feed.mode === 'in-process' ? '; sim + ingest + aggregator in one process' : '; aggregator process'})\n`,
    );
  }
  return result;
}

export const e2eSection: BenchSection = { name: 'e2e', run };
