/**
 * Bench section "scale": how the hot path grows with symbols and aggregator processes. For 1, 10 and 50
 * symbols, each with 1 and 2 aggregators (`btcpipe aggregate` processes sharing a 4-shard stream by lease):
 * simulator → SBE ingest service (this process) → private kinesis-local → aggregator process(es) → private
 * redis-server. Reports the records/s the aggregators handled (their /stats, summed) and the staleness of
 * the books as a reader sees them: wall clock − ob:{SYM} ts_us, sampled from outside every 100 ms over every
 * book that has one (a book older than processing.stale_after_seconds says `stale` and still counts), P50/P95,
 * with the statuses seen and the machine's load average (the figures mean little on a saturated machine). Every symbol gets the same order flow, so more symbols means more load. Bounded in
 * time: a fixed warm-up limit (books live, shards spread) and a fixed measuring window per case.
 *
 * Needs the compiled CLI (dist/, `npm run build`): the aggregators are their own processes, as deployed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { benchReanchorFetch } from './reanchor-fetch.js';
import { ensureStreams, localKinesisClient, startEmbeddedKinesis } from '../kinesis/embedded.js';
import { leaseTableKey } from '../kinesis/lease-store.js';
import { parseLease } from '../kinesis/lease-model.js';
import { resolveConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { freePort, waitForPort } from '../ops/free-port.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../redis/connect.js';
import { startEmbeddedRedis } from '../redis/embedded.js';
import { symbolKeys } from '../redis/keys.js';
import { AtomicReanchor } from '../redis/reanchor.js';
import { readReanchorRequests } from '../redis/streams.js';
import { createSbeIngestService } from '../services/ingest-sbe.js';
import { startSimulator } from '../sim/index.js';
import { sampleObStaleness } from './ob-staleness.js';
import type { BenchSection } from './index.js';

export interface ScaleCase {
  symbols: number;
  aggregators: number;
  seconds: number;
  /** Records the aggregators handled per second (sum over processes). */
  recordsPerSecond: number;
  /** Frames the simulator sent per second (offered load). */
  offeredPerSecond: number;
  staleness: { samples: number; p50Ms: number; p95Ms: number };
  /** Books not `live` in the samples (resyncing, stale, missing), share of all samples. */
  notLiveShare: number;
  /** Samples by ob status ('missing' = no ob yet). */
  statuses: Record<string, number>;
  /** 1-minute load average at the end of the window (2 cores here). */
  loadAverage: number;
  /** Shards per aggregator at the end (lease owners). */
  shardsPerAggregator: number[];
  warmupSeconds: number;
}

export interface ScaleBenchResult {
  shards: number;
  ratePerSymbol: number;
  cases: ScaleCase[];
  note: string;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'btcpipe.js');
const SHARDS = 4;
/** Order-flow actions/s per symbol (env BTCPIPE_SCALE_RATE overrides). */
const RATE = Number(process.env.BTCPIPE_SCALE_RATE ?? 100);
const ALL_SYMBOLS = Array.from({ length: 50 }, (_, i) => (i === 0 ? 'BTCUSDT' : `S${String(i).padStart(2, '0')}USDT`));
const WARMUP_LIMIT_MS = 60_000;

const round = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  });
}

