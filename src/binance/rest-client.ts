import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import {
  aggTradeResponseSchema,
  binanceErrorSchema,
  depthResponseSchema,
  exchangeInfoRateLimitsSchema,
  klineResponseSchema,
  requestWeightPerMinute,
  tradeResponseSchema,
  type DepthResponse,
  type RestAggTrade,
  type RestKline,
  type RestTrade,
} from './rest-types.js';
import { FALLBACK_WEIGHT_LIMIT_PER_MINUTE, requestWeight } from './rest-weights.js';
import { WeightBudget, fullJitterDelay, parseRetryAfterMs, type WeightTicket } from './rest-budget.js';
import {
  BinanceHttpError,
  BinanceNetworkError,
  BinanceResponseError,
  BinanceServerError,
  RateLimitedError,
  WeightBudgetError,
} from './rest-errors.js';
import { zodIssues } from './rest-validate.js';

export const DEFAULT_REST_BASE_URL = 'https://data-api.binance.vision';

export type KlineInterval =
  | '1s' | '1m' | '3m' | '5m' | '15m' | '30m' | '1h' | '2h' | '4h' | '6h' | '8h' | '12h' | '1d' | '3d' | '1w' | '1M';

export interface AggTradesQuery {
  symbol: string;
  fromId?: number;
  startTime?: number;
  endTime?: number;
  limit?: number;
}

export interface KlinesQuery {
  symbol: string;
  interval: KlineInterval;
  startTime?: number;
  endTime?: number;
  limit?: number;
}

export interface RestCallInfo {
  endpoint: string;
  /** HTTP status, or 0 when no answer arrived (network error / timeout). */
  status: number;
  latencyMs: number;
  weight: number;
}

export interface BinanceRestClientOptions {
  baseUrl?: string;
  /** Sent as X-MBX-APIKEY; never logged, never in errors or stats. */
  apiKey?: string;
  /**
   * Cap on the weight budget per window. With `limitFromExchangeInfo` the budget is the venue's published
   * REQUEST_WEIGHT per minute, at most this cap; without it (or until the venue's limit is known, or when it
   * cannot be read) the budget is this cap, default 1,200.
   */
  rateLimitRequestsPerMinute?: number;
  /**
   * Read the budget from `/api/v3/exchangeInfo` (rateLimits, REQUEST_WEIGHT per 1 MINUTE; weight 20)
   * before the first call, and again hourly; a failed read is retried a minute later. Default false.
   */
  limitFromExchangeInfo?: boolean;
  /** Budget window; 60 000 against Binance. Shorter only for tests / the simulator. */
  weightWindowMs?: number;
  /** Per-attempt timeout (connect + headers + body). Default 10 000. */
  timeoutMs?: number;
  /** Retries on network errors, 5xx, and short 429/418 waits. Default 3. */
  maxRetries?: number;
  /** Full-jitter backoff base and cap. Defaults 200 / 5 000. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /**
   * The longest a call waits out a 429/418 Retry-After before giving up with RateLimitedError
   * (default 30 000). Short bans are waited out so pollers recover by themselves; long ones (a
   * 418 ban lasts 2 minutes to 3 days) fail fast so the caller can skip the poll. Either way no
   * request is sent before Retry-After.
   */
  maxRateLimitWaitMs?: number;
  onCall?: (info: RestCallInfo) => void;
  /** Test seams. */
  now?: () => number;
  random?: () => number;
  dispatcher?: Dispatcher;
}

export type RestClientStatus = 'healthy' | 'degraded' | 'rate_limited' | 'banned';

export interface RestClientStats {
  status: RestClientStatus;
  last_call_latency_ms: number | null;
  rate_limit_remaining: number;
  rate_limit_limit: number;
  /** Where rate_limit_limit comes from: the venue's exchangeInfo (capped by config), or config / fallback. */
  rate_limit_source: 'exchangeInfo' | 'config';
  /** REQUEST_WEIGHT per minute the venue published, when read. */
  rate_limit_venue: number | null;
  /** Why the last read of the venue's limit failed (null when it did not). */
  rate_limit_read_error: string | null;
  rate_limit_effective: number;
  used_weight: number;
  /** Share of failed calls among the last 100. */
  error_rate: number;
  calls_total: number;
  errors_total: number;
  calls_by_endpoint: Record<string, number>;
  banned_until: string | null;
  rate_limited_until: string | null;
}

