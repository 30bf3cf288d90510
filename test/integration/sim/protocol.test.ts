import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import type { TradeEvent } from '../../../src/core/events.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { API_KEY, connect, sleep, waitFor } from './plain-client.js';

async function status(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(url);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

/** The HTTP status and body of a refused WebSocket handshake. */
function refused(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('handshake unexpectedly accepted')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

/** Send one control message and wait for the reply with the same id. */
function control(ws: WebSocket, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMsg = (d: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const reply = JSON.parse(d.toString()) as Record<string, unknown>;
      if (reply.id === (msg.id ?? null)) {
        ws.off('message', onMsg);
        resolve(reply);
      }
    };
    ws.on('message', onMsg);
    ws.send(typeof msg.raw === 'string' ? msg.raw : JSON.stringify(msg));
  });
}

describe('simulator: REST errors, rate limits and control API', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rate: 200, seed: 2, weightLimitPerMinute: 100_000 });
  });
  afterAll(async () => sim.stop());

  it("answers bad requests with Binance's error JSON and unknown paths with 404", async () => {
    const u = sim.restUrl;
    expect(await status(`${u}/api/v3/depth?symbol=NOPE`)).toMatchObject({ status: 400, body: { code: -1121, msg: 'Invalid symbol.' } });
    expect((await status(`${u}/api/v3/depth`)).body).toEqual({
      code: -1102,
      msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    });
    expect((await status(`${u}/api/v3/trades?symbol=BTCUSDT&limit=x1`)).body).toMatchObject({ code: -1100 });
    expect((await status(`${u}/api/v3/trades?symbol=BTCUSDT&limit=1001`)).body).toMatchObject({ code: -1130 });
    expect((await status(`${u}/api/v3/klines?symbol=BTCUSDT&interval=7m`)).body).toEqual({ code: -1120, msg: 'Invalid interval.' });
    expect((await status(`${u}/api/v3/klines?symbol=BTCUSDT`)).body).toMatchObject({ code: -1102 });
    const nf = await status(`${u}/api/v3/nothing`);
    expect(nf.status).toBe(404);
    expect((await status(`${u}/sim/nothing`)).status).toBe(404);
    const info = await status(`${u}/api/v3/exchangeInfo?symbol=BTCUSDT`);
    const sym = (info.body as { symbols: Array<{ filters: Array<Record<string, string>> }> }).symbols[0];
    expect(sym.filters.find((f) => f.filterType === 'PRICE_FILTER')?.tickSize).toBe('0.01000000');
    expect(sym.filters.find((f) => f.filterType === 'LOT_SIZE')?.stepSize).toBe('0.00001000');
    expect((info.body as { rateLimits: Array<{ limit: number }> }).rateLimits[0].limit).toBe(100_000);
  });

  it('truth book is 404 outside the retained range', async () => {
    const r = await status(`${sim.restUrl}/sim/truth/book?symbol=BTCUSDT&updateId=5`);
    expect(r.status).toBe(404);
    expect(JSON.stringify(r.body)).toContain('outside the retained history');
  });

  it('rejects bad fault specs with 400 saying why, and DELETE clears faults', async () => {
    const post = async (body: string) => {
      const r = await fetch(`${sim.restUrl}/sim/faults`, { method: 'POST', body });
      return { status: r.status, body: (await r.json()) as { error?: string } };
    };
    const bad = await post(JSON.stringify({ drop: { streams: ['depth'], probability: 2 } }));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/drop\.probability: probability must be ≤ 1/);
    expect((await post(JSON.stringify({ drop: { streams: ['candles'], probability: 0.1 } }))).body.error).toMatch(/drop\.streams\.0/);
    expect((await post(JSON.stringify({ rest: { status: 404, forSeconds: 1 } }))).body.error).toMatch(/status must be 429, 418, 500 or 503/);
    expect((await post(JSON.stringify({ explode: true }))).body.error).toMatch(/explode/);
    expect((await post('{')).body.error).toMatch(/not JSON/);
    expect((await post('{}')).body.error).toMatch(/names no fault/);
    expect(() => sim.setFaults({ stall: { ms: -1 } })).toThrow(/stall\.ms/);
    expect((await post(JSON.stringify({ duplicate: { probability: 0.5 } }))).status).toBe(200);
    expect(sim.stats()).toMatchObject({});
    const del = await fetch(`${sim.restUrl}/sim/faults`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await (await fetch(`${sim.restUrl}/sim/faults`)).json()).toEqual({});
  });

  it('injected REST faults answer 500/429 with Retry-After and are counted', async () => {
    sim.setFaults({ rest: { status: 500, forSeconds: 1 } });
    const r = await status(`${sim.restUrl}/api/v3/ping`);
    expect(r.status).toBe(500);
    sim.setFaults({ rest: { status: 429, forSeconds: 3 } });
    const r2 = await status(`${sim.restUrl}/api/v3/ping`);
    expect(r2.status).toBe(429);
    expect(Number(r2.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    sim.clearFaults();
    expect(sim.stats().rest.faulted).toEqual({ '500': 1, '429': 1 });
  });
});

