/**
 * The REST side of the venue on one node:http server: Binance's `/api/v3/*` market-data endpoints with
 * their JSON shapes, parameter rules, error codes, request weights and 429/418 rate limiting, plus the
 * simulator's own `/sim/*` control API (ground truth, stats, fault injection), which is never rate limited.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BinanceErrorCode } from '../binance/rest-types.js';
import type { RestAggTrade, RestTrade } from '../binance/rest-types.js';
import { requestWeight } from '../binance/rest-weights.js';
import type { MarketEngine } from './engine.js';
import { FaultSpecError, parseFaultSpec, type FaultInjector } from './faults.js';
import type { TruthTrade } from './history.js';
import { computeKlines, isKlineInterval } from './klines.js';
import type { SimMarket } from './market.js';
import { WeightLimiter } from './rate-limit.js';
import { Rng } from './rng.js';
import type { SimStats } from './stats.js';
import { SymbolFormat } from './symbols.js';

export interface SimRestOptions {
  host: string;
  port: number;
  weightLimitPerMinute: number;
  banSeconds: number;
  marketStartMs: number;
  /**
   * Seeded snapshot lag: this share of /api/v3/depth answers is a book 1..maxUpdates updates older than
   * the stream (a venue cache behind its feed). Off when unset.
   */
  snapshotLag?: { probability: number; maxUpdates: number; seed: number };
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const mandatory = (name: string) =>
  new ApiError(400, BinanceErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
const illegal = (name: string) =>
  new ApiError(400, BinanceErrorCode.ILLEGAL_CHARS, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
const invalidValue = (name: string) =>
  new ApiError(400, BinanceErrorCode.INVALID_PARAMETER, `Data sent for parameter '${name}' is not valid.`);
const LOOKUP_INTERVAL_TOO_BIG = -1127;

/** Body of an HTTP answer: JSON, a non-JSON page (a gateway's), or nothing (404 like Binance's edge). */
type Answer = { status: number; body?: unknown; page?: string; headers?: Record<string, string> };

const GATEWAY_PAGE = (status: number): string =>
  `<html>\r\n<head><title>${status} ${status === 503 ? 'Service Temporarily Unavailable' : 'Internal Server Error'}</title></head>\r\n` +
  `<body>\r\n<center><h1>${status} ${status === 503 ? 'Service Temporarily Unavailable' : 'Internal Server Error'}</h1></center>\r\n</body>\r\n</html>\r\n`;

export class SimRestServer {
  private readonly http: Server;
  private readonly limiter: WeightLimiter;
  private readonly formats = new Map<string, SymbolFormat>();
  private readonly lagRng: Rng | undefined;

  constructor(
    private readonly opts: SimRestOptions,
    private readonly market: SimMarket,
    private readonly stats: SimStats,
    private readonly faults: FaultInjector,
    private readonly onFaultsChanged: () => void,
  ) {
    this.limiter = new WeightLimiter({ limitPerMinute: opts.weightLimitPerMinute, banSeconds: opts.banSeconds });
    for (const [symbol, engine] of market.engines) this.formats.set(symbol, new SymbolFormat(engine.spec));
    this.lagRng = opts.snapshotLag ? new Rng(opts.snapshotLag.seed ^ 0x1a6) : undefined;
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.write(res, { status: 500, body: { code: BinanceErrorCode.UNKNOWN, msg: errorText(err) } });
      });
    });
    this.http.keepAliveTimeout = 5000;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const addr = this.http.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/sim/')) {
      const body = method === 'POST' ? await readBody(req) : '';
      this.write(res, this.simRoute(method, url, body));
      return;
    }
    this.write(res, this.apiRoute(req, method, url));
  }

  private write(res: ServerResponse, a: Answer): void {
    const headers: Record<string, string> = { ...a.headers };
    let payload = '';
    if (a.page !== undefined) {
      payload = a.page;
      headers['content-type'] = 'text/html';
    } else if (a.body !== undefined) {
      payload = JSON.stringify(a.body);
      headers['content-type'] = 'application/json;charset=UTF-8';
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
    res.writeHead(a.status, headers).end(payload);
  }

  // ---------------------------------------------------------------- /api/v3

  private apiRoute(req: IncomingMessage, method: string, url: URL): Answer {
    const handler = API[url.pathname];
    if (!handler || method !== 'GET') return { status: 404 };
    this.stats.rest.requests += 1;
    const now = Date.now();
    const client = req.socket.remoteAddress ?? 'unknown';
    const weight = requestWeight(url.pathname, url.searchParams);
    const fault = this.faults.restFault(now);
    if (fault) {
      this.stats.rest.faulted[fault.status] = (this.stats.rest.faulted[fault.status] ?? 0) + 1;
      if (fault.status === 429 || fault.status === 418) {
        return this.limitAnswer(fault.status, fault.retryAfterSec, 0, now + fault.retryAfterSec * 1000);
      }
      if (fault.body === 'html') return { status: fault.status, page: GATEWAY_PAGE(fault.status) };
      return fault.status === 500
        ? { status: 500, body: { code: BinanceErrorCode.UNKNOWN, msg: 'An unknown error occured while processing the request.' } }
        : { status: 503, body: { code: BinanceErrorCode.UNKNOWN, msg: 'Service unavailable.' } };
    }
    const verdict = this.limiter.charge(client, weight, now);
    if (verdict.status !== 200) {
      if (verdict.status === 429) this.stats.rest.rateLimited429 += 1;
      else this.stats.rest.banned418 += 1;
      return this.limitAnswer(verdict.status, verdict.retryAfterSec, verdict.usedWeight, verdict.untilMs);
    }
    const headers = { 'x-mbx-used-weight-1m': String(verdict.usedWeight), 'x-mbx-used-weight': String(verdict.usedWeight) };
    const micro = String(req.headers['x-mbx-time-unit'] ?? '').toUpperCase() === 'MICROSECOND';
    try {
      return { status: 200, body: handler.call(this, url.searchParams, micro ? 1_000_000 : 1000), headers };
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, body: { code: err.code, msg: err.message }, headers };
      throw err;
    }
  }

  private limitAnswer(status: 429 | 418, retryAfterSec: number, used: number, untilMs: number): Answer {
    const limit = this.opts.weightLimitPerMinute;
    const msg =
      status === 429
        ? `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`
        : `Way too much request weight used; IP banned until ${untilMs}. Please use WebSocket Streams for live updates to avoid bans.`;
    return {
      status,
      body: { code: BinanceErrorCode.TOO_MANY_REQUESTS, msg },
      headers: { 'retry-after': String(retryAfterSec), 'x-mbx-used-weight-1m': String(used), 'x-mbx-used-weight': String(used) },
    };
  }

  engineFor(q: URLSearchParams): [MarketEngine, SymbolFormat] {
    const symbol = q.get('symbol');
    if (symbol === null || symbol === '') throw mandatory('symbol');
    const engine = this.market.engine(symbol);
    if (!engine) throw new ApiError(400, BinanceErrorCode.INVALID_SYMBOL, 'Invalid symbol.');
    return [engine, this.formats.get(symbol) as SymbolFormat];
  }

  exchangeInfo(q: URLSearchParams, unit: number): unknown {
    let symbols = [...this.market.engines.keys()];
    const one = q.get('symbol');
    const many = q.get('symbols');
    if (one !== null) {
      if (!this.market.engine(one)) throw new ApiError(400, BinanceErrorCode.INVALID_SYMBOL, 'Invalid symbol.');
      symbols = [one];
    } else if (many !== null) {
      let list: unknown;
      try {
        list = JSON.parse(many);
      } catch {
        throw invalidValue('symbols');
      }
      if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw invalidValue('symbols');
      for (const s of list as string[]) {
        if (!this.market.engine(s)) throw new ApiError(400, BinanceErrorCode.INVALID_SYMBOL, 'Invalid symbol.');
      }
      symbols = list as string[];
    }
    return {
      timezone: 'UTC',
      serverTime: Math.floor((Date.now() * unit) / 1000),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: this.opts.weightLimitPerMinute },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: symbols.map((s) => {
        const spec = (this.market.engine(s) as MarketEngine).spec;
        const f = this.formats.get(s) as SymbolFormat;
        return {
          symbol: s,
          status: 'TRADING',
          baseAsset: spec.baseAsset,
          baseAssetPrecision: 8,
          quoteAsset: spec.quoteAsset,
          quotePrecision: 8,
          quoteAssetPrecision: 8,
          baseCommissionPrecision: 8,
          quoteCommissionPrecision: 8,
          orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
          icebergAllowed: true,
          ocoAllowed: true,
          isSpotTradingAllowed: true,
          isMarginTradingAllowed: false,
          filters: [
            { filterType: 'PRICE_FILTER', minPrice: f.tickSize, maxPrice: f.price(spec.maxPriceTicks * 10), tickSize: f.tickSize },
            { filterType: 'LOT_SIZE', minQty: f.stepSize, maxQty: '9000.00000000', stepSize: f.stepSize },
          ],
          permissions: [],
          permissionSets: [['SPOT']],
          defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
          allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
        };
      }),
    };
  }

  depth(q: URLSearchParams): unknown {
    const [engine, f] = this.engineFor(q);
    const limit = Math.min(intParam(q, 'limit', 1, Infinity) ?? 100, 5000);
    const behind = this.snapshotBehind();
    if (behind > 0) this.stats.rest.snapshotsBehind += 1;
    // A lagging answer is the true book of an older update id (the oldest retained one at worst).
    const book =
      behind > 0
        ? (engine.bookAt(Math.max(engine.oldestTruthId, engine.lastUpdateId - behind), limit) ?? engine.currentBook(limit))
        : engine.currentBook(limit);
    return {
      lastUpdateId: book.lastUpdateId,
      bids: book.bids.map(([p, n]) => [f.price(p), f.qty(n)]),
      asks: book.asks.map(([p, n]) => [f.price(p), f.qty(n)]),
    };
  }

  /** Updates this depth answer lags the stream by: the snapshotBehind fault, else the seeded lag. */
  private snapshotBehind(): number {
    const fault = this.faults.snapshotBehind(Date.now());
    if (fault > 0) return fault;
    const lag = this.opts.snapshotLag;
    if (!lag || !this.lagRng) return 0;
    return this.lagRng.chance(lag.probability) ? this.lagRng.range(1, lag.maxUpdates) : 0;
  }

  recentTrades(q: URLSearchParams, unit: number): RestTrade[] {
    const [engine, f] = this.engineFor(q);
    const limit = intParam(q, 'limit', 1, 1000) ?? 500;
    const newest = engine.trades.newestId;
    return engine.trades.range(newest - limit + 1, limit).map((t) => restTrade(t, f, unit));
  }

  aggTrades(q: URLSearchParams, unit: number): RestAggTrade[] {
    const [engine, f] = this.engineFor(q);
    const limit = intParam(q, 'limit', 1, 1000) ?? 500;
    const fromId = intParam(q, 'fromId', 0, Number.MAX_SAFE_INTEGER);
    const start = intParam(q, 'startTime', 0, Number.MAX_SAFE_INTEGER);
    const end = intParam(q, 'endTime', 0, Number.MAX_SAFE_INTEGER);
    const trades = engine.trades;
    const toUs = (t: number) => (t * 1_000_000) / unit;
    let firstTrade: number;
    let endUs = Infinity;
    if (fromId !== undefined) {
      firstTrade = trades.firstWithAggAtLeast(fromId);
    } else if (start !== undefined || end !== undefined) {
      if (start !== undefined && end !== undefined) {
        if (end < start) throw invalidValue('endTime');
        if (toUs(end) - toUs(start) >= 3_600_000_000) {
          throw new ApiError(400, LOOKUP_INTERVAL_TOO_BIG, 'More than 1 hours between startTime and endTime.');
        }
      }
      // endTime is inclusive at the answer's time unit.
      if (end !== undefined) endUs = toUs(end + 1);
      if (start !== undefined) {
        firstTrade = trades.firstAtOrAfter(toUs(start));
      } else {
        const stop = trades.firstAtOrAfter(endUs);
        firstTrade = Math.max(trades.oldestId, stop - limit * 8);
        const all = aggregate(trades, firstTrade, Infinity, endUs, f, unit);
        return all.slice(-limit);
      }
    } else {
      return aggregate(trades, Math.max(trades.oldestId, trades.newestId - limit * 8), Infinity, Infinity, f, unit).slice(-limit);
    }
    return aggregate(trades, firstTrade, limit, endUs, f, unit);
  }

  klines(q: URLSearchParams, unit: number): unknown {
    const [engine, f] = this.engineFor(q);
    const interval = q.get('interval');
    if (interval === null || interval === '') throw mandatory('interval');
    if (!isKlineInterval(interval)) throw new ApiError(400, BinanceErrorCode.INVALID_INTERVAL, 'Invalid interval.');
    const limit = intParam(q, 'limit', 1, 1000) ?? 500;
    const start = intParam(q, 'startTime', 0, Number.MAX_SAFE_INTEGER);
    const end = intParam(q, 'endTime', 0, Number.MAX_SAFE_INTEGER);
    if (start !== undefined && end !== undefined && end < start) throw invalidValue('endTime');
    const toMs = (t: number) => Math.floor((t * 1000) / unit);
    const rows = computeKlines(engine, f, this.opts.marketStartMs, Math.floor(engine.timeUs / 1000), {
      interval,
      limit,
      startTimeMs: start === undefined ? undefined : toMs(start),
      endTimeMs: end === undefined ? undefined : toMs(end),
    });
    if (unit === 1000) return rows;
    return rows.map((r) => {
      const c = [...r];
      c[0] = (r[0] * 1000) as number;
      c[6] = (r[6] * 1000 + 999) as number;
      return c;
    });
  }

  // ---------------------------------------------------------------- /sim

  private simRoute(method: string, url: URL, body: string): Answer {
    const q = url.searchParams;
    const err = (status: number, msg: string): Answer => ({ status, body: { error: msg } });
    const engineOr = (): MarketEngine | Answer => {
      const symbol = q.get('symbol') ?? [...this.market.engines.keys()][0];
      return this.market.engine(symbol) ?? err(400, `unknown symbol ${JSON.stringify(symbol)}`);
    };
    const key = `${method} ${url.pathname}`;
    switch (key) {
      case 'GET /sim/truth/book': {
        const engine = engineOr();
        if (!('spec' in engine)) return engine;
        const f = this.formats.get(engine.spec.symbol) as SymbolFormat;
        const limit = optionalInt(q.get('limit'));
        const idText = q.get('updateId');
        const id = idText === null ? engine.lastUpdateId : optionalInt(idText);
        if (id === undefined || Number.isNaN(id)) return err(400, 'updateId must be an integer');
        if (limit !== undefined && (Number.isNaN(limit) || limit < 1)) return err(400, 'limit must be a positive integer');
        const book = engine.bookAt(id, limit);
        if (!book) {
          return err(404, `update id ${id} is outside the retained history [${engine.oldestTruthId}, ${engine.lastUpdateId}]`);
        }
        return {
          status: 200,
          body: {
            lastUpdateId: book.lastUpdateId,
            bids: book.bids.map(([p, n]) => [f.price(p), f.qty(n)]),
            asks: book.asks.map(([p, n]) => [f.price(p), f.qty(n)]),
          },
        };
      }
      case 'GET /sim/truth/trades': {
        const engine = engineOr();
        if (!('spec' in engine)) return engine;
        const f = this.formats.get(engine.spec.symbol) as SymbolFormat;
        const fromId = optionalInt(q.get('fromId')) ?? engine.trades.oldestId;
        const limit = optionalInt(q.get('limit')) ?? 1000;
        if (Number.isNaN(fromId)) return err(400, 'fromId must be an integer');
        if (Number.isNaN(limit) || limit < 1 || limit > 100_000) return err(400, 'limit must be an integer in [1, 100000]');
        return {
          status: 200,
          body: engine.trades.range(fromId, limit).map((t) => ({
            ...restTrade(t, f, 1000),
            timeUs: t.timeUs,
            aggId: t.aggId,
          })),
          headers: {
            'x-sim-oldest-trade-id': String(engine.trades.oldestId),
            'x-sim-newest-trade-id': String(engine.trades.newestId),
          },
        };
      }
      case 'GET /sim/stats': {
        const market: Record<string, unknown> = {};
        for (const [symbol, e] of this.market.engines) {
          market[symbol] = {
            lastUpdateId: e.lastUpdateId,
            oldestTruthUpdateId: e.oldestTruthId,
            oldestTradeId: e.trades.oldestId,
            lastTradeId: e.trades.newestId,
            bidLevels: e.levelCount(0),
            askLevels: e.levelCount(1),
          };
        }
        return {
          status: 200,
          body: {
            ...this.stats.snapshot(),
            market,
            marketSkippedMs: Math.round(this.market.skippedMs),
            faults: this.faults.active(Date.now()),
          },
        };
      }
      case 'GET /sim/faults':
        return { status: 200, body: this.faults.active(Date.now()) };
      case 'GET /sim/faults/log':
        return { status: 200, body: this.faults.entries() };
      case 'POST /sim/faults': {
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch (e) {
          return err(400, `invalid fault spec: body is not JSON (${errorText(e)})`);
        }
        try {
          this.faults.set(parseFaultSpec(json), Date.now());
        } catch (e) {
          if (e instanceof FaultSpecError) return err(400, e.message);
          throw e;
        }
        this.onFaultsChanged();
        return { status: 200, body: this.faults.active(Date.now()) };
      }
      case 'DELETE /sim/faults':
        this.faults.clear();
        this.onFaultsChanged();
        return { status: 200, body: {} };
      default:
        return { status: 404, body: { error: `no such simulator endpoint: ${key}` } };
    }
  }
}

