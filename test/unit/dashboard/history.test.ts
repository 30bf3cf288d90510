import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { percentile, Series } from '../../../src/dashboard/history.js';

describe('dashboard history', () => {
  it('percentile is nearest-rank', () => {
    expect(percentile([], 0.5)).toBeUndefined();
    expect(percentile([5], 0.95)).toBe(5);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.95)).toBe(100);
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBe(90);
  });

  it('percentile is a value of the set with at least q of the values at or below it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (vs, q) => {
        const p = percentile(vs, q) as number;
        expect(vs).toContain(p);
        expect(vs.filter((v) => v <= p).length).toBeGreaterThanOrEqual(Math.ceil(q * vs.length));
        expect(vs.filter((v) => v < p).length).toBeLessThan(Math.ceil(q * vs.length));
      }),
    );
  });

  it('a series keeps its window and answers "what is new since seq"', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 100 }), fc.integer({ min: 0, max: 120 }), (steps, since) => {
        const s = new Series<{ t: number }>(1000);
        let t = 0;
        steps.forEach((d, i) => {
          t += d;
          s.push({ t }, i + 1);
          s.trim(t);
        });
        const all = s.all();
        expect(all.every((x) => x.t >= t - 1000)).toBe(true);
        expect(all.length).toBe(steps.length === 0 ? 0 : steps.filter((_, i) => steps.slice(0, i + 1).reduce((a, b) => a + b, 0) >= t - 1000).length);
        expect(s.since(since).map((x) => x.seq)).toEqual(all.filter((x) => since <= 0 || x.seq > since).map((x) => x.seq));
      }),
    );
  });
});
