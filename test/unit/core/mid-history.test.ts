import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MidHistory } from '../../../src/core/mid-history.js';

describe('MidHistory', () => {
  it('as-of lookups equal a scan over everything recorded, for any time within the horizon', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 200 }), fc.nat(), (steps, q) => {
        const h = new MidHistory(10_000_000);
        const all: Array<[number, number]> = [];
        let t = 1_000_000_000;
        for (const [dt, mid] of steps) {
          t += dt;
          h.record(t, mid);
          all.push([t, mid]);
        }
        const ask = t - (q % 10_000_001);
        let want: number | undefined;
        for (const [ts, mid] of all) if (ts <= ask) want = mid;
        expect(h.at(ask)).toBe(want);
      }),
    );
  });

  it('returns undefined before the first point and keeps only what the horizon needs', () => {
    const h = new MidHistory(10_000_000);
    h.record(100, 1);
    expect(h.at(99)).toBeUndefined();
    expect(h.at(100)).toBe(1);
    for (let i = 1; i <= 1000; i++) h.record(100 + i * 1_000_000, i % 2 ? 2 : 3);
    expect(h.size).toBeLessThanOrEqual(12);
    expect(h.at(100 + 990 * 1_000_000)).toBe(3);
  });
});