const ERROR_WINDOW = 100;
const EXCHANGE_INFO = '/api/v3/exchangeInfo';
const LIMIT_REFRESH_MS = 3_600_000;
const LIMIT_RETRY_MS = 60_000;
const USED_WEIGHT_HEADER = 'x-mbx-used-weight-1m';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Binance spot REST market-data client. Budgets request weight (trusting the venue's used-weight
 * header), retries network errors and 5xx with full-jitter backoff (GETs are safe to repeat), and never
 * sends while a 429/418 Retry-After is running. Exposes stats() and an onCall hook instead of metrics.
 */
export class BinanceRestClient {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  private readonly budget: WeightBudget;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly onCall: ((info: RestCallInfo) => void) | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private lastLatencyMs: number | null = null;
  private readonly outcomes: boolean[] = [];
  private callsTotal = 0;
  private errorsTotal = 0;
  private readonly callsByEndpoint = new Map<string, number>();
  private readonly limitCap: number | undefined;
  private readonly limitFromExchangeInfo: boolean;
  private limitSource: 'exchangeInfo' | 'config' = 'config';
  private venueLimit: number | null = null;
  private limitReadError: string | null = null;
  private nextLimitReadMs = 0;
  private limitRead: Promise<void> | undefined;

  constructor(opts: BinanceRestClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_REST_BASE_URL).replace(/\/+$/, '');
    this.#apiKey = opts.apiKey || undefined;
    this.limitCap = opts.rateLimitRequestsPerMinute;
    this.limitFromExchangeInfo = opts.limitFromExchangeInfo ?? false;
    this.budget = new WeightBudget({
      limit: opts.rateLimitRequestsPerMinute ?? FALLBACK_WEIGHT_LIMIT_PER_MINUTE,
      windowMs: opts.weightWindowMs ?? 60_000,
    });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxRetries = opts.maxRetries ?? 3;
    this.backoffBaseMs = opts.backoffBaseMs ?? 200;
    this.backoffCapMs = opts.backoffCapMs ?? 5_000;
    this.maxRateLimitWaitMs = opts.maxRateLimitWaitMs ?? 30_000;
    this.onCall = opts.onCall;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher = opts.dispatcher ?? new Agent({ connections: 8, keepAliveTimeout: 30_000 });
  }

  depth(symbol: string, limit = 100): Promise<DepthResponse> {
    return this.get('/api/v3/depth', { symbol, limit: String(limit) }, depthResponseSchema);
  }

  aggTrades(q: AggTradesQuery): Promise<RestAggTrade[]> {
    return this.get(
      '/api/v3/aggTrades',
      {
        symbol: q.symbol,
        fromId: q.fromId?.toString(),
        startTime: q.startTime?.toString(),
        endTime: q.endTime?.toString(),
        limit: q.limit?.toString(),
      },
      aggTradeResponseSchema.array(),
    );
  }

  klines(q: KlinesQuery): Promise<RestKline[]> {
    return this.get(
      '/api/v3/klines',
      {
        symbol: q.symbol,
        interval: q.interval,
        startTime: q.startTime?.toString(),
        endTime: q.endTime?.toString(),
        limit: q.limit?.toString(),
      },
      klineResponseSchema.array(),
    );
  }

  trades(symbol: string, limit = 500): Promise<RestTrade[]> {
    return this.get('/api/v3/trades', { symbol, limit: String(limit) }, tradeResponseSchema.array());
  }

  async ping(): Promise<void> {
    await this.get('/api/v3/ping', {}, pingSchema);
  }

  async time(): Promise<number> {
    const body = await this.get('/api/v3/time', {}, timeSchema);
    return body.serverTime;
  }

  stats(): RestClientStats {
    const now = this.now();
    const b = this.budget.snapshot(now);
    const errors = this.outcomes.filter((ok) => !ok).length;
    const errorRate = this.outcomes.length === 0 ? 0 : errors / this.outcomes.length;
    let status: RestClientStatus = 'healthy';
    if (now < b.bannedUntil) status = 'banned';
    else if (now < b.blockedUntil) status = 'rate_limited';
    else if (errorRate > 0.1) status = 'degraded';
    return {
      status,
      last_call_latency_ms: this.lastLatencyMs,
      rate_limit_remaining: b.remaining,
      rate_limit_limit: b.limit,
      rate_limit_source: this.limitSource,
      rate_limit_venue: this.venueLimit,
      rate_limit_read_error: this.limitReadError,
      rate_limit_effective: b.effectiveLimit,
      used_weight: b.used,
      error_rate: errorRate,
      calls_total: this.callsTotal,
      errors_total: this.errorsTotal,
      calls_by_endpoint: Object.fromEntries(this.callsByEndpoint),
      banned_until: now < b.bannedUntil ? new Date(b.bannedUntil).toISOString() : null,
      rate_limited_until: now < b.blockedUntil ? new Date(b.blockedUntil).toISOString() : null,
    };
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Read the venue's REQUEST_WEIGHT limit from exchangeInfo now (callers need not: calls do it when due). */
  async refreshRateLimit(symbol?: string): Promise<void> {
    this.limitRead ??= this.readRateLimit(symbol).finally(() => {
      this.limitRead = undefined;
    });
    await this.limitRead;
  }

  private async readRateLimit(symbol: string | undefined): Promise<void> {
    try {
      const info = await this.get(EXCHANGE_INFO, { symbol }, exchangeInfoRateLimitsSchema, 0);
      const venue = requestWeightPerMinute(info);
      if (venue === undefined) {
        throw new BinanceResponseError(EXCHANGE_INFO, 'rateLimits has no REQUEST_WEIGHT limit per 1 MINUTE');
      }
      this.venueLimit = venue;
      this.budget.setLimit(Math.min(venue, this.limitCap ?? venue));
      this.limitSource = 'exchangeInfo';
      this.limitReadError = null;
      this.nextLimitReadMs = this.now() + LIMIT_REFRESH_MS;
    } catch (err) {
      // Keep budgeting with the limit in force (the cap, or the conservative fallback) and try again later.
      this.limitReadError = err instanceof Error ? err.message : String(err);
      this.nextLimitReadMs = this.now() + LIMIT_RETRY_MS;
    }
  }

  private async get<S extends z.ZodTypeAny>(
    endpoint: string,
    params: Record<string, string | undefined>,
    schema: S,
    maxRetries = this.maxRetries,
  ): Promise<z.infer<S>> {
    if (this.limitFromExchangeInfo && endpoint !== EXCHANGE_INFO && this.now() >= this.nextLimitReadMs) {
      await this.refreshRateLimit(params.symbol);
    }
    const weight = requestWeight(endpoint, params);
    if (weight > this.budget.limit) throw new WeightBudgetError(endpoint, weight, this.budget.limit);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, v);
    const qs = query.toString();
    const url = `${this.baseUrl}${endpoint}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#apiKey) headers['x-mbx-apikey'] = this.#apiKey;

    for (let attempt = 0; ; attempt++) {
      const ticket = await this.admit(endpoint, weight);
      const started = this.now();
      let status: number;
      let text: string;
      let resHeaders: Record<string, string | string[] | undefined>;
      try {
        const res = await request(url, {
          method: 'GET',
          headers,
          dispatcher: this.dispatcher,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        status = res.statusCode;
        resHeaders = res.headers;
        text = await res.body.text();
      } catch (err) {
        const done = this.now();
        this.budget.complete(ticket, done);
        this.record(endpoint, 0, done - started, weight, false);
        if (attempt >= maxRetries) {
          throw new BinanceNetworkError(endpoint, describeNetworkError(err), attempt + 1);
        }
        await sleep(fullJitterDelay(attempt, this.backoffBaseMs, this.backoffCapMs, this.random));
        continue;
      }
      const done = this.now();
      const usedHeader = headerValue(resHeaders, USED_WEIGHT_HEADER);
      const used = usedHeader === undefined ? undefined : Number(usedHeader);
      this.budget.complete(ticket, done, used !== undefined && Number.isFinite(used) ? used : undefined);

      if (status >= 200 && status < 300) {
        const parsed = parseBody(endpoint, text, schema);
        this.record(endpoint, status, done - started, weight, parsed.ok);
        if (!parsed.ok) throw parsed.error;
        return parsed.value;
      }
      this.record(endpoint, status, done - started, weight, false);

      if (status === 429 || status === 418) {
        const fallback = status === 418 ? 120_000 : this.budget.windowMs;
        const retryAfterMs = parseRetryAfterMs(headerValue(resHeaders, 'retry-after'), done, fallback);
        if (status === 418) this.budget.onBanned(retryAfterMs, done);
        else this.budget.onRateLimited(retryAfterMs, done);
        if (attempt >= maxRetries) {
          throw new RateLimitedError(endpoint, status === 418 ? 'banned' : 'rate_limited', retryAfterMs, done + retryAfterMs);
        }
        continue; // admit() waits out Retry-After (or throws when it is too long)
      }
      if (status >= 500) {
        if (attempt >= maxRetries) throw new BinanceServerError(endpoint, status, attempt + 1);
        await sleep(fullJitterDelay(attempt, this.backoffBaseMs, this.backoffCapMs, this.random));
        continue;
      }
      const err = parseErrorBody(text);
      throw new BinanceHttpError(endpoint, status, err?.code, err?.msg);
    }
  }

  /** Waits until the budget admits `weight`; throws instead of waiting out a long 429/418. */
  private async admit(endpoint: string, weight: number): Promise<WeightTicket> {
    for (;;) {
      const now = this.now();
      const a = this.budget.tryAcquire(weight, now);
      if (a.granted) return a.ticket;
      const waitMs = a.untilMs - now;
      if (a.reason !== 'window' && waitMs > this.maxRateLimitWaitMs) {
        throw new RateLimitedError(endpoint, a.reason === 'banned' ? 'banned' : 'rate_limited', waitMs, a.untilMs);
      }
      await sleep(Math.max(1, waitMs));
    }
  }

  private record(endpoint: string, status: number, latencyMs: number, weight: number, ok: boolean): void {
    this.lastLatencyMs = latencyMs;
    this.callsTotal += 1;
    if (!ok) this.errorsTotal += 1;
    this.callsByEndpoint.set(endpoint, (this.callsByEndpoint.get(endpoint) ?? 0) + 1);
    this.outcomes.push(ok);
    if (this.outcomes.length > ERROR_WINDOW) this.outcomes.shift();
    this.onCall?.({ endpoint, status, latencyMs, weight });
  }
}

const pingSchema = z.object({}).passthrough();
const timeSchema = z.object({ serverTime: z.number().int() });

type Parsed<T> = { ok: true; value: T } | { ok: false; error: BinanceResponseError };

function parseBody<S extends z.ZodTypeAny>(endpoint: string, text: string, schema: S): Parsed<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: new BinanceResponseError(endpoint, `not JSON (${text.length} bytes)`) };
  }
  const r = schema.safeParse(json);
  if (!r.success) return { ok: false, error: new BinanceResponseError(endpoint, zodIssues(r.error)) };
  return { ok: true, value: r.data as z.infer<S> };
}

function parseErrorBody(text: string): { code: number; msg: string } | undefined {
  try {
    const r = binanceErrorSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} ${code}` : `${err.name}: ${err.message}`;
  }
  return String(err);
}
