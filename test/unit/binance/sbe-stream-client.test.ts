/**
 * SbeStreamClient against a tiny real WebSocket server on loopback: backoff bounds, stream path, the
 * X-MBX-APIKEY header, watchdog reconnects, degraded mode after refused attempts and recovery, rotation
 * with overlap, and a stop() that leaves no connection open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WebSocketServer, type WebSocket } from 'ws';
import { reconnectDelayMs, SbeStreamClient, streamPath, type SbeStreamClientOptions } from '../../../src/binance/sbe-stream-client.js';

interface TestServer {
  url: string;
  wss: WebSocketServer;
  sockets: Set<WebSocket>;
  keys: string[];
  accept: boolean;
  /** Send a frame every `everyMs` to each new connection (0 = silent). */
  everyMs: number;
  close(): Promise<void>;
}

async function server(opts: { accept?: boolean; everyMs?: number } = {}): Promise<TestServer> {
  const s = { sockets: new Set<WebSocket>(), keys: [] as string[], accept: opts.accept ?? true, everyMs: opts.everyMs ?? 10 } as TestServer;
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    verifyClient: (info, cb) => {
      s.keys.push(String(info.req.headers['x-mbx-apikey']));
      if (s.accept) cb(true);
      else cb(false, 401, 'Unauthorized');
    },
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const timers = new Set<NodeJS.Timeout>();
  wss.on('connection', (ws) => {
    s.sockets.add(ws);
    if (s.everyMs > 0) {
      const t = setInterval(() => ws.send(Buffer.from([1, 2, 3]), { binary: true }), s.everyMs);
      timers.add(t);
      ws.on('close', () => clearInterval(t));
    }
    ws.on('close', () => s.sockets.delete(ws));
  });
  const addr = wss.address() as { port: number };
  s.url = `ws://127.0.0.1:${addr.port}`;
  s.wss = wss;
  s.close = async () => {
    for (const t of timers) clearInterval(t);
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  };
  return s;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

function client(url: string, extra: Partial<SbeStreamClientOptions> = {}): { c: SbeStreamClient; frames: number[] } {
  const frames: number[] = [];
  const c = new SbeStreamClient({
    baseUrl: url,
    apiKey: 'unit-key',
    symbols: ['BTCUSDT'],
    streamTypes: ['trade', 'depth'],
    onFrame: (_f, _ts, id) => frames.push(id),
    backoffBaseMs: 10,
    backoffCapMs: 50,
    ...extra,
  });
  cleanups.push(() => c.stop());
  return { c, frames };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('reconnectDelayMs', () => {
  it('stays within [0, min(cap, base·2^attempt))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 120_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, base, cap, r) => {
        const d = reconnectDelayMs(attempt, base, cap, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(cap, base * 2 ** Math.min(attempt, 1023)));
        expect(Number.isInteger(d)).toBe(true);
      }),
    );
    expect(reconnectDelayMs(3, 100, 10_000, () => 0.5)).toBe(400);
    expect(reconnectDelayMs(30, 100, 10_000, () => 0.5)).toBe(5_000);
  });
});

describe('streamPath', () => {
  it('combines lower-case symbol@type names', () => {
    expect(streamPath(['BTCUSDT', 'ETHUSDT'], ['trade', 'bestBidAsk'])).toBe('/stream?streams=btcusdt@trade/btcusdt@bestBidAsk/ethusdt@trade/ethusdt@bestBidAsk');
  });
  it('refuses a missing key or an empty subscription', () => {
    expect(() => new SbeStreamClient({ baseUrl: 'ws://x', apiKey: '', symbols: ['A'], streamTypes: ['trade'], onFrame: () => undefined })).toThrow(/API key/);
    expect(() => new SbeStreamClient({ baseUrl: 'ws://x', apiKey: 'k', symbols: [], streamTypes: ['trade'], onFrame: () => undefined })).toThrow(/no streams/);
  });
});

