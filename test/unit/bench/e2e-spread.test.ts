import { describe, expect, it } from 'vitest';
import { describeSpread, phaseSeconds } from '../../../src/bench/e2e.js';

describe('bench e2e spread over repeated runs', () => {
  it('gives the median, the range and the runs under 50 ms, whatever the order of the runs', () => {
    expect(describeSpread('1 symbol', [59, 41.57, 44.32])).toBe('e2e 1 symbol over 3 runs: reader P95 median 44.32 ms, 41.57–59 ms, under 50 ms in 2 of 3\n');
    expect(describeSpread('10 symbols', [72, 110, 62, 50])).toBe('e2e 10 symbols over 4 runs: reader P95 median 67 ms, 50–110 ms, under 50 ms in 0 of 4\n');
  });
});

describe('bench e2e phases', () => {
  it('measures 20 s after a 10 s warm-up (quick: 5 after 2), overridable in whole seconds', () => {
    expect(phaseSeconds(false, {})).toEqual({ seconds: 20, warmupSeconds: 10 });
    expect(phaseSeconds(true, {})).toEqual({ seconds: 5, warmupSeconds: 2 });
    expect(phaseSeconds(false, { BTCPIPE_E2E_SECONDS: '30', BTCPIPE_E2E_WARMUP_SECONDS: '3' })).toEqual({ seconds: 30, warmupSeconds: 3 });
  });

  it('refuses a count that is not a whole number of seconds, naming the variable', () => {
    expect(() => phaseSeconds(false, { BTCPIPE_E2E_SECONDS: '2.5' })).toThrow(/BTCPIPE_E2E_SECONDS must be a whole number of seconds from 1 to 600, got "2.5"/);
    expect(() => phaseSeconds(false, { BTCPIPE_E2E_WARMUP_SECONDS: '0' })).toThrow(/BTCPIPE_E2E_WARMUP_SECONDS/);
    expect(() => phaseSeconds(false, { BTCPIPE_E2E_SECONDS: 'ten' })).toThrow(/got "ten"/);
  });
});
