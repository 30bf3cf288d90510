import { afterEach, describe, expect, it } from 'vitest';
import { BinanceRestClient, type RestCallInfo } from '../../../src/binance/rest-client.js';
import {
  BinanceHttpError,
  BinanceNetworkError,
  BinanceResponseError,
  BinanceServerError,
  RateLimitedError,
} from '../../../src/binance/rest-errors.js';
import { freePort } from '../../../src/ops/free-port.js';
import { FakeVenue } from './fake-venue.js';

const API_KEY = 'k3y-SECRET-do-not-leak-0123456789';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(
  opts: {
    windowMs?: number;
    limit?: number;
    clientLimit?: number;
    maxRateLimitWaitMs?: number;
    maxRetries?: number;
    limitFromExchangeInfo?: boolean;
  } = {},
): Promise<{ venue: FakeVenue; client: BinanceRestClient; calls: RestCallInfo[] }> {
  const venue = await new FakeVenue(opts.windowMs ?? 60_000, opts.limit ?? 1200).start();
  const calls: RestCallInfo[] = [];
  const client = new BinanceRestClient({
    baseUrl: venue.url,
    apiKey: API_KEY,
    rateLimitRequestsPerMinute: 'clientLimit' in opts ? opts.clientLimit : 1200,
    limitFromExchangeInfo: opts.limitFromExchangeInfo,
    weightWindowMs: opts.windowMs ?? 60_000,
    maxRateLimitWaitMs: opts.maxRateLimitWaitMs ?? 5_000,
    maxRetries: opts.maxRetries ?? 3,
    backoffBaseMs: 20,
    backoffCapMs: 100,
    timeoutMs: 2_000,
    onCall: (c) => calls.push(c),
  });
  cleanups.push(() => venue.stop(), () => client.close());
  return { venue, client, calls };
}

