/**
 * Request weights of the spot REST market-data endpoints, as Binance documents them
 * (see shared/binance/PROTOCOL.md §5). The simulator charges them; the client budgets with them.
 */

/** Binance's REQUEST_WEIGHT per minute (what the simulator publishes in exchangeInfo by default). */
export const DEFAULT_WEIGHT_LIMIT_PER_MINUTE = 6000;
/**
 * What a client budgets with until it has read the venue's limit from exchangeInfo.rateLimits (and if it
 * cannot): the venue's historical limit, low enough never to provoke a 429 on its own.
 */
export const FALLBACK_WEIGHT_LIMIT_PER_MINUTE = 1200;

/** Weight of `/api/v3/depth` by its `limit` parameter (default 100). */
export function depthWeight(limit: number): number {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

/** Weight of one request to `path` (e.g. "/api/v3/depth") with its query parameters. */
export function requestWeight(path: string, params: URLSearchParams | Record<string, string | undefined> = {}): number {
  const get = (k: string): string | undefined =>
    params instanceof URLSearchParams ? (params.get(k) ?? undefined) : params[k];
  switch (path) {
    case '/api/v3/depth': {
      const limit = Number(get('limit') ?? 100);
      return depthWeight(Number.isFinite(limit) ? limit : 100);
    }
    case '/api/v3/trades':
      return 25;
    case '/api/v3/aggTrades':
      return 4;
    case '/api/v3/klines':
      return 2;
    case '/api/v3/exchangeInfo':
      return 20;
    case '/api/v3/ping':
    case '/api/v3/time':
      return 1;
    default:
      return 1;
  }
}
