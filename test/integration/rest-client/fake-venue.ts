import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestWeight } from '../../../src/binance/rest-weights.js';

export interface SeenRequest {
  at: number;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** What the venue answered. */
  status: number;
}

export interface ScriptedAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * A loopback stand-in for the Binance REST venue: counts request weight per fixed window and reports
 * it in X-MBX-USED-WEIGHT-1M, enforces Retry-After like Binance (a request during a 429's Retry-After
 * escalates to a 418 ban), and answers from a script when one is queued.
 */
export class FakeVenue {
  readonly seen: SeenRequest[] = [];
  readonly script: ScriptedAnswer[] = [];
  /** Weight spent by "other processes on the same IP", added to the reported header. */
  externalWeight = 0;
  escalations = 0;
  private server: Server | undefined;
  private quietUntil = 0;
  private windowStart = 0;
  private windowWeight = 0;
  readonly weightByWindow = new Map<number, number>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly limit = 1200,
  ) {}

  get url(): string {
    const addr = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const now = Date.now();
    const u = new URL(req.url ?? '/', 'http://x');
    const ws = Math.floor(now / this.windowMs) * this.windowMs;
    if (ws !== this.windowStart) {
      this.windowStart = ws;
      this.windowWeight = 0;
    }
    this.windowWeight += requestWeight(u.pathname, u.searchParams);
    this.weightByWindow.set(ws, this.windowWeight);
    const used = this.windowWeight + this.externalWeight;
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      this.seen.push({ at: now, path: u.pathname, query: u.searchParams, headers: req.headers, status });
      res.writeHead(status, { 'content-type': 'application/json', 'x-mbx-used-weight-1m': String(used), ...headers });
      res.end(body);
    };
    if (now < this.quietUntil) {
      // Binance bans an IP that keeps sending during a 429's Retry-After.
      this.escalations += 1;
      send(418, JSON.stringify({ code: -1003, msg: 'banned' }), { 'retry-after': '120' });
      return;
    }
    const scripted = this.script.shift();
    if (scripted) {
      if (scripted.status === 429 || scripted.status === 418) {
        const after = Number(scripted.headers?.['retry-after'] ?? '1');
        this.quietUntil = now + after * 1000;
      }
      send(scripted.status, scripted.body ?? JSON.stringify({ code: -1000, msg: 'scripted' }), scripted.headers);
      return;
    }
    if (used > this.limit) {
      this.quietUntil = now + 1000;
      send(429, JSON.stringify({ code: -1003, msg: 'Too many requests' }), { 'retry-after': '1' });
      return;
    }
    send(200, defaultBody(u.pathname, u.searchParams, this.limit));
  }
}

function defaultBody(path: string, q: URLSearchParams, limit: number): string {
  switch (path) {
    case '/api/v3/exchangeInfo':
      return JSON.stringify({
        timezone: 'UTC',
        serverTime: Date.now(),
        rateLimits: [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit },
          { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
        ],
        exchangeFilters: [],
        symbols: [],
      });
    case '/api/v3/ping':
      return '{}';
    case '/api/v3/time':
      return JSON.stringify({ serverTime: Date.now() });
    case '/api/v3/depth':
      return JSON.stringify({
        lastUpdateId: 1027024,
        bids: [['4.00000000', '431.00000000']],
        asks: [['4.00000200', '12.00000000']],
      });
    case '/api/v3/trades':
      return JSON.stringify([
        { id: 28457, price: '4.00000100', qty: '12.00000000', quoteQty: '48.000012', time: 1499865549590, isBuyerMaker: true, isBestMatch: true },
      ]);
    case '/api/v3/aggTrades': {
      const from = Number(q.get('fromId') ?? 26129);
      return JSON.stringify([{ a: from, p: '0.01633102', q: '4.70443515', f: 27781, l: 27781, T: 1498793709153, m: true, M: true }]);
    }
    case '/api/v3/klines':
      return JSON.stringify([
        [1499040000000, '0.01634790', '0.80000000', '0.01575800', '0.01577100', '148976.11427815', 1499644799999, '2434.19055334', 308, '1756.87402397', '28.46694368', '0'],
      ]);
    default:
      return JSON.stringify({ code: -1000, msg: 'unknown path' });
  }
}
