import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WeightBudget, fullJitterDelay, parseRetryAfterMs, type WeightTicket } from '../../../src/binance/rest-budget.js';

type Op =
  | { kind: 'acquire'; dt: number; weight: number }
  | { kind: 'complete'; dt: number; header: number | undefined }
  | { kind: 'r429'; dt: number; retryAfterMs: number }
  | { kind: 'r418'; dt: number; retryAfterMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('acquire' as const), dt: fc.integer({ min: 0, max: 400 }), weight: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('complete' as const), dt: fc.integer({ min: 0, max: 400 }), header: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('r429' as const), dt: fc.integer({ min: 0, max: 100 }), retryAfterMs: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('r418' as const), dt: fc.integer({ min: 0, max: 100 }), retryAfterMs: fc.integer({ min: 0, max: 3000 }) }) },
);

describe('WeightBudget', () => {
  it('never grants more than the limit per window, and nothing during a Retry-After', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), fc.integer({ min: 30, max: 100 }), (ops, limit) => {
        const windowMs = 1000;
        const b = new WeightBudget({ limit, windowMs, rollMarginMs: 0 });
        let now = 1_700_000_000_000;
        const open: WeightTicket[] = [];
        const granted = new Map<number, number>();
        let quietUntil = 0;
        for (const op of ops) {
          now += op.dt;
          if (op.kind === 'acquire') {
            const a = b.tryAcquire(op.weight, now);
            if (a.granted) {
              expect(now).toBeGreaterThanOrEqual(quietUntil);
              const w = a.ticket.windowStart;
              expect(now).toBeGreaterThanOrEqual(w);
              expect(now).toBeLessThan(w + windowMs);
              granted.set(w, (granted.get(w) ?? 0) + op.weight);
              expect(granted.get(w)).toBeLessThanOrEqual(limit);
              open.push(a.ticket);
            } else {
              expect(a.untilMs).toBeGreaterThan(now);
            }
          } else if (op.kind === 'complete') {
            const t = open.shift();
            // Headers lower than our own grants are the "other window" case; only feed consistent ones.
            if (t) b.complete(t, now, op.header === undefined ? undefined : Math.max(op.header, granted.get(t.windowStart) ?? 0));
          } else if (op.kind === 'r429') {
            b.onRateLimited(op.retryAfterMs, now);
            quietUntil = Math.max(quietUntil, now + op.retryAfterMs);
          } else {
            b.onBanned(op.retryAfterMs, now);
            quietUntil = Math.max(quietUntil, now + op.retryAfterMs);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('trusts a higher used-weight header from the venue', () => {
    const b = new WeightBudget({ limit: 10, windowMs: 60_000, rollMarginMs: 0 });
    const a = b.tryAcquire(1, 0);
    if (!a.granted) throw new Error('expected a grant');
    b.complete(a.ticket, 5, 10);
    const next = b.tryAcquire(1, 10);
    expect(next).toEqual({ granted: false, untilMs: 60_000, reason: 'window' });
    expect(b.tryAcquire(1, 60_000).granted).toBe(true);
  });

  it('lowers the effective limit for a while after a 429 and reports bans', () => {
    const b = new WeightBudget({ limit: 100, windowMs: 1000, rollMarginMs: 0, slowdownFactor: 0.5, slowdownMs: 1000 });
    b.onRateLimited(2000, 0);
    expect(b.tryAcquire(1, 1999)).toMatchObject({ granted: false, reason: 'rate_limited', untilMs: 2000 });
    expect(b.effectiveLimit(2000)).toBe(50);
    expect(b.effectiveLimit(3000)).toBe(100);
    b.onBanned(5000, 4000);
    expect(b.tryAcquire(1, 8999)).toMatchObject({ granted: false, reason: 'banned', untilMs: 9000 });
    expect(b.snapshot(8999).bannedUntil).toBe(9000);
    expect(b.tryAcquire(1, 9000).granted).toBe(true);
  });

  it('rejects a non-positive limit', () => {
    expect(() => new WeightBudget({ limit: 0 })).toThrow(RangeError);
  });
});

describe('backoff and Retry-After', () => {
  it('full jitter stays within [0, min(cap, base·2^n))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (n, r) => {
        const d = fullJitterDelay(n, 100, 5000, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(5000, 100 * 2 ** n));
      }),
    );
  });

  it('reads seconds, HTTP dates and falls back on garbage', () => {
    expect(parseRetryAfterMs('2', 0, 9)).toBe(2000);
    expect(parseRetryAfterMs(undefined, 0, 9)).toBe(9);
    expect(parseRetryAfterMs('soon', 0, 9)).toBe(9);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now, 9)).toBe(30_000);
  });
});
