import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { describeService, type ServiceCard } from '../dashboard/cards.js';
import { percentile, Series } from '../dashboard/history.js';
import { predictionView, predKeyOfFeat } from '../dashboard/prediction.js';
import { buildEpisodes, type CriterionRise, type Episode, type ReanchorDone, type ReanchorRequest } from '../dashboard/timeline.js';
import { REANCHOR_DONE_STREAM, REANCHOR_REQUESTS_STREAM } from '../redis/keys.js';

/**
 * The `btcpipe up` dashboard (port 8088). It polls Redis (the `ob:` / `tr:` / `feat:` hashes per symbol and the
 * re-anchor streams) and each service's /health, keeps what it saw for a window in memory, and serves one page
 * (src/dashboard/public, with uPlot from node_modules: nothing is fetched from the internet) that draws it:
 * price with trades and spread, the book ladder, how fresh `ob:` is, gaps and re-anchors, feature sparklines,
 * the served prediction (`pred:`) with the aggregator's online score of it, service cards. Read-only.
 */

export interface DashboardOptions {
  port: number;
  host?: string;
  redis: Redis;
  symbols: string[];
  /** name → base URL of a service's health server, e.g. {"ingest-sbe": "http://127.0.0.1:8080"}. */
  services: Record<string, string>;
  /** Extra links shown on the page (simulator stats, metrics). */
  links?: Record<string, string>;
  keyOf: (symbol: string) => { ob: string; tr1s: string; tr5s: string; feat: string };
  /** How often Redis is read (default 500 ms); services' /health at most once a second. */
  pollMs?: number;
  /** How much history the page can show (default 15 minutes). */
  windowSeconds?: number;
}

export interface Dashboard {
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

interface Sample {
  t: number;
  live: boolean;
  mid: number | null;
  bid: number | null;
  ask: number | null;
  spread: number | null;
  /** now - ob.ts_us: how old the book a reader gets is. */
  ageMs: number | null;
  uid: string | null;
}
interface TradePoint {
  t: number;
  /** VWAP of the trades of the last second. */
  price: number;
  volume: number;
  /** 1 buyers dominated, -1 sellers, 0 even. */
  side: number;
}
interface FeaturePoint {
  t: number;
  values: Record<string, number>;
}
interface PredictionPoint {
  t: number;
  down: number | null;
  flat: number | null;
  up: number | null;
}

interface SymbolHistory {
  samples: Series<Sample>;
  trades: Series<TradePoint>;
  features: Series<FeaturePoint>;
  predictions: Series<PredictionPoint>;
  requests: ReanchorRequest[];
  dones: ReanchorDone[];
  ob: Record<string, string>;
  tr1s: Record<string, string>;
  tr5s: Record<string, string>;
  feat: Record<string, string>;
  pred: Record<string, string>;
  lastTradeTs?: string;
  lastFeatTs?: string;
  lastPredTs?: string;
}

const FRESHNESS_WINDOW_MS = 60_000;
/** Hashes read per symbol and poll: ob, tr 1 s, tr 5 s, feat, pred. */
const KEYS_PER_SYMBOL = 5;
const BOOK_LEVELS = 10;

const PUBLIC_DIR = new URL('../../src/dashboard/public/', import.meta.url);
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: string;
}

/** Everything the page loads, read once at start so a missing file stops `up` with its path. */
function loadAssets(): Record<string, Asset> {
  const local = (f: string): string => readFileSync(new URL(f, PUBLIC_DIR), 'utf8');
  const vendor = (f: string): string => readFileSync(require.resolve(`uplot/dist/${f}`), 'utf8');
  return {
    '/': { type: 'text/html; charset=utf-8', body: local('index.html') },
    '/assets/app.js': { type: 'text/javascript; charset=utf-8', body: local('app.js') },
    '/assets/app.css': { type: 'text/css; charset=utf-8', body: local('app.css') },
    '/vendor/uPlot.iife.min.js': { type: 'text/javascript; charset=utf-8', body: vendor('uPlot.iife.min.js') },
    '/vendor/uPlot.min.css': { type: 'text/css; charset=utf-8', body: vendor('uPlot.min.css') },
  };
}

async function fetchJson(url: string, timeoutMs = 800): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return await res.json();
  } catch (err) {
    return { status: 'unreachable', error: err instanceof Error ? err.message : String(err) };
  }
}