describe('simulator: SBE WebSocket protocol and stream faults', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({
      rate: 2000,
      seed: 4,
      apiKeys: [API_KEY],
    });
  });
  afterAll(async () => sim.stop());

  it('refuses a handshake without X-MBX-APIKEY (400) or with an unknown key (401), and bad paths', async () => {
    expect(await refused(`${sim.wsUrl}/ws/btcusdt@trade`, {})).toEqual({ status: 400, body: 'No X-MBX-APIKEY header' });
    const unknown = await refused(`${sim.wsUrl}/ws/btcusdt@trade`, { 'X-MBX-APIKEY': 'secret-nobody-knows' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatch(/unknown key/);
    expect(unknown.body).not.toContain('secret-nobody-knows');
    expect((await refused(`${sim.wsUrl}/ws/ethusdt@trade`, { 'X-MBX-APIKEY': API_KEY })).status).toBe(400);
    expect((await refused(`${sim.wsUrl}/elsewhere`, { 'X-MBX-APIKEY': API_KEY })).status).toBe(404);
  });

  it('serves live SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS and properties with Binance replies', async () => {
    const ws = await connect(`${sim.wsUrl}/ws`);
    expect(await control(ws, { method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@bestBidAsk'], id: 1 })).toEqual({ result: null, id: 1 });
    expect(await control(ws, { method: 'LIST_SUBSCRIPTIONS', id: 'a2' })).toEqual({ result: ['btcusdt@trade', 'btcusdt@bestBidAsk'], id: 'a2' });
    expect(await control(ws, { method: 'UNSUBSCRIBE', params: ['btcusdt@trade'], id: 3 })).toEqual({ result: null, id: 3 });
    await sleep(1000); // stay under 5 messages per second
    expect(await control(ws, { method: 'LIST_SUBSCRIPTIONS', id: 4 })).toEqual({ result: ['btcusdt@bestBidAsk'], id: 4 });
    expect(await control(ws, { method: 'GET_PROPERTY', params: ['combined'], id: 5 })).toEqual({ result: false, id: 5 });
    expect((await control(ws, { method: 'SUBSCRIBE', params: ['btcusdt@candles'], id: 6 })).error).toMatchObject({ code: 2 });
    expect((await control(ws, { raw: '{nope', id: null })).error).toMatchObject({ code: 3 });
    await sleep(1000);
    expect(await control(ws, { method: 'GET_PROPERTY', params: ['colour'], id: 7 })).toEqual({ error: { code: 0, msg: 'Unknown property' }, id: 7 });
    expect((await control(ws, { method: 'SET_PROPERTY', params: ['combined', 'yes'], id: 8 })).error).toMatchObject({ code: 1 });
    expect((await control(ws, { method: 'FLY', id: 9 })).error).toMatchObject({ code: 2 });
    ws.close();
  });

  it('counts duplicated and malformed frames exactly as the client sees them', async () => {
    sim.setFaults({ duplicate: { streams: ['trade'], probability: 0.2 }, malformed: { streams: ['trade'], probability: 0.05 }, seed: 9 });
    const before = sim.stats().streams['btcusdt@trade'] ?? { duplicated: 0, malformed: 0 };
    const ids = new Set<string>();
    let dups = 0;
    let bad = 0;
    let frames = 0;
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@trade`, undefined, (d: Buffer, isBinary: boolean) => {
      if (!isBinary) return; // control replies
      frames++;
      let evs: TradeEvent[];
      try {
        evs = decodeFrame(new Uint8Array(d)) as TradeEvent[];
      } catch {
        bad++;
        return;
      }
      const key = evs.map((e) => e.trade_id).join(',');
      if (ids.has(key)) dups++;
      ids.add(key);
    });
    await waitFor(() => frames >= 400, 20_000, '400 trade frames');
    sim.clearFaults();
    // The reply to UNSUBSCRIBE comes after every frame sent before it (one TCP stream), so all are in.
    expect(await control(ws, { method: 'UNSUBSCRIBE', params: ['btcusdt@trade'], id: 99 })).toEqual({ result: null, id: 99 });
    const seenDups = dups;
    const seenBad = bad;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    const after = sim.stats().streams['btcusdt@trade'];
    expect(dups).toBeGreaterThan(0);
    expect(bad).toBeGreaterThan(0);
    expect(after.duplicated - before.duplicated).toBe(seenDups);
    expect(after.malformed - before.malformed).toBe(seenBad);
  });

  it('a stall sends nothing for its duration, keeps the connection, then delivers; disconnect faults close sockets', async () => {
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@bestBidAsk`);
    const arrivals: number[] = [];
    ws.on('message', () => arrivals.push(Date.now()));
    await waitFor(() => arrivals.length > 5, 5000, 'frames before the stall');
    const stallStart = Date.now();
    sim.setFaults({ stall: { ms: 600 } });
    await sleep(500);
    const during = arrivals.filter((t) => t > stallStart + 50 && t < stallStart + 500).length;
    expect(during).toBe(0);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    await waitFor(() => arrivals.some((t) => t > stallStart + 600), 5000, 'frames after the stall');
    expect(sim.stats().streams['btcusdt@bestBidAsk'].stalled).toBeGreaterThan(0);

    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    sim.setFaults({ disconnect: { everySeconds: 0.3 } });
    await closed;
    sim.clearFaults();
    expect(sim.stats().connections.closed.fault_disconnect).toBeGreaterThanOrEqual(1);
  });
});

describe('simulator: request weight limits', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rate: 50, seed: 2, weightLimitPerMinute: 60, banSeconds: 2 });
  });
  afterAll(async () => sim.stop());

  it('charges request weights, answers 429 over the limit and 418 to a client that keeps sending', async () => {
    // Weight limit 60/min: depth limit 100 weighs 5. Wait for a fresh minute window if this one is nearly over.
    if (Date.now() % 60_000 > 50_000) await sleep(60_000 - (Date.now() % 60_000) + 50);
    let last = await status(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1`);
    const firstUsed = Number(last.headers.get('x-mbx-used-weight-1m'));
    expect(firstUsed).toBeGreaterThanOrEqual(5);
    let used = firstUsed;
    while (last.status === 200) {
      last = await status(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1`);
      if (last.status === 200) {
        expect(Number(last.headers.get('x-mbx-used-weight-1m'))).toBe(used + 5);
        used += 5;
      }
    }
    expect(last.status).toBe(429);
    expect(last.body).toMatchObject({ code: -1003 });
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const banned = await status(`${sim.restUrl}/api/v3/ping`);
    expect(banned.status).toBe(418);
    expect(Number(banned.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    // The control API is never rate limited.
    expect((await status(`${sim.restUrl}/sim/stats`)).status).toBe(200);
    expect(sim.stats().rest).toMatchObject({ rateLimited429: 1, banned418: 1 });
    // After the ban: allowed again, or a plain 429 while this minute's weight is still used up.
    await sleep(2100);
    const again = await status(`${sim.restUrl}/api/v3/ping`);
    expect([200, 429]).toContain(again.status);
  });
});