/** Answers re-anchor requests as the REST mode does, from the simulator's REST API. */
function startResponder(redis: RedisClient, blocking: RedisClient, restUrl: () => string): { stop(): Promise<void> } {
  const reanchor = new AtomicReanchor(redis, { minIntervalMs: 500 });
  let running = true;
  const loop = (async () => {
    let lastId = '$';
    while (running) {
      const reqs = await readReanchorRequests(blocking, lastId, 200).catch(() => []);
      if (reqs.length > 0) lastId = reqs[reqs.length - 1].id;
      // One re-anchor per symbol at a time, many symbols at once: 50 cold books must not queue for a minute.
      const bySymbol = new Map(reqs.map((r) => [r.symbol, r]));
      await Promise.all(
        [...bySymbol.values()].map((req) =>
          reanchor
          .run(req.symbol, benchReanchorFetch(restUrl, req.symbol, 1000, 500))
          .catch(() => undefined),
        ),
      );
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function runCase(
  nSymbols: number,
  nAggregators: number,
  seconds: number,
  env: { kinesisEndpoint: string; redis: RedisClient; redisPort: number; dir: string; setRestUrl(u: string): void },
): Promise<ScaleCase> {
  const symbols = ALL_SYMBOLS.slice(0, nSymbols);
  const stream = `scale-${nSymbols}-${nAggregators}-${Date.now().toString(36)}`;
  const kc = localKinesisClient(env.kinesisEndpoint);
  await ensureStreams(kc, [{ name: stream, shards: SHARDS }]);
  kc.destroy();
  await env.redis.flushall();
  const streams = { trade: stream, bestbidask: stream, depth: stream };
  const sim = await startSimulator({ symbols, seed: 11, rate: RATE, weightLimitPerMinute: 10_000_000 });
  env.setRestUrl(sim.restUrl);
  const ingestDoc = {
    binance: { sbe_ws_url: sim.wsUrl, rest_base_url: sim.restUrl, api_key: 'bench-key', symbols },
    aws: { region: 'us-east-1', endpoint_url: env.kinesisEndpoint, kinesis: { streams, compression: 'gzip' } },
    redis: { host: '127.0.0.1', port: env.redisPort },
    health: { port: 0, host: '127.0.0.1' },
    metrics: { prometheus_port: 0 },
    logging: { level: 'error' },
  };
  const ingest = createSbeIngestService(resolveConfig(ingestDoc, 'bench', { mode: 'sbe', env: {} }), createLogger({ service: 'bench-scale-ingest', level: 'error' }));
  await ingest.start();

  const aggs: { child: ChildProcess; port: number }[] = [];
  for (let i = 0; i < nAggregators; i++) {
    const port = await freePort();
    const doc = {
      binance: { symbols },
      aws: {
        region: 'us-east-1',
        endpoint_url: env.kinesisEndpoint,
        kinesis: {
          streams,
          consumer_config: {
            shard_iterator_type: 'LATEST',
            poll_interval_ms: 10,
            // Short take/renew rounds so the two processes spread the shards within the warm-up.
            leases: { enabled: true, worker_id: `bench-${i}`, duration_ms: 6000, renew_interval_ms: 1000, take_interval_ms: 1000 },
          },
        },
      },
      redis: { host: '127.0.0.1', port: env.redisPort },
      processing: { feature_update_interval_seconds: 1 },
      health: { port, host: '127.0.0.1' },
      metrics: { enable_prometheus: false },
      logging: { level: 'error' },
    };
    const file = join(env.dir, `agg-${stream}-${i}.yaml`);
    writeFileSync(file, JSON.stringify(doc));
    const child = spawn(process.execPath, [BIN, 'aggregate', '--config', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
    });
    aggs.push({ child, port });
  }
  try {
    // Generous: on a loaded machine a process that loads the AWS SDK and connects takes a while to answer.
    await Promise.all(aggs.map((a) => waitForPort(a.port, '127.0.0.1', 120_000)));
    const keys = symbols.map((s) => symbolKeys(s).ob);
    const owners = async (): Promise<string[]> => {
      const raw = await env.redis.hgetall(leaseTableKey(stream));
      const now = Date.now();
      return Object.entries(raw)
        .filter(([f]) => f.startsWith('shard:'))
        .map(([f, v]) => parseLease(f.slice(6), v))
        .filter((l) => l !== undefined && l.owner !== '' && l.expiresMs > now)
        .map((l) => l?.owner ?? '');
    };
    const warm0 = performance.now();
    for (;;) {
      const statuses = await Promise.all(keys.map((k) => env.redis.hget(k, 'status')));
      const o = await owners();
      const spread = o.length === SHARDS && new Set(o).size === nAggregators;
      if (spread && statuses.every((s) => s === 'live')) break;
      if (performance.now() - warm0 > WARMUP_LIMIT_MS) break;
      await sleep(250);
    }
    const warmupSeconds = round((performance.now() - warm0) / 1000);

    const processed = async (): Promise<number> => {
      let n = 0;
      for (const a of aggs) {
        const st = (await (await fetch(`http://127.0.0.1:${a.port}/stats`)).json()) as { consumers: Record<string, { records_processed: number }> };
        for (const c of Object.values(st.consumers)) n += c.records_processed;
      }
      return n;
    };
    const sent = async (): Promise<number> => {
      const st = (await (await fetch(`${sim.restUrl}/sim/stats`)).json()) as { streams: Record<string, { sent: number }> };
      return Object.values(st.streams).reduce((a, x) => a + x.sent, 0);
    };
    const [p0, s0] = [await processed(), await sent()];
    const t0 = performance.now();
    const reader = await sampleObStaleness(env.redis, { keys, intervalMs: 100, until: sleep(seconds * 1000) });
    const elapsed = (performance.now() - t0) / 1000;
    const [p1, s1] = [await processed(), await sent()];
    const o = await owners();
    return {
      symbols: nSymbols,
      aggregators: nAggregators,
      seconds: round(elapsed),
      recordsPerSecond: Math.round((p1 - p0) / elapsed),
      offeredPerSecond: Math.round((s1 - s0) / elapsed),
      staleness: { samples: reader.samples, p50Ms: reader.p50Ms, p95Ms: reader.p95Ms },
      notLiveShare: reader.notLiveShare,
      statuses: reader.statuses,
      loadAverage: round(loadavg()[0]),
      shardsPerAggregator: Array.from({ length: nAggregators }, (_, i) => o.filter((w) => w === `bench-${i}`).length),
      warmupSeconds,
    };
  } finally {
    await Promise.all(aggs.map((a) => stopChild(a.child)));
    await ingest.stop();
    await sim.stop();
  }
}

async function run(opts: { json: boolean; quick: boolean }): Promise<ScaleBenchResult> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('bench scale runs the aggregators as `btcpipe aggregate` processes: run `npm run build` first');
  }
  const seconds = opts.quick ? 4 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'btcpipe-scale-'));
  const [kinesis, redisServer] = await Promise.all([startEmbeddedKinesis({ streams: [] }), startEmbeddedRedis()]);
  const redis = createRedis({ host: '127.0.0.1', port: redisServer.port, socketTimeoutMs: 5000, connectTimeoutMs: 2000 });
  const blocking = createRedis({ host: '127.0.0.1', port: redisServer.port, socketTimeoutMs: 5000, connectTimeoutMs: 2000, blocking: true });
  await Promise.all([waitForRedisReady(redis, 5000), waitForRedisReady(blocking, 5000)]);
  let restUrl = '';
  const responder = startResponder(redis, blocking, () => restUrl);
  const cases: ScaleCase[] = [];
  try {
    for (const n of opts.quick ? [1, 10] : [1, 10, 50]) {
      for (const a of [1, 2]) {
        let c: ScaleCase;
        try {
          c = await runCase(n, a, seconds, {
            kinesisEndpoint: kinesis.endpoint,
            redis,
            redisPort: redisServer.port,
            dir,
            setRestUrl: (u) => (restUrl = u),
          });
        } catch (err) {
          // One case failing (e.g. a process that never answered) still leaves the others' figures.
          process.stderr.write(`scale: ${n} symbols, ${a} aggregator(s) failed: ${err instanceof Error ? err.message : String(err)}\n`);
          continue;
        }
        cases.push(c);
        if (!opts.json) {
          process.stdout.write(
            `scale: ${c.symbols} symbols, ${c.aggregators} aggregator(s): ${c.recordsPerSecond} records/s handled (${c.offeredPerSecond} frames/s offered), ` +
              `staleness P50 ${c.staleness.p50Ms} ms P95 ${c.staleness.p95Ms} ms over ${c.staleness.samples} samples, statuses ${JSON.stringify(c.statuses)}, ` +
              `shards ${c.shardsPerAggregator.join('/')}, warm-up ${c.warmupSeconds} s, load average ${c.loadAverage}\n`,
          );
        }
      }
    }
  } finally {
    await responder.stop();
    redis.disconnect();
    blocking.disconnect();
    await Promise.all([kinesis.stop(), redisServer.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    shards: SHARDS,
    ratePerSymbol: RATE,
    cases,
    note: 'one machine runs the simulator, the ingestor, kinesis-local, redis-server and the aggregators; figures are relative, not a capacity claim',
  };
}

export const scaleSection: BenchSection = { name: 'scale', run };