const numOrNull = (s: string | undefined): number | null => {
  if (s === undefined || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

/** Stream entry id "1796021143148-0" → its millisecond part. */
const idMs = (id: string): number => Number(id.slice(0, id.indexOf('-')));

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function bookSide(ob: Record<string, string>, side: 'bid' | 'ask'): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 1; i <= BOOK_LEVELS; i++) {
    const p = ob[`${side}${i}_p`];
    const q = ob[`${side}${i}_q`];
    if (p === undefined || q === undefined) break;
    out.push([p, q]);
  }
  return out;
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const assets = loadAssets();
  const pollMs = o.pollMs ?? 500;
  const windowMs = (o.windowSeconds ?? 900) * 1000;
  const startedAt = Date.now();
  let seq = 0;
  const hist = new Map<string, SymbolHistory>();
  for (const s of o.symbols) {
    hist.set(s, {
      samples: new Series(windowMs),
      trades: new Series(windowMs),
      features: new Series(windowMs),
      predictions: new Series(windowMs),
      requests: [],
      dones: [],
      ob: {},
      tr1s: {},
      tr5s: {},
      feat: {},
      pred: {},
    });
  }
  let health: Record<string, unknown> = {};
  let cards: ServiceCard[] = [];
  let lastHealthAt = 0;
  const rises: CriterionRise[] = [];
  let lastCriteria: Record<string, number> | undefined;
  let lastReqId = `${startedAt - windowMs}`;
  let lastDoneId = lastReqId;
  let deadletter: number | null = null;
  let redisError: string | null = null;
  let lastPollAt = 0;

  const pollHealth = async (now: number): Promise<void> => {
    const next: Record<string, unknown> = {};
    await Promise.all(Object.entries(o.services).map(async ([name, base]) => void (next[name] = await fetchJson(`${base}/health`))));
    health = next;
    cards = Object.keys(o.services).map((name) => describeService(name, next[name], now));
    // The REST detector's counters per criterion: a rise names the cause of a re-anchor nobody asked for.
    for (const h of Object.values(next)) {
      const gd = (h as { components?: { gap_detector?: { gaps_by_criterion?: Record<string, unknown> } } }).components?.gap_detector;
      const by = gd?.gaps_by_criterion;
      if (!by) continue;
      const counts: Record<string, number> = {};
      for (const [k, v] of Object.entries(by)) if (typeof v === 'number') counts[k] = v;
      if (lastCriteria) for (const [k, v] of Object.entries(counts)) if (v > (lastCriteria[k] ?? 0)) rises.push({ t: now, criterion: k, n: v - (lastCriteria[k] ?? 0) });
      lastCriteria = counts;
    }
    while (rises.length > 0 && rises[0].t < now - windowMs) rises.shift();
  };

  const readStream = async (key: string, after: string): Promise<[string, string[]][]> =>
    (await o.redis.xrange(key, after.includes('-') ? `(${after}` : after, '+', 'COUNT', 1000)) as [string, string[]][];

  const pollRedis = async (now: number): Promise<void> => {
    const pipe = o.redis.pipeline();
    for (const s of o.symbols) {
      const k = o.keyOf(s);
      pipe.hgetall(k.ob).hgetall(k.tr1s).hgetall(k.tr5s).hgetall(k.feat).hgetall(predKeyOfFeat(k.feat));
    }
    pipe.type('deadletter:records');
    const res = (await pipe.exec()) ?? [];
    const t = Date.now();
    seq++;
    o.symbols.forEach((s, i) => {
      const h = hist.get(s) as SymbolHistory;
      const [ob, tr1s, tr5s, feat, pred] = [0, 1, 2, 3, 4].map((j) => (res[i * KEYS_PER_SYMBOL + j]?.[1] ?? {}) as Record<string, string>);
      h.ob = ob;
      h.tr1s = tr1s;
      h.tr5s = tr5s;
      h.feat = feat;
      h.pred = pred;
      const tsUs = numOrNull(ob.ts_us);
      h.samples.push(
        {
          t,
          live: ob.status === 'live',
          mid: numOrNull(ob.mid_price),
          bid: numOrNull(ob.best_bid),
          ask: numOrNull(ob.best_ask),
          spread: numOrNull(ob.spread),
          ageMs: tsUs === null ? null : Math.max(0, t - tsUs / 1000),
          uid: ob.last_update_id ?? null,
        },
        seq,
      );
      const vwap = numOrNull(tr1s.vwap);
      if (tr1s.last_ts_us && tr1s.last_ts_us !== h.lastTradeTs && vwap !== null) {
        h.lastTradeTs = tr1s.last_ts_us;
        const signed = numOrNull(tr1s.signed_volume) ?? 0;
        h.trades.push({ t: Number(tr1s.last_ts_us) / 1000, price: vwap, volume: numOrNull(tr1s.volume) ?? 0, side: Math.sign(signed) }, seq);
      }
      if (feat.feature_ts && feat.feature_ts !== h.lastFeatTs) {
        h.lastFeatTs = feat.feature_ts;
        const values: Record<string, number> = {};
        for (const [k, v] of Object.entries(feat)) {
          const n = numOrNull(v);
          if (n !== null && k !== 'feature_ts' && k !== 'event_ts_us') values[k] = n;
        }
        h.features.push({ t, values }, seq);
      }
      const predTs = pred.event_ts_us ?? pred.feature_ts;
      if (predTs && predTs !== h.lastPredTs) {
        h.lastPredTs = predTs;
        h.predictions.push({ t, down: numOrNull(pred.p_down), flat: numOrNull(pred.p_flat), up: numOrNull(pred.p_up) }, seq);
      }
      h.samples.trim(now);
      h.trades.trim(now);
      h.features.trim(now);
      h.predictions.trim(now);
    });
    const dlType = res[o.symbols.length * KEYS_PER_SYMBOL]?.[1];
    deadletter =
      dlType === 'stream' ? await o.redis.xlen('deadletter:records') : dlType === 'list' ? await o.redis.llen('deadletter:records') : dlType === 'zset' ? await o.redis.zcard('deadletter:records') : null;

    for (const [id, fields] of await readStream(REANCHOR_REQUESTS_STREAM, lastReqId)) {
      lastReqId = id;
      const h = hist.get(field(fields, 'symbol') ?? '');
      h?.requests.push({ ms: idMs(id), reason: field(fields, 'reason') ?? 'requested' });
    }
    for (const [id, fields] of await readStream(REANCHOR_DONE_STREAM, lastDoneId)) {
      lastDoneId = id;
      const h = hist.get(field(fields, 'symbol') ?? '');
      h?.dones.push({ ms: idMs(id), lastUpdateId: field(fields, 'last_update_id') ?? '' });
    }
    for (const h of hist.values()) {
      while (h.requests.length > 0 && h.requests[0].ms < now - windowMs) h.requests.shift();
      while (h.dones.length > 0 && h.dones[0].ms < now - windowMs) h.dones.shift();
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let polling: Promise<void> = Promise.resolve();
  const tick = async (): Promise<void> => {
    const now = Date.now();
    try {
      if (now - lastHealthAt >= Math.max(pollMs, 1000)) {
        lastHealthAt = now;
        // Not awaited with Redis: a slow /health must not thin out the freshness samples.
        void pollHealth(now);
      }
      await pollRedis(now);
      redisError = null;
    } catch (err) {
      redisError = err instanceof Error ? err.message : String(err);
    }
    lastPollAt = Date.now();
  };
  const loop = (): void => {
    if (closed) return;
    polling = tick().finally(() => {
      if (!closed) timer = setTimeout(loop, pollMs);
    });
  };

  const symbolView = (s: string, since: number, now: number): Record<string, unknown> => {
    const h = hist.get(s) as SymbolHistory;
    const samples = h.samples.all();
    const recentAges = samples.filter((x) => x.live && x.ageMs !== null && x.t >= now - FRESHNESS_WINDOW_MS).map((x) => x.ageMs as number);
    const last = h.samples.last();
    const timeline: Episode[] = buildEpisodes({
      requests: h.requests,
      dones: h.dones,
      // Only polls that found a book: before the first one there is nothing a reader could be misled by.
      status: samples.filter((x) => x.uid !== null).map((x) => ({ t: x.t, live: x.live })),
      rises,
      now,
    });
    return {
      symbol: s,
      status: h.ob.status ?? 'no book',
      lastUpdateId: h.ob.last_update_id ?? null,
      mid: h.ob.mid_price ?? null,
      bestBid: h.ob.best_bid ?? null,
      bestAsk: h.ob.best_ask ?? null,
      spread: h.ob.spread ?? null,
      lastTradePrice: h.ob.last_trade_price ?? null,
      book: { bids: bookSide(h.ob, 'bid'), asks: bookSide(h.ob, 'ask') },
      freshness: { ageMs: last?.ageMs ?? null, p50Ms: percentile(recentAges, 0.5) ?? null, p95Ms: percentile(recentAges, 0.95) ?? null, samples: recentAges.length },
      tr1s: h.tr1s,
      tr5s: h.tr5s,
      samples: h.samples.since(since),
      trades: h.trades.since(since),
      features: h.features.since(since),
      prediction: predictionView(h.pred, health, s, now),
      predictions: h.predictions.since(since),
      timeline,
      reanchorRequests: h.requests.length,
      reanchors: h.dones.length,
    };
  };

  const app = Fastify({ logger: false });
  app.get<{ Querystring: { since?: string } }>('/api/state', async (req) => {
    const since = Math.max(0, Number(req.query.since ?? 0) || 0);
    const now = Date.now();
    return {
      now: new Date(now).toISOString(),
      nowMs: now,
      seq,
      pollMs,
      windowMs,
      lastPollAgeMs: lastPollAt ? now - lastPollAt : null,
      redisError,
      deadletter,
      services: cards,
      health,
      links: o.links ?? {},
      symbols: o.symbols.map((s) => symbolView(s, since, now)),
    };
  });
  for (const [path, a] of Object.entries(assets)) {
    app.get(path, async (_req, reply) => {
      reply.type(a.type).header('cache-control', 'no-cache');
      return a.body;
    });
  }
  await app.listen({ port: o.port, host: o.host ?? '127.0.0.1' });
  loop();
  const addr = app.server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : o.port,
    app,
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await polling.catch(() => undefined);
      await app.close();
    },
  };
}
