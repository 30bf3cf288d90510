import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TradeDedup } from '../../../src/core/trade-dedup.js';

/** The rule, kept naively: every id ever accepted; below the window of the highest id is stale. */
function reference(window: number): (id: number) => 'new' | 'duplicate' | 'stale' {
  const accepted = new Set<number>();
  let max = -Infinity;
  return (id) => {
    if (id <= max - window) return 'stale';
    if (accepted.has(id)) return 'duplicate';
    accepted.add(id);
    max = Math.max(max, id);
    return 'new';
  };
}

describe('TradeDedup', () => {
  it('remembers every id within the window of the highest, whatever order they came in', () => {
    const d = new TradeDedup(3);
    expect([5, 3, 4, 6, 7].map((id) => d.check(id))).toEqual(['new', 'new', 'new', 'new', 'new']);
    // 5 is within 3 of 7: a second copy is a duplicate, even after more than 3 distinct ids came since.
    expect(d.check(5)).toBe('duplicate');
    expect(d.check(4)).toBe('stale');
    expect(d.maxSeen).toBe(7);
  });

  it('answers as the rule does for any sequence: gaps, jumps past the window, repeats, negative ids', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
        fc.array(fc.oneof(fc.integer({ min: -4, max: 20 }), fc.integer({ min: -50, max: 60 }), fc.constant(1000)), { maxLength: 200 }),
        (window, base, steps) => {
          const d = new TradeDedup(window);
          const ref = reference(window);
          let id = base;
          for (const s of steps) {
            id += s;
            expect(d.check(id)).toBe(ref(id));
          }
        },
      ),
    );
  });

  it('refuses a window that is not a positive whole number', () => {
    expect(() => new TradeDedup(0)).toThrow(RangeError);
    expect(() => new TradeDedup(2.5)).toThrow(RangeError);
  });
});
