/**
 * Bench section "redis": projection write latency and this process's CPU per batch of 2 and of 10 symbols
 * (one script call a batch), and re-anchor duration (snapshot received → swap done) with a 5000-level
 * snapshot, against a private redis-server and against a private 3-master Redis Cluster (one script call per
 * symbol, sent concurrently).
 */
import { createRedis, waitForRedisReady, type RedisClient } from '../redis/connect.js';
import { startEmbeddedRedis } from '../redis/embedded.js';
import { startEmbeddedRedisCluster } from '../redis/embedded-cluster.js';
import { ProjectionWriter, type SymbolProjection } from '../redis/projection.js';
import { AtomicReanchor, type ReanchorState } from '../redis/reanchor.js';

export interface RedisBenchResult {
  projection: ProjectionFigures;
  /** The same with 10 symbols a batch (`btcpipe up --symbols` with ten, the aggregator's heaviest batch). */
  projection10: ProjectionFigures;
  reanchor: { runs: number; levels: number; swapP50Ms: number; swapP99Ms: number; totalP50Ms: number; totalP99Ms: number };
  /** The same on a local 3-master Redis Cluster. */
  cluster: Omit<RedisBenchResult, 'cluster'>;
}

export interface ProjectionFigures {
  batches: number;
  symbolsPerBatch: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** This process's CPU per batch (building the call, the client, the reply), ms. */
  clientCpuMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

function projectionFor(symbol: string, i: number): SymbolProjection {
  const set: Record<string, string> = {
    best_bid: `${60000 + (i % 100)}.01`,
    best_ask: `${60000 + (i % 100)}.02`,
    spread: '0.01',
    mid_price: `${60000 + (i % 100)}.015`,
    last_trade_price: `${60000 + (i % 100)}.01`,
    ts_us: String(1_700_000_000_000_000 + i),
    last_update_id: String(i),
  };
  for (let l = 1; l <= 10; l++) {
    set[`bid${l}_p`] = `${60000 - l}.01`;
    set[`bid${l}_q`] = '0.12345678';
    set[`ask${l}_p`] = `${60000 + l}.02`;
    set[`ask${l}_q`] = '0.87654321';
  }
  const tr: Record<string, string> = {
    count: '12', volume: '0.5', notional: '30000.5', buy_volume: '0.3', sell_volume: '0.2', signed_volume: '0.1',
    vwap: '60000.01', vwap_minus_mid: '-0.005', price_std: '0.3', trade_intensity: '12', avg_trade_size: '0.0416',
    last_ts_us: String(1_700_000_000_000_000 + i),
  };
  const feat: Record<string, string> = {};
  for (let f = 0; f < 30; f++) feat[`f${f}`] = String(Math.sin(i + f));
  return {
    symbol,
    ob: { set, del: [] },
    tr1s: tr,
    tr5s: { ...tr, price_momentum: '0.01', volume_acceleration: '0.2' },
    feat: i % 20 === 0 ? feat : undefined,
    minutes: [{ minuteStartMs: 1_700_000_040_000, count: i, volume: '12.5' }],
  };
}

function reanchorState(levels: number, id: number): ReanchorState {
  const bids = Array.from({ length: levels }, (_, i) => [`${60000 - i * 0.01}`, '0.12345678'] as [string, string]);
  const asks = Array.from({ length: levels }, (_, i) => [`${60001 + i * 0.01}`, '0.87654321'] as [string, string]);
  const p = projectionFor('X', id);
  return { ob: p.ob!.set, tr1s: p.tr1s!, tr5s: p.tr5s!, feat: { f0: '1', f1: '2' }, snapshot: { lastUpdateId: id, bids, asks } };
}

interface Measured {
  projection: ProjectionFigures;
  projection10: ProjectionFigures;
  reanchor: RedisBenchResult['reanchor'];
}

async function measureProjection(redis: RedisClient, cluster: boolean, batches: number, symbols: readonly string[]): Promise<ProjectionFigures> {
  const writer = new ProjectionWriter(redis, { cluster });
  const lat: number[] = [];
  for (let i = 0; i < 50; i++) await writer.write(symbols.map((s) => projectionFor(s, i))); // warm-up
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < batches; i++) {
    const r = await writer.write(symbols.map((s) => projectionFor(s, i)));
    lat.push(r.latencyMs);
  }
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return {
    batches,
    symbolsPerBatch: symbols.length,
    p50Ms: round(percentile(lat, 50)),
    p99Ms: round(percentile(lat, 99)),
    maxMs: round(lat[lat.length - 1]),
    clientCpuMs: round((cpu.user + cpu.system) / 1000 / batches),
  };
}

