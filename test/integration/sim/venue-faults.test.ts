import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { BinanceRestClient } from '../../../src/binance/rest-client.js';
import { BinanceServerError } from '../../../src/binance/rest-errors.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { connect, getJson, waitFor } from './plain-client.js';

interface Opened {
  ws: WebSocket;
  texts: string[];
  closed: Promise<number>;
}

async function open(url: string): Promise<Opened> {
  const texts: string[] = [];
  const ws = await connect(url, undefined, (d, isBinary) => {
    if (!isBinary) texts.push(d.toString());
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return { ws, texts, closed };
}

describe('simulator: rotate, 5xx bodies, published weight limit, culling', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rate: 400, seed: 41, cullBestBidAsk: 1 });
  });
  afterAll(async () => sim.stop());

  it('rotate sends serverShutdown now to the oldest connection (combined form on request) and closes it after closeAfterMs', async () => {
    const oldest = await open(`${sim.wsUrl}/stream?streams=btcusdt@depth`);
    const newest = await open(`${sim.wsUrl}/ws/btcusdt@depth`);
    const logFrom = (await getJson<unknown[]>(`${sim.restUrl}/sim/faults/log`)).length;
    const r = await fetch(`${sim.restUrl}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ rotate: { connection: 'oldest', form: 'combined', closeAfterMs: 300 } }),
    });
    expect(r.status).toBe(200);
    // One-shot: not listed as a lasting fault.
    expect(await r.json()).not.toHaveProperty('rotate');
    expect(await oldest.closed).toBe(1000);
    expect(oldest.texts).toHaveLength(1);
    const msg = JSON.parse(oldest.texts[0]) as { stream: string; data: { e: string; E: number } };
    expect(msg.stream).toBe('!serverShutdown');
    expect(msg.data.e).toBe('serverShutdown');
    const log = (await getJson<Array<{ kind: string; form?: string }>>(`${sim.restUrl}/sim/faults/log`)).slice(logFrom);
    expect(log.filter((e) => e.kind === 'rotate')).toEqual([expect.objectContaining({ kind: 'rotate', form: 'combined' })]);

    // The other connection was left alone; a plain rotate of "newest" reaches it in the plain form.
    expect(newest.texts).toEqual([]);
    sim.setFaults({ rotate: { connection: 'newest', closeAfterMs: 0 } });
    expect(await newest.closed).toBe(1000);
    expect((JSON.parse(newest.texts[0]) as { e: string }).e).toBe('serverShutdown');
    await waitFor(() => sim.stats().connections.closed.server_shutdown === 2, 5000, 'the server to count both closes');
  });

  it('answers 500 and 503 with a non-JSON gateway page on request; the REST client retries and fails typed', async () => {
    sim.setFaults({ rest: { status: 503, forSeconds: 2, body: 'html' } });
    const res = await fetch(`${sim.restUrl}/api/v3/ping`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('text/html');
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(text).toContain('503 Service Temporarily Unavailable');

    const client = new BinanceRestClient({ baseUrl: sim.restUrl, maxRetries: 1, backoffBaseMs: 5, backoffCapMs: 10 });
    const err = await client.depth('BTCUSDT').catch((e: unknown) => e);
    await client.close();
    expect(err).toBeInstanceOf(BinanceServerError);
    expect((err as BinanceServerError).status).toBe(503);

    sim.setFaults({ rest: { status: 500, forSeconds: 2, body: 'html' } });
    const r500 = await fetch(`${sim.restUrl}/api/v3/time`);
    expect(r500.status).toBe(500);
    expect(await r500.text()).toContain('<html>');
    sim.clearFaults();
    expect(sim.stats().rest.faulted).toMatchObject({ 503: 2 + 1, 500: 1 });
  });

  it("publishes Binance's 6,000/min REQUEST_WEIGHT in exchangeInfo, and the REST client budgets with it", async () => {
    const info = await getJson<{ rateLimits: Array<{ rateLimitType: string; interval: string; intervalNum: number; limit: number }> }>(
      `${sim.restUrl}/api/v3/exchangeInfo`,
    );
    expect(info.rateLimits.find((l) => l.rateLimitType === 'REQUEST_WEIGHT')).toEqual({
      rateLimitType: 'REQUEST_WEIGHT',
      interval: 'MINUTE',
      intervalNum: 1,
      limit: 6000,
    });
    const client = new BinanceRestClient({ baseUrl: sim.restUrl, limitFromExchangeInfo: true });
    expect(client.stats().rate_limit_limit).toBe(1200);
    await client.depth('BTCUSDT', 5);
    const s = client.stats();
    await client.close();
    expect([s.rate_limit_limit, s.rate_limit_source, s.rate_limit_venue]).toEqual([6000, 'exchangeInfo', 6000]);
    expect(s.calls_by_endpoint).toEqual({ '/api/v3/exchangeInfo': 1, '/api/v3/depth': 1 });
  });

  it('culls superseded bestBidAsk updates (ids skip, counted), and the newest top still arrives', async () => {
    const ids: number[] = [];
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@bestBidAsk`, undefined, (d, isBinary) => {
      if (!isBinary) return;
      for (const ev of decodeFrame(new Uint8Array(d))) if (ev.type === 'bestBidAsk') ids.push(ev.sequence_id);
    });
    await waitFor(() => sim.stats().streams['btcusdt@bestBidAsk'].culled > 20 && ids.length > 20, 20_000, 'culled updates');
    ws.close();
    const c = sim.stats().streams['btcusdt@bestBidAsk'];
    expect(c.generated).toBeGreaterThan(0);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
  });
});
