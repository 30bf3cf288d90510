/**
 * Binance's REQUEST_WEIGHT limit per client IP over a fixed 1-minute window: over the limit → 429 with
 * Retry-After until the window ends; any request during that 429 window → 418 (an IP ban) for banSeconds.
 * Pure: the caller passes the clock.
 */

export interface WeightLimitOptions {
  limitPerMinute: number;
  banSeconds: number;
}

export type WeightVerdict =
  | { status: 200; usedWeight: number }
  | { status: 429 | 418; usedWeight: number; retryAfterSec: number; untilMs: number };

interface ClientState {
  windowStartMs: number;
  used: number;
  /** End of the window in which this client got a 429. */
  blockedUntilMs: number;
  bannedUntilMs: number;
}

export class WeightLimiter {
  private readonly clients = new Map<string, ClientState>();

  constructor(private readonly opts: WeightLimitOptions) {}

  charge(client: string, weight: number, nowMs: number): WeightVerdict {
    const windowStartMs = Math.floor(nowMs / 60_000) * 60_000;
    let c = this.clients.get(client);
    if (!c) {
      c = { windowStartMs, used: 0, blockedUntilMs: 0, bannedUntilMs: 0 };
      this.clients.set(client, c);
    }
    if (c.windowStartMs !== windowStartMs) {
      c.windowStartMs = windowStartMs;
      c.used = 0;
    }
    if (nowMs < c.bannedUntilMs) return this.refuse(418, c, c.bannedUntilMs, nowMs);
    if (nowMs < c.blockedUntilMs) {
      c.bannedUntilMs = nowMs + this.opts.banSeconds * 1000;
      c.blockedUntilMs = 0;
      return this.refuse(418, c, c.bannedUntilMs, nowMs);
    }
    if (c.used + weight > this.opts.limitPerMinute) {
      c.blockedUntilMs = windowStartMs + 60_000;
      return this.refuse(429, c, c.blockedUntilMs, nowMs);
    }
    c.used += weight;
    return { status: 200, usedWeight: c.used };
  }

  private refuse(status: 429 | 418, c: ClientState, untilMs: number, nowMs: number): WeightVerdict {
    return { status, usedWeight: c.used, retryAfterSec: Math.max(1, Math.ceil((untilMs - nowMs) / 1000)), untilMs };
  }
}
