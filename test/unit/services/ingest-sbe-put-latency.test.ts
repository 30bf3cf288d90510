import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PutLatencyWindow } from '../../../src/services/ingest-sbe-put-latency.js';

describe('PutLatencyWindow', () => {
  it('reports only events acknowledged within the window, with exact percentiles', () => {
    const w2 = new PutLatencyWindow(1000, 1000);
    for (let i = 1; i <= 100; i++) w2.add(5000 + i, i, 2 * i); // acknowledged at 5001..5100
    expect(w2.report(5100)).toEqual({ window_seconds: 1, events: 100, queue_ms: { p50: 50, p95: 95, p99: 99, max: 100 }, call_ms: { p50: 100, p95: 190, p99: 198, max: 200 } });
    expect(w2.report(6050).events).toBe(51); // 5050..5100
    expect(w2.report(7000).events).toBe(0);
  });

  it('keeps the newest `capacity` events when the ring wraps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 200 }), (cap, n) => {
        const w = new PutLatencyWindow(1e9, cap);
        for (let i = 0; i < n; i++) w.add(i, i, 0);
        const r = w.report(n);
        expect(r.events).toBe(Math.min(cap, n));
        if (n > 0) expect(r.queue_ms.max).toBe(n - 1);
      }),
    );
  });
});