/** `unit` is the answer's time unit in ticks per second: 1000 (ms, default) or 1e6 (X-MBX-TIME-UNIT: MICROSECOND). */
type ApiHandler = (this: SimRestServer, q: URLSearchParams, unit: number) => unknown;

const API: Record<string, ApiHandler> = {
  '/api/v3/ping': () => ({}),
  '/api/v3/time': (_q, unit) => ({ serverTime: Math.floor((Date.now() * unit) / 1000) }),
  '/api/v3/exchangeInfo': function (q, unit) {
    return this.exchangeInfo(q, unit);
  },
  '/api/v3/depth': function (q) {
    return this.depth(q);
  },
  '/api/v3/trades': function (q, unit) {
    return this.recentTrades(q, unit);
  },
  '/api/v3/aggTrades': function (q, unit) {
    return this.aggTrades(q, unit);
  },
  '/api/v3/klines': function (q, unit) {
    return this.klines(q, unit);
  },
};

/** An optional integer parameter in [min, max]: -1100 for non-digits, -1130 outside the range. */
function intParam(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (v === '') throw mandatory(name);
  if (!/^-?[0-9]{1,20}$/.test(v)) throw illegal(name);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalidValue(name);
  return n;
}

function optionalInt(v: string | null): number | undefined {
  if (v === null) return undefined;
  return /^-?\d{1,16}$/.test(v) ? Number(v) : NaN;
}

