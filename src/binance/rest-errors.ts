/**
 * Typed errors of the Binance REST client. Messages name the endpoint and never carry the API key
 * (it only ever travels in a request header, which no error includes).
 */

export class BinanceRestError extends Error {
  override readonly name: string = 'BinanceRestError';
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
  }
}

/** A non-2xx answer that is not a rate limit (e.g. 400 with `{"code":-1121,"msg":"Invalid symbol."}`). */
export class BinanceHttpError extends BinanceRestError {
  override readonly name = 'BinanceHttpError';
  constructor(
    endpoint: string,
    readonly status: number,
    readonly code: number | undefined,
    readonly venueMessage: string | undefined,
  ) {
    super(
      endpoint,
      `${endpoint}: HTTP ${status}${code !== undefined ? ` code ${code}` : ''}${venueMessage ? ` (${venueMessage})` : ''}`,
    );
  }
}

/** A 2xx answer whose body is not JSON or does not match the endpoint's schema. */
export class BinanceResponseError extends BinanceRestError {
  override readonly name = 'BinanceResponseError';
  constructor(endpoint: string, detail: string) {
    super(endpoint, `${endpoint}: unexpected response body: ${detail}`);
  }
}

/** The request never produced an HTTP answer (connection refused/reset, timeout) after all retries. */
export class BinanceNetworkError extends BinanceRestError {
  override readonly name = 'BinanceNetworkError';
  constructor(
    endpoint: string,
    detail: string,
    readonly attempts: number,
  ) {
    super(endpoint, `${endpoint}: network error after ${attempts} attempt(s): ${detail}`);
  }
}

/** Retries exhausted on 5xx answers (outcome unknown at the venue). */
export class BinanceServerError extends BinanceRestError {
  override readonly name = 'BinanceServerError';
  constructor(
    endpoint: string,
    readonly status: number,
    readonly attempts: number,
  ) {
    super(endpoint, `${endpoint}: HTTP ${status} after ${attempts} attempt(s)`);
  }
}

export type RateLimitReason = 'rate_limited' | 'banned';

/**
 * The client refuses to send: the venue asked us to stay quiet (429 / 418 Retry-After) for longer than
 * the caller is willing to wait (`maxRateLimitWaitMs`). No request was sent.
 */
export class RateLimitedError extends BinanceRestError {
  override readonly name = 'RateLimitedError';
  constructor(
    endpoint: string,
    readonly reason: RateLimitReason,
    readonly retryAfterMs: number,
    readonly untilMs: number,
  ) {
    super(
      endpoint,
      `${endpoint}: ${reason === 'banned' ? 'IP banned (418)' : 'rate limited (429)'}; no request sent, retry after ${retryAfterMs} ms (until ${new Date(untilMs).toISOString()})`,
    );
  }
}

/** A request that can never fit the budget (its weight exceeds the per-window limit). */
export class WeightBudgetError extends BinanceRestError {
  override readonly name = 'WeightBudgetError';
  constructor(endpoint: string, weight: number, limit: number) {
    super(endpoint, `${endpoint}: request weight ${weight} exceeds the weight limit ${limit} per window`);
  }
}
