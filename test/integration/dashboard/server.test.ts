import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { REANCHOR_DONE_STREAM, REANCHOR_REQUESTS_STREAM } from '../../../src/redis/keys.js';
import { startDashboard, type Dashboard } from '../../../src/services/dashboard.js';

/**
 * The dashboard server on a private redis-server whose keys the test writes itself (what the aggregator and the
 * REST mode would leave there), with one health server that answers and one port that does not.
 */

let server: EmbeddedRedis;
let redis: Redis;
let dashboard: Dashboard;
let health: Server;
let healthDoc: Record<string, unknown>;
const SYM = 'BTCUSDT';
const base = (): string => `http://127.0.0.1:${dashboard.port}`;

interface SymbolView {
  symbol: string;
  status: string;
  book: { bids: [string, string][]; asks: [string, string][] };
  freshness: { ageMs: number | null; p50Ms: number | null; p95Ms: number | null; samples: number };
  samples: { seq: number; t: number; live: boolean; mid: number | null; ageMs: number | null }[];
  trades: { price: number; side: number }[];
  features: { values: Record<string, number> }[];
  prediction: { modelId: string | null; pUp: number | null; expectedRetBp: number | null; score: { scored: number; macroF1: number | null } | null } | null;
  predictions: { up: number | null }[];
  timeline: { start: number; end: number | null; criteria: string[]; requests: number; reanchors: { lastUpdateId: string }[] }[];
}
interface State {
  seq: number;
  redisError: string | null;
  deadletter: number | null;
  services: { name: string; status: string; lines: { label: string; text: string }[] }[];
  symbols: SymbolView[];
}

async function state(since = 0): Promise<State> {
  return (await (await fetch(`${base()}/api/state?since=${since}`)).json()) as State;
}