function restTrade(t: TruthTrade, f: SymbolFormat, unit: number): RestTrade {
  return {
    id: t.id,
    price: f.price(t.price),
    qty: f.qty(t.qty),
    quoteQty: f.quote(t.price, t.qty),
    time: Math.floor((t.timeUs * unit) / 1_000_000),
    isBuyerMaker: t.isBuyerMaker,
    isBestMatch: true,
  };
}

/**
 * Aggregate trades from trade id `from` on (skipping a group cut by the start), stopping at `limit` groups or
 * at the first trade at/after endUs.
 */
function aggregate(
  trades: MarketEngine['trades'],
  from: number,
  limit: number,
  endUs: number,
  f: SymbolFormat,
  unit: number,
): RestAggTrade[] {
  const out: RestAggTrade[] = [];
  let id = from;
  const prev = trades.get(id - 1);
  const first = trades.get(id);
  if (prev && first && prev.aggId === first.aggId) {
    while (id <= trades.newestId && (trades.get(id) as TruthTrade).aggId === prev.aggId) id++;
  }
  while (id <= trades.newestId && out.length < limit) {
    const t = trades.get(id) as TruthTrade;
    if (t.timeUs >= endUs) break;
    let qty = 0;
    let last = id;
    for (let j = id; j <= trades.newestId; j++) {
      const u = trades.get(j) as TruthTrade;
      if (u.aggId !== t.aggId) break;
      qty += u.qty;
      last = j;
    }
    out.push({
      a: t.aggId,
      p: f.price(t.price),
      q: f.qty(qty),
      f: id,
      l: last,
      T: Math.floor((t.timeUs * unit) / 1_000_000),
      m: t.isBuyerMaker,
      M: true,
    });
    id = last + 1;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1_000_000) {
        reject(new Error('request body over 1 MB'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