describe('SbeStreamClient on a real socket', () => {
  it('sends the key header, delivers frames and reports connected', async () => {
    const s = await server();
    cleanups.push(() => s.close());
    const { c, frames } = client(s.url);
    c.start();
    await until(() => frames.length >= 5);
    expect(s.keys).toEqual(['unit-key']);
    expect(c.status()).toBe('connected');
    expect(c.stats().messages_total).toBeGreaterThanOrEqual(5);
  });

  it('reconnects when the watchdog sees no frame in time', async () => {
    const s = await server({ everyMs: 0 });
    cleanups.push(() => s.close());
    const { c } = client(s.url, { watchdogMs: 200 });
    let watchdogs = 0;
    c.on('watchdog', () => watchdogs++);
    c.start();
    await until(() => watchdogs >= 2 && s.keys.length >= 2);
    expect(c.stats().reconnect_count).toBeGreaterThanOrEqual(1);
  });

  it('enters degraded after max attempts are refused, then recovers when the venue accepts again', async () => {
    const s = await server({ accept: false });
    cleanups.push(() => s.close());
    const { c, frames } = client(s.url, { maxReconnectAttempts: 3, backoffCapMs: 100 });
    const events: string[] = [];
    c.on('degraded', () => events.push('degraded'));
    c.on('recovered', () => events.push('recovered'));
    c.start();
    await until(() => events.includes('degraded'));
    expect(c.status()).toBe('degraded');
    expect(c.stats().consecutive_failures).toBeGreaterThanOrEqual(3);
    expect(s.keys.length).toBeGreaterThanOrEqual(3);
    s.accept = true;
    await until(() => frames.length > 0 && events.includes('recovered'));
    expect(c.status()).toBe('connected');
    expect(c.stats().degraded).toBe(false);
    expect(c.stats().consecutive_failures).toBe(0);
  });

  it('rotates before the age limit with an overlap, and stop() closes every connection', async () => {
    const s = await server({ everyMs: 5 });
    cleanups.push(() => s.close());
    const { c, frames } = client(s.url, { maxConnectionAgeMs: 250, rotationOverlapMs: 100 });
    let rotations = 0;
    c.on('rotated', () => rotations++);
    c.start();
    await until(() => rotations >= 2);
    // During an overlap both connections delivered.
    expect(new Set(frames).size).toBeGreaterThanOrEqual(3);
    expect(c.stats().reconnect_count).toBe(0);
    await c.stop();
    await until(() => s.sockets.size === 0, 3_000);
    expect(c.status()).toBe('stopped');
  });

  it.each([
    ['plain', { e: 'serverShutdown', E: 1770123456789 }],
    ['combined-stream', { stream: '!serverShutdown', data: { e: 'serverShutdown', E: 1770123456789 } }],
  ])('rotates at once on a %s serverShutdown, before the venue closes the connection', async (_form, msg) => {
    const s = await server({ everyMs: 5 });
    cleanups.push(() => s.close());
    const { c } = client(s.url, { rotationOverlapMs: 100 });
    const rotated: Array<{ from?: number; to: number }> = [];
    const replies: unknown[] = [];
    c.on('rotated', (r: { from?: number; to: number }) => rotated.push(r));
    c.on('reply', (r: unknown) => replies.push(r));
    c.start();
    await until(() => c.status() === 'connected');
    const [first] = [...s.sockets];
    first.send(JSON.stringify(msg));
    await until(() => rotated.length === 1);
    expect(rotated[0]).toEqual({ from: 1, to: 2 });
    expect(replies).toEqual([]);
    expect(c.stats().reconnect_count).toBe(0);
  });

  it('logs a text frame that is JSON but not an object instead of throwing', async () => {
    const s = await server({ everyMs: 5 });
    cleanups.push(() => s.close());
    const warned: string[] = [];
    const logger = { info: () => undefined, warn: (_o: object, m: string) => warned.push(m), error: () => undefined };
    const { c, frames } = client(s.url, { logger });
    c.start();
    await until(() => c.status() === 'connected');
    for (const ws of s.sockets) for (const t of ['null', '5', '"x"']) ws.send(t);
    await until(() => warned.filter((m) => m === 'text frame is not a JSON object').length === 3);
    const before = frames.length;
    await until(() => frames.length > before + 3);
    expect(c.stats().text_messages_total).toBe(3);
  });

  it('reports each connection\'s close once, after its last frame, with its id', async () => {
    const s = await server({ everyMs: 2 });
    cleanups.push(() => s.close());
    const events: Array<['frame' | 'close', number]> = [];
    const { c } = client(s.url, {
      maxConnectionAgeMs: 200,
      rotationOverlapMs: 50,
      onFrame: (_f, _ts, id) => events.push(['frame', id]),
      onConnectionClose: (id) => events.push(['close', id]),
    });
    c.start();
    await until(() => events.filter(([k]) => k === 'close').length >= 2);
    await c.stop();
    const closes = events.filter(([k]) => k === 'close').map(([, id]) => id);
    expect(new Set(closes).size).toBe(closes.length);
    for (const id of closes) {
      const closedAt = events.findIndex(([k, i]) => k === 'close' && i === id);
      expect(events.slice(closedAt + 1).some(([k, i]) => k === 'frame' && i === id)).toBe(false);
    }
    // stop() closed the rest: every connection that delivered was reported closed.
    const delivered = new Set(events.filter(([k]) => k === 'frame').map(([, id]) => id));
    for (const id of delivered) expect(closes).toContain(id);
  });
});
