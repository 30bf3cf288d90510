import { describe, expect, it } from 'vitest';
import { describeSpread } from '../../../src/bench/e2e.js';

describe('bench e2e spread over repeated runs', () => {
  it('gives the median, the range and the runs under 50 ms, whatever the order of the runs', () => {
    expect(describeSpread('1 symbol', [59, 41.57, 44.32])).toBe('e2e 1 symbol over 3 runs: reader P95 median 44.32 ms, 41.57–59 ms, under 50 ms in 2 of 3\n');
    expect(describeSpread('10 symbols', [72, 110, 62, 50])).toBe('e2e 10 symbols over 4 runs: reader P95 median 67 ms, 50–110 ms, under 50 ms in 0 of 4\n');
  });
});