const TEN_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT', 'DOGEUSDT', 'ADAUSDT', 'TRXUSDT', 'AVAXUSDT', 'LINKUSDT'];

async function measure(redis: RedisClient, opts: { quick: boolean; cluster: boolean }): Promise<Measured> {
  const batches = opts.quick ? 500 : 5000;
  const projection = await measureProjection(redis, opts.cluster, batches, TEN_SYMBOLS.slice(0, 2));
  const projection10 = await measureProjection(redis, opts.cluster, Math.round(batches / 2), TEN_SYMBOLS);

  const levels = 5000;
  const runs = opts.quick ? 10 : 50;
  const ra = new AtomicReanchor(redis, { minIntervalMs: 0, cluster: opts.cluster });
  const swap: number[] = [];
  const total: number[] = [];
  await ra.run('BTCUSDT', async () => reanchorState(levels, 0)); // warm-up (script load)
  for (let i = 1; i <= runs; i++) {
    const state = reanchorState(levels, i);
    const r = await ra.run('BTCUSDT', async () => state);
    if (r.status !== 'ok') throw new Error(`bench re-anchor ${i}: ${r.status}`);
    swap.push(r.swapMs);
    total.push(r.totalMs);
  }
  swap.sort((a, b) => a - b);
  total.sort((a, b) => a - b);
  return {
    projection,
    projection10,
    reanchor: {
      runs,
      levels,
      swapP50Ms: round(percentile(swap, 50)),
      swapP99Ms: round(percentile(swap, 99)),
      totalP50Ms: round(percentile(total, 50)),
      totalP99Ms: round(percentile(total, 99)),
    },
  };
}

/** The same workload on a local 3-master Redis Cluster (hash-tagged keys, one script call per symbol). */
async function measureCluster(opts: { quick: boolean }): Promise<Measured> {
  const cluster = await startEmbeddedRedisCluster({ masters: 3, replicas: 0 });
  const redis = createRedis({ cluster: true, clusterNodes: cluster.seeds, socketTimeoutMs: 5000, connectTimeoutMs: 2000 });
  try {
    await waitForRedisReady(redis, 10_000);
    return await measure(redis, { quick: opts.quick, cluster: true });
  } finally {
    redis.disconnect();
    await cluster.stop();
  }
}

export async function runRedisBench(opts: { json: boolean; quick: boolean }): Promise<RedisBenchResult> {
  const server = await startEmbeddedRedis();
  const redis = createRedis({ url: server.url, socketTimeoutMs: 5000, connectTimeoutMs: 2000 });
  let single: Measured;
  try {
    await waitForRedisReady(redis, 5000);
    single = await measure(redis, { quick: opts.quick, cluster: false });
  } finally {
    redis.disconnect();
    await server.stop();
  }
  const result: RedisBenchResult = { ...single, cluster: await measureCluster(opts) };
  if (opts.json) {
    console.log(JSON.stringify({ section: 'redis', ...result }));
  } else {
    const line = (what: string, m: Measured): void => {
      const a = m.reanchor;
      for (const p of [m.projection, m.projection10]) {
        console.log(
          `redis${what} projection write (${p.symbolsPerBatch} symbols/batch, ${p.batches} batches): P50 ${p.p50Ms} ms  P99 ${p.p99Ms} ms  max ${p.maxMs} ms  (target P99 < 5 ms); ` +
            `client CPU ${p.clientCpuMs} ms a batch`,
        );
      }
      console.log(`redis${what} re-anchor, ${a.levels}-level snapshot (${a.runs} runs): snapshot→swap P50 ${a.swapP50Ms} ms  P99 ${a.swapP99Ms} ms  (target < 2000 ms)`);
    };
    line('', single);
    line(' cluster (3 masters)', result.cluster);
  }
  return result;
}

export const redisBench = { name: 'redis', run: runRedisBench };
export default redisBench;
