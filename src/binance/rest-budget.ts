/**
 * Request-weight budget for one IP (pure: the caller passes the clock). Binance counts weight per
 * fixed clock window (1 minute) and reports its own count in `X-MBX-USED-WEIGHT-1M`; that count is
 * trusted over ours because other processes on the same IP spend the same budget.
 *
 * Rules:
 * - a request is admitted only if used + in-flight + weight ≤ effective limit, otherwise it waits for
 *   the window to roll (it is never sent early);
 * - after a 429 nothing is admitted before Retry-After, and the effective limit is lowered for a while
 *   (slow down instead of running straight back into the limit and escalating to a 418 ban);
 * - after a 418 nothing is admitted before Retry-After.
 */

export interface WeightBudgetOptions {
  /** Weight allowed per window (Binance REQUEST_WEIGHT, read from exchangeInfo; see setLimit). */
  limit: number;
  /** Window length; 60 000 for Binance (tests and the simulator may use shorter windows). */
  windowMs?: number;
  /**
   * Our windows start this much after the clock boundary, so a skewed local clock cannot make us send
   * into the server's old, already-full window.
   */
  rollMarginMs?: number;
  /** Fraction of the limit used after a 429 (default 0.5). */
  slowdownFactor?: number;
  /** How long after the Retry-After deadline the lowered limit stays in force (default one window). */
  slowdownMs?: number;
}

export type BlockReason = 'window' | 'rate_limited' | 'banned';

export type Admission =
  | { granted: true; ticket: WeightTicket }
  | { granted: false; untilMs: number; reason: BlockReason };

/** Proof of an admitted request; hand it back to `complete` when the answer (or failure) arrives. */
export interface WeightTicket {
  readonly weight: number;
  readonly windowStart: number;
  /** Sent so close to the window's end that the venue may charge it to the next one (counted there too). */
  readonly carried: boolean;
}

export interface WeightBudgetSnapshot {
  limit: number;
  effectiveLimit: number;
  used: number;
  inFlight: number;
  remaining: number;
  windowStart: number;
  blockedUntil: number;
  bannedUntil: number;
}

export class WeightBudget {
  private currentLimit: number;
  readonly windowMs: number;
  private readonly margin: number;
  private readonly slowdownFactor: number;
  private readonly slowdownMs: number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;
  /** Weight sent near the end of this window that the venue may count in the next one. */
  private carry = 0;
  private inFlight = 0;
  private blockedUntil = 0;
  private bannedUntil = 0;
  private slowUntil = 0;

  constructor(opts: WeightBudgetOptions) {
    this.currentLimit = checkLimit(opts.limit);
    this.windowMs = opts.windowMs ?? 60_000;
    this.margin = opts.rollMarginMs ?? Math.min(500, Math.floor(this.windowMs / 20));
    this.slowdownFactor = opts.slowdownFactor ?? 0.5;
    this.slowdownMs = opts.slowdownMs ?? this.windowMs;
  }

  get limit(): number {
    return this.currentLimit;
  }

  /** Adopt a new limit (e.g. the venue's, read from exchangeInfo); weight already used stays counted. */
  setLimit(limit: number): void {
    this.currentLimit = checkLimit(limit);
  }

  /** The limit in force at `now` (lowered for a while after a 429). */
  effectiveLimit(now: number): number {
    return now < this.slowUntil ? Math.max(1, Math.floor(this.limit * this.slowdownFactor)) : this.limit;
  }

  tryAcquire(weight: number, now: number): Admission {
    this.roll(now);
    if (now < this.blockedUntil) {
      return { granted: false, untilMs: this.blockedUntil, reason: now < this.bannedUntil ? 'banned' : 'rate_limited' };
    }
    const eff = this.effectiveLimit(now);
    const committed = this.used + this.inFlight;
    // A request heavier than the lowered limit still fits an empty window of the full limit.
    const fits = committed + weight <= eff || (committed === 0 && weight <= this.limit);
    if (!fits) {
      return { granted: false, untilMs: this.windowStart + this.windowMs, reason: 'window' };
    }
    this.inFlight += weight;
    // Our window starts `margin` after the venue's nominal boundary (clock skew). A request sent within
    // `margin` either side of that boundary may be charged by the venue to the next window: count it there too.
    const carried = now >= this.windowStart + this.windowMs - 2 * this.margin;
    if (carried) this.carry += weight;
    return { granted: true, ticket: { weight, windowStart: this.windowStart, carried } };
  }

  /**
   * The request behind `ticket` finished. `usedHeader` is the venue's X-MBX-USED-WEIGHT-1M, when the
   * request got an answer. Without one (network error) the weight is counted locally, since the venue
   * may have charged it.
   */
  complete(ticket: WeightTicket, now: number, usedHeader?: number): void {
    this.inFlight = Math.max(0, this.inFlight - ticket.weight);
    this.roll(now);
    if (ticket.windowStart !== this.windowStart) {
      // Admitted in the previous window but answered in this one: the venue may have charged it to this
      // window (it arrived after the roll), and its header may speak of either window. Counting its own
      // weight here is exact when it was charged here and costs at most that weight when it was not.
      if (!ticket.carried) this.used += ticket.weight;
      return;
    }
    if (usedHeader !== undefined && Number.isFinite(usedHeader) && usedHeader >= 0) {
      // Within one window the venue's count only grows; max() keeps out-of-order answers harmless.
      this.used = Math.max(this.used, usedHeader);
    } else {
      this.used += ticket.weight;
    }
  }

  /** A 429: nothing before Retry-After, then a lowered limit for a while. */
  onRateLimited(retryAfterMs: number, now: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, now + Math.max(0, retryAfterMs));
    this.slowUntil = Math.max(this.slowUntil, this.blockedUntil + this.slowdownMs);
  }

  /** A 418 ban: nothing at all before Retry-After. */
  onBanned(retryAfterMs: number, now: number): void {
    const until = now + Math.max(0, retryAfterMs);
    this.bannedUntil = Math.max(this.bannedUntil, until);
    this.blockedUntil = Math.max(this.blockedUntil, until);
    this.slowUntil = Math.max(this.slowUntil, this.blockedUntil + this.slowdownMs);
  }

  snapshot(now: number): WeightBudgetSnapshot {
    this.roll(now);
    const eff = this.effectiveLimit(now);
    return {
      limit: this.limit,
      effectiveLimit: eff,
      used: this.used,
      inFlight: this.inFlight,
      remaining: Math.max(0, this.limit - this.used),
      windowStart: this.windowStart,
      blockedUntil: this.blockedUntil,
      bannedUntil: this.bannedUntil,
    };
  }

  private roll(now: number): void {
    const start = Math.floor((now - this.margin) / this.windowMs) * this.windowMs + this.margin;
    if (start > this.windowStart) {
      // Carried weight belongs to the window right after; a jump over several windows leaves nothing.
      this.used = start === this.windowStart + this.windowMs ? this.carry : 0;
      this.carry = 0;
      this.windowStart = start;
    }
  }
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`weight limit must be a positive integer, got ${limit}`);
  return limit;
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)). */
export function fullJitterDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** Retry-After (seconds, or an HTTP date) in ms; `fallbackMs` when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, now: number, fallbackMs: number): number {
  if (value === undefined || value.trim() === '') return fallbackMs;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - now);
}