describe('BinanceRestClient against a loopback venue', () => {
  it('calls every endpoint, validates bodies and sends the API key only as a header', async () => {
    const { venue, client, calls } = await setup();
    // The venue's weight window is the wall-clock minute: near its end, wait for the next one so the six
    // calls below are all counted in one window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 3_000) await new Promise((r) => setTimeout(r, left + 100));
    const depth = await client.depth('BTCUSDT', 100);
    expect(depth.bids[0]).toEqual(['4.00000000', '431.00000000']);
    const agg = await client.aggTrades({ symbol: 'BTCUSDT', fromId: 77, limit: 1000 });
    expect(agg[0].a).toBe(77);
    const kl = await client.klines({ symbol: 'BTCUSDT', interval: '1m', startTime: 1, limit: 10 });
    expect(kl[0][5]).toBe('148976.11427815');
    const tr = await client.trades('BTCUSDT', 5);
    expect(tr[0].quoteQty).toBe('48.000012');
    await client.ping();
    expect(await client.time()).toBeGreaterThan(1.7e12);

    expect(venue.seen.map((s) => s.path)).toEqual([
      '/api/v3/depth', '/api/v3/aggTrades', '/api/v3/klines', '/api/v3/trades', '/api/v3/ping', '/api/v3/time',
    ]);
    expect(venue.seen[1].query.get('fromId')).toBe('77');
    expect(venue.seen.every((s) => s.headers['x-mbx-apikey'] === API_KEY)).toBe(true);
    expect(calls.map((c) => c.weight)).toEqual([5, 4, 2, 25, 1, 1]);
    const stats = client.stats();
    expect(stats.status).toBe('healthy');
    // The venue's header (5+4+2+25+1+1 = 38) is what the client reports.
    expect(stats.used_weight).toBe(38);
    expect(stats.rate_limit_remaining).toBe(1200 - 38);
    expect(stats.calls_by_endpoint['/api/v3/depth']).toBe(1);
    expect(JSON.stringify(stats)).not.toContain(API_KEY);
    expect(JSON.stringify(client)).not.toContain(API_KEY);
  });

  it('rejects a bad body with a typed error naming the endpoint, and 4xx with the venue code', async () => {
    const { venue, client } = await setup();
    venue.script.push({ status: 200, body: '{"lastUpdateId": 1, "bids": [' });
    const e1 = await client.depth('BTCUSDT').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(BinanceResponseError);
    expect((e1 as BinanceResponseError).endpoint).toBe('/api/v3/depth');
    expect((e1 as Error).message).toContain('/api/v3/depth');

    venue.script.push({ status: 200, body: JSON.stringify([{ a: 1, p: 1.5, q: '1', f: 1, l: 1, T: 1, m: true, M: true }]) });
    const e2 = await client.aggTrades({ symbol: 'BTCUSDT' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(BinanceResponseError);
    expect((e2 as Error).message).toMatch(/aggTrades.*0\.p/);

    venue.script.push({ status: 400, body: JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }) });
    const e3 = await client.trades('NOPE').catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(BinanceHttpError);
    expect((e3 as BinanceHttpError).code).toBe(-1121);
    for (const e of [e1, e2, e3]) expect(String((e as Error).message)).not.toContain(API_KEY);
    expect(venue.seen).toHaveLength(3); // none of these is retried
  });

  it('retries 5xx with backoff and gives up with a typed error after maxRetries', async () => {
    const { venue, client } = await setup({ maxRetries: 2 });
    venue.script.push({ status: 502 }, { status: 503 });
    await expect(client.ping()).resolves.toBeUndefined();
    expect(venue.seen.map((s) => s.status)).toEqual([502, 503, 200]);

    venue.script.push({ status: 500 }, { status: 500 }, { status: 500 });
    const err = await client.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinanceServerError);
    expect((err as BinanceServerError).attempts).toBe(3);
    expect(client.stats().error_rate).toBeGreaterThan(0);
  });

  it('retries network errors and then fails with BinanceNetworkError', async () => {
    const port = await freePort();
    const client = new BinanceRestClient({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 2, backoffBaseMs: 5, apiKey: API_KEY });
    cleanups.push(() => client.close());
    const err = await client.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinanceNetworkError);
    expect((err as BinanceNetworkError).attempts).toBe(3);
    expect((err as Error).message).not.toContain(API_KEY);
    expect(client.stats().calls_total).toBe(3);
  });

  it('after a 429 sends nothing before Retry-After, never escalates to 418, and recovers by itself', async () => {
    const { venue, client } = await setup();
    venue.script.push({ status: 429, headers: { 'retry-after': '1' } });
    const first = client.depth('BTCUSDT');
    // Other callers arriving during the Retry-After wait too.
    await new Promise((r) => setTimeout(r, 200));
    expect(client.stats().status).toBe('rate_limited');
    const others = Promise.all([client.ping(), client.trades('BTCUSDT', 1), client.ping()]);
    await expect(first).resolves.toMatchObject({ lastUpdateId: 1027024 });
    await others;
    const rejected = venue.seen[0];
    expect(rejected.status).toBe(429);
    const after = venue.seen.slice(1);
    expect(after).toHaveLength(4);
    for (const s of after) expect(s.at - rejected.at).toBeGreaterThanOrEqual(1000);
    expect(venue.escalations).toBe(0);
    expect(venue.seen.some((s) => s.status === 418)).toBe(false);
    // Slowed down: the effective limit is lowered for a while after the 429.
    expect(client.stats().rate_limit_effective).toBeLessThan(1200);
  });

  it('after a short 418 waits the ban out without sending, then recovers', async () => {
    const { venue, client } = await setup();
    venue.script.push({ status: 418, headers: { 'retry-after': '1' } });
    await expect(client.ping()).resolves.toBeUndefined();
    expect(venue.seen.map((s) => s.status)).toEqual([418, 200]);
    expect(venue.seen[1].at - venue.seen[0].at).toBeGreaterThanOrEqual(1000);
    expect(venue.escalations).toBe(0);
  });

  it('after a long 418 rejects every caller with RateLimitedError and sends nothing', async () => {
    const { venue, client } = await setup({ maxRateLimitWaitMs: 5_000 });
    venue.script.push({ status: 418, headers: { 'retry-after': '120' } });
    const err = await client.depth('BTCUSDT').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).reason).toBe('banned');
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(110_000);
    const again = await client.ping().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RateLimitedError);
    expect((again as RateLimitedError).retryAfterMs).toBeGreaterThan(110_000);
    expect(venue.seen).toHaveLength(1);
    const stats = client.stats();
    expect(stats.status).toBe('banned');
    expect(Date.parse(stats.banned_until ?? '')).toBeGreaterThan(Date.now() + 110_000);
  });

  it('never exceeds the weight budget: waits for the window to roll instead of sending', async () => {
    const windowMs = 1000;
    const { venue, client } = await setup({ windowMs, limit: 10, clientLimit: 10 });
    const results = await Promise.all(Array.from({ length: 25 }, () => client.ping()));
    expect(results).toHaveLength(25);
    expect(venue.seen.every((s) => s.status === 200)).toBe(true);
    for (const w of venue.weightByWindow.values()) expect(w).toBeLessThanOrEqual(10);
    expect(venue.weightByWindow.size).toBeGreaterThanOrEqual(3);
  });

  it('trusts the used-weight header over its own count', async () => {
    const windowMs = 1000;
    const { venue, client } = await setup({ windowMs, limit: 10, clientLimit: 10 });
    // Align to the start of a window so the three calls below do not straddle one by chance.
    await new Promise((r) => setTimeout(r, windowMs - (Date.now() % windowMs) + 100));
    venue.externalWeight = 8; // another process on our IP already spent 8
    await client.ping(); // header: 9
    await client.ping(); // header: 10 — the budget is now spent
    expect(client.stats().used_weight).toBe(10);
    await client.ping(); // must wait for the next window
    const [a, b, c] = venue.seen.map((s) => Math.floor(s.at / windowMs));
    expect(a).toBe(b);
    expect(c).toBeGreaterThan(b);
    expect(venue.seen.every((s) => s.status === 200)).toBe(true);
  });

  it('reads its weight limit from exchangeInfo before the first call; config caps it', async () => {
    const { venue, client, calls } = await setup({ limit: 6000, clientLimit: undefined, limitFromExchangeInfo: true });
    expect(client.stats().rate_limit_limit).toBe(1200); // not read yet: the conservative fallback
    await client.depth('BTCUSDT');
    await client.ping();
    expect(venue.seen.map((s) => s.path)).toEqual(['/api/v3/exchangeInfo', '/api/v3/depth', '/api/v3/ping']);
    expect(venue.seen[0].query.get('symbol')).toBe('BTCUSDT');
    expect(calls[0]).toMatchObject({ endpoint: '/api/v3/exchangeInfo', status: 200, weight: 20 });
    expect(client.stats()).toMatchObject({ rate_limit_limit: 6000, rate_limit_source: 'exchangeInfo', rate_limit_venue: 6000 });

    const capped = await setup({ limit: 6000, clientLimit: 2000, limitFromExchangeInfo: true });
    await capped.client.ping();
    expect(capped.client.stats()).toMatchObject({ rate_limit_limit: 2000, rate_limit_venue: 6000, rate_limit_source: 'exchangeInfo' });
  });

  it('keeps budgeting with the fallback when exchangeInfo cannot be read, says why, and does not fail the call', async () => {
    const { venue, client } = await setup({ clientLimit: undefined, limitFromExchangeInfo: true });
    venue.script.push({ status: 200, body: JSON.stringify({ timezone: 'UTC', symbols: [] }) });
    await expect(client.ping()).resolves.toBeUndefined();
    const s = client.stats();
    expect(s).toMatchObject({ rate_limit_limit: 1200, rate_limit_source: 'config', rate_limit_venue: null });
    expect(s.rate_limit_read_error).toMatch(/exchangeInfo.*rateLimits/);
    // The failed read is not repeated before every call.
    await client.ping();
    expect(venue.seen.map((x) => x.path)).toEqual(['/api/v3/exchangeInfo', '/api/v3/ping', '/api/v3/ping']);
  });
});