async function until<T>(what: string, fn: () => Promise<T | false | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== false && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const book = (status: string, uid: number, tsUs: number): Record<string, string> => ({
  best_bid: '84999.99', best_ask: '85000.01', spread: '0.02', mid_price: '85000', last_trade_price: '85000.01',
  ts_us: String(tsUs), last_update_id: String(uid), status,
  bid1_p: '84999.99', bid1_q: '1.50000', bid2_p: '84999.98', bid2_q: '0.25',
  ask1_p: '85000.01', ask1_q: '0.00001', ask2_p: '85000.02', ask2_q: '3',
});

beforeAll(async () => {
  server = await startEmbeddedRedis();
  redis = new Redis({ port: server.port, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  healthDoc = { status: 'healthy', components: { sbe_websocket: { status: 'connected', messages_per_second: 12.5, last_message_age_ms: 3, reconnect_count: 0 } } };
  health = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(healthDoc));
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  const addr = health.address();
  const healthPort = typeof addr === 'object' && addr ? addr.port : 0;
  // A port nobody listens on: the health server just closed there.
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const goneAddr = gone.address();
  const gonePort = typeof goneAddr === 'object' && goneAddr ? goneAddr.port : 0;
  await new Promise((r) => gone.close(r));
  await redis.hset(`ob:${SYM}`, book('live', 100, Date.now() * 1000 - 250_000_000));
  dashboard = await startDashboard({
    port: 0,
    redis,
    symbols: [SYM, 'ETHUSDT'],
    services: { 'ingest-sbe': `http://127.0.0.1:${healthPort}`, aggregator: `http://127.0.0.1:${gonePort}` },
    keyOf: (s) => ({ ob: `ob:${s}`, tr1s: `tr:${s}:1s`, tr5s: `tr:${s}:5s`, feat: `feat:${s}` }),
    pollMs: 100,
  });
});

afterAll(async () => {
  await dashboard?.close();
  await new Promise((r) => health?.close(r));
  redis?.disconnect();
  await server?.stop();
});

describe('dashboard server', () => {
  it('serves the page, its script and uPlot from local files', async () => {
    const page = await fetch(`${base()}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    for (const src of ['/vendor/uPlot.iife.min.js', '/vendor/uPlot.min.css', '/assets/app.js', '/assets/app.css']) {
      expect(html).toContain(src);
      const res = await fetch(`${base()}${src}`);
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    // Nothing on the page points off this machine.
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it('reports the book, its age as a reader sees it, and only new samples when asked since a poll', async () => {
    const first = await until('a few polls', async () => {
      const s = await state();
      return s.seq >= 3 && s;
    });
    const v = first.symbols.find((x) => x.symbol === SYM) as SymbolView;
    expect(v.status).toBe('live');
    expect(v.book).toEqual({ bids: [['84999.99', '1.50000'], ['84999.98', '0.25']], asks: [['85000.01', '0.00001'], ['85000.02', '3']] });
    // ts_us was written 250 s in the past: that is the age every poll saw.
    expect(v.freshness.ageMs).toBeGreaterThanOrEqual(250_000);
    expect(v.freshness.p50Ms).toBeGreaterThanOrEqual(250_000);
    expect(v.freshness.samples).toBeGreaterThanOrEqual(3);
    expect(v.samples.every((x) => x.mid === 85000 && x.live)).toBe(true);
    const other = first.symbols.find((x) => x.symbol === 'ETHUSDT') as SymbolView;
    expect(other.status).toBe('no book');
    expect(other.freshness.ageMs).toBeNull();

    const later = await until('a later poll', async () => {
      const s = await state(first.seq);
      return s.seq > first.seq && s;
    });
    const newer = (later.symbols.find((x) => x.symbol === SYM) as SymbolView).samples;
    expect(newer.length).toBeGreaterThan(0);
    expect(newer.every((x) => x.seq > first.seq)).toBe(true);
  });

  it('turns the re-anchor streams and ob: status into a gap episode with its criterion, re-anchor and duration', async () => {
    await redis.hset(`ob:${SYM}`, 'status', 'resyncing');
    await redis.xadd(REANCHOR_REQUESTS_STREAM, '*', 'symbol', SYM, 'reason', 'gap', 'ts', String(Date.now()));
    await until('the resyncing episode', async () => (await state()).symbols[0].timeline.some((e) => e.end === null && e.criteria.includes('sequence')));
    await redis.xadd(REANCHOR_DONE_STREAM, '*', 'symbol', SYM, 'last_update_id', '150', 'snapshot_key', `ob:snapshot:${SYM}:x`);
    await redis.hset(`ob:${SYM}`, book('live', 151, Date.now() * 1000));
    const ep = await until('the episode closed', async () => (await state()).symbols[0].timeline.find((e) => e.end !== null && e.criteria.includes('sequence')));
    expect(ep.requests).toBe(1);
    expect(ep.reanchors).toEqual([expect.objectContaining({ lastUpdateId: '150' })]);
    expect(ep.end as number).toBeGreaterThanOrEqual(ep.start);
  });

  it('features and trades become series; dead letters are counted when the stream exists', async () => {
    await redis.hset(`tr:${SYM}:1s`, { vwap: '85000.005', volume: '0.5', signed_volume: '-0.1', last_ts_us: String(Date.now() * 1000) });
    await redis.hset(`feat:${SYM}`, { feature_ts: '1', ret_1s: '0.0001', spread_bp: '0.0024', event_ts_us: '5' });
    await redis.xadd('deadletter:records', '*', 'reason', 'test');
    const s = await until('trade, feature and dead letter seen', async () => {
      const st = await state();
      const v = st.symbols[0];
      return v.trades.length > 0 && v.features.length > 0 && st.deadletter === 1 && st;
    });
    expect(s.symbols[0].trades.at(-1)).toMatchObject({ price: 85000.005, side: -1 });
    expect(s.symbols[0].features.at(-1)?.values).toEqual({ ret_1s: 0.0001, spread_bp: 0.0024 });
  });

  it('shows pred:SYM and the online score the serving service reports; no panel for a symbol without a model', async () => {
    expect((await state()).symbols[0].prediction).toBeNull();
    await redis.hset(`pred:${SYM}`, { p_down: '0.25', p_flat: '0.5', p_up: '0.25', direction: 'flat', expected_ret_10s: '-0.0001', band_bp: '0.3', model_id: 'feedfacefeedface', feature_ts: String(Math.floor(Date.now() / 1000)), event_ts_us: '7' });
    const components = healthDoc.components as Record<string, unknown>;
    components.predictor = { status: 'serving', model_id: 'feedfacefeedface', horizon_seconds: 10, symbols: { [SYM]: { scored: 12, accuracy: 0.5, macro_f1: 0.4, baseline_macro_f1: 0.2, mse: 1e-8, baseline_mse: 2e-8, r2: 0.1 } } };
    const s = await until('prediction with its score', async () => {
      const st = await state();
      return Boolean(st.symbols[0].prediction?.score) && st.symbols[0].predictions.length > 0 && st;
    });
    expect(s.symbols[0].prediction).toMatchObject({ modelId: 'feedfacefeedface', pUp: 0.25, score: { scored: 12, macroF1: 0.4 } });
    expect(s.symbols[0].prediction?.expectedRetBp).toBeCloseTo(-1, 12);
    expect(s.symbols[0].predictions.at(-1)).toMatchObject({ up: 0.25 });
    expect(s.symbols[1].prediction).toBeNull();
    expect(s.services[0].lines.find((l) => l.label === 'Predictions')?.text).toBe('serving · model feedfacefeedface · BTCUSDT 12 scored, macro-F1 0.40 vs 0.20 persistence');
    delete components.predictor;
    await until('the card without the predictor again', async () => (await state()).services[0]?.lines.length === 1);
  });

  it('describes services in words, the one that does not answer included', async () => {
    const s = await until('both cards', async () => {
      const st = await state();
      return st.services.length === 2 && st;
    });
    expect(s.services[0]).toMatchObject({ name: 'ingest-sbe', status: 'healthy', lines: [{ label: 'SBE WebSocket', text: 'connected · 12.5 msg/s · last message 3 ms ago · 0 reconnects' }] });
    expect(s.services[1]).toMatchObject({ name: 'aggregator', status: 'unreachable' });
    expect(s.services[1].lines[0].text).toMatch(/^not answering \(/);
  });

  it('keeps serving, and says so, while Redis does not answer', async () => {
    const port = server.port;
    await server.stop();
    const s = await until('the Redis error on the page', async () => {
      const st = await state();
      return st.redisError !== null && st;
    });
    expect(s.redisError).toEqual(expect.any(String));
    expect(s.symbols[0].symbol).toBe(SYM);
    server = await startEmbeddedRedis({ port });
    await until('Redis back', async () => (await state()).redisError === null, 30_000);
  });
});
