/** Shared set-up for the REST ingest service tests: simulator, private redis-server, temp lake, config, truth. */
import { truthBookOrNull, type TruthBook } from '../../support/truth-book.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { resolveConfig, type BtcpipeConfig } from '../../../src/ops/config.js';
import { createLogger, type Logger } from '../../../src/ops/logger.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';

export interface Stack {
  sim: Simulator;
  redisServer: EmbeddedRedis;
  redis: RedisClient;
  lakeDir: string;
  stop(): Promise<void>;
}

/** A private redis-server: the simulator only knows real symbols, so keys cannot be made unique per test. */
export async function startStack(o: { symbols?: string[]; seed?: number; rate?: number } = {}): Promise<Stack> {
  const [sim, redisServer, lakeDir] = await Promise.all([
    startSimulator({ symbols: o.symbols ?? ['BTCUSDT'], seed: o.seed ?? 7, rate: o.rate ?? 60 }),
    startEmbeddedRedis(),
    mkdtemp(join(tmpdir(), 'btcpipe-rest-')),
  ]);
  const redis = createRedis({ url: redisServer.url, socketTimeoutMs: 2000, connectTimeoutMs: 1000 });
  await waitForRedisReady(redis, 5000);
  return {
    sim,
    redisServer,
    redis,
    lakeDir,
    async stop() {
      redis.disconnect();
      await Promise.allSettled([sim.stop(), redisServer.stop()]);
      await rm(lakeDir, { recursive: true, force: true });
    },
  };
}

export function restConfig(stack: Stack, over: Record<string, unknown> = {}, symbols = ['BTCUSDT']): BtcpipeConfig {
  const doc = {
    binance: { rest_base_url: stack.sim.restUrl, symbols, request_timeout_ms: 5000 },
    redis: { host: '127.0.0.1', port: stack.redisServer.port, socket_timeout_seconds: 1, socket_connect_timeout_seconds: 1 },
    lake: { backend: 'folder', root: stack.lakeDir },
    scheduler: { poll_interval_seconds: 1, reanchor_min_interval_seconds: 1, time_gap_seconds: 5, depth_snapshot_limit: 5000 },
    health: { port: 0, host: '127.0.0.1' },
    metrics: { enable_prometheus: true, prometheus_port: 0 },
    logging: { level: 'info' },
  };
  return resolveConfig(deepMerge(doc, over), 'test', { mode: 'rest', env: {} });
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v)
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** A logger whose JSON lines are kept for assertions (alerts, correlation ids, no secrets). */
export function captureLogger(service = 'bitcoin-ingestor-rest'): { logger: Logger; lines: Record<string, unknown>[]; raw: string[] } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) {
        if (!l) continue;
        raw.push(l);
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          // not JSON: kept in raw only
        }
      }
      cb();
    },
  });
  return { logger: createLogger({ service, level: 'debug', destination: dest }), lines, raw };
}

export { obMismatches, type TruthBook } from '../../support/truth-book.js';

/** The true book after update `id`; throws when it left the simulator's history. */
export async function truthBook(restUrl: string, symbol: string, id: number, limit = 10): Promise<TruthBook> {
  const book = await truthBookOrNull(restUrl, symbol, id, limit);
  if (!book) throw new Error(`truth book ${id}: not in the simulator's history`);
  return book;
}

export interface TruthTrade {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
  aggId: number;
}

/** Every venue trade from `fromId` on (paged). */
export async function truthTrades(restUrl: string, symbol: string, fromId = 0): Promise<TruthTrade[]> {
  const out: TruthTrade[] = [];
  let from = fromId;
  for (;;) {
    const res = await fetch(`${restUrl}/sim/truth/trades?symbol=${symbol}&fromId=${from}&limit=100000`);
    if (!res.ok) throw new Error(`truth trades: HTTP ${res.status}`);
    const page = (await res.json()) as TruthTrade[];
    out.push(...page);
    if (page.length < 100000) return out;
    from = page[page.length - 1].id + 1;
  }
}

export { waitFor } from '../../support/wait-for.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Value of one Prometheus series from a registry's text output (0 when absent). */
export async function metricValue(text: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z0-9_:]+)(\{[^}]*\})?\s+([-0-9.eE+]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}