describe('simulator: connection lifetime and pings', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rate: 200, seed: 5, maxConnectionSeconds: 1.5, pingIntervalMs: 200, pongTimeoutMs: 600 });
  });
  afterAll(async () => sim.stop());

  it('announces the lifetime limit with a serverShutdown text frame, then closes', async () => {
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@depth`);
    const texts: string[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (!isBinary) texts.push(d.toString());
    });
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1000);
    expect(texts).toHaveLength(1);
    const msg = JSON.parse(texts[0]) as { e: string; E: number };
    expect(msg.e).toBe('serverShutdown');
    expect(Math.abs(msg.E - Date.now())).toBeLessThan(5000);
    await waitFor(() => (sim.stats().connections.closed.lifetime ?? 0) >= 1, 5000, 'the server to count the close');
  });

  it('closes a connection that does not answer pings', async () => {
    const ws = new WebSocket(`${sim.wsUrl}/ws/btcusdt@depth20`, { headers: { 'X-MBX-APIKEY': API_KEY }, autoPong: false });
    await new Promise((r) => ws.once('open', r));
    let pings = 0;
    ws.on('ping', () => pings++);
    await new Promise((resolve) => ws.once('close', resolve));
    expect(pings).toBeGreaterThanOrEqual(2);
    await waitFor(() => sim.stats().connections.closed.pong_timeout === 1, 5000, 'the server to count the close');
  });
});

describe('simulator: slow consumers and delays', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rate: 20_000, seed: 6, maxBufferedBytes: 32 * 1024 });
  });
  afterAll(async () => sim.stop());

  it('drops and counts frames for a client that stops reading, and keeps serving the others', async () => {
    // A raw TCP client that completes the handshake and then never reads: the server's buffer must stay bounded.
    const { connect: tcp } = await import('node:net');
    const port = Number(new URL(sim.wsUrl).port);
    const sock = tcp({ port, host: '127.0.0.1' });
    await new Promise((r) => sock.once('connect', r));
    sock.write(
      'GET /stream?streams=btcusdt@depth20/btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth HTTP/1.1\r\n' +
        `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        `X-MBX-APIKEY: ${API_KEY}\r\n\r\n`,
    );
    sock.pause();
    const overflowed = () => Object.values(sim.stats().streams).reduce((s, c) => s + c.overflowed, 0);
    await waitFor(() => overflowed() > 100, 30_000, 'slow-consumer drops');
    const rss = process.memoryUsage().rss;

    const healthy = await connect(`${sim.wsUrl}/ws/btcusdt@trade`);
    let got = 0;
    healthy.on('message', () => got++);
    await waitFor(() => got > 20, 10_000, 'frames for a healthy client');
    healthy.close();
    expect(sim.stats().connections.open).toBeGreaterThanOrEqual(1);
    await sleep(500);
    // Still bounded: dropping, not buffering (well under 100 MB of growth).
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024);
    sock.destroy();
  });

  it('delays frames by the configured time and counts them', async () => {
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@bestBidAsk`);
    const arrivals: number[] = [];
    ws.on('message', () => arrivals.push(Date.now()));
    await waitFor(() => arrivals.length > 10, 5000, 'frames before the delay');
    const before = sim.stats().streams['btcusdt@bestBidAsk'].delayed;
    const t0 = Date.now();
    sim.setFaults({ delayMs: { ms: 400, streams: ['bestBidAsk'] } });
    await sleep(300);
    // Nothing generated after t0 can arrive before t0 + 400; only frames already in flight may.
    expect(arrivals.filter((t) => t > t0 + 100 && t < t0 + 300)).toEqual([]);
    await waitFor(() => arrivals.some((t) => t >= t0 + 400), 5000, 'delayed frames');
    sim.clearFaults();
    expect(sim.stats().streams['btcusdt@bestBidAsk'].delayed - before).toBeGreaterThan(10);
    ws.close();
  });
});
