import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WeightLimiter } from '../../../src/sim/rate-limit.js';
import { corruptFrame, parseFaultSpec, FaultInjector } from '../../../src/sim/faults.js';

describe('WeightLimiter', () => {
  it('never admits more weight per IP and minute than the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 3000 }), fc.constantFrom('a', 'b'))), (reqs) => {
        const lim = new WeightLimiter({ limitPerMinute: 200, banSeconds: 1 });
        let now = 1_800_000_000_000;
        const admitted = new Map<string, number>();
        for (const [w, dt, ip] of reqs) {
          now += dt;
          const v = lim.charge(ip, w, now);
          const key = `${ip}:${Math.floor(now / 60_000)}`;
          if (v.status === 200) admitted.set(key, (admitted.get(key) ?? 0) + w);
          expect(v.usedWeight).toBeLessThanOrEqual(200);
        }
        for (const total of admitted.values()) expect(total).toBeLessThanOrEqual(200);
      }),
    );
  });

  it('429 until the window ends, 418 for a request inside it, allowed again after the ban and window', () => {
    const lim = new WeightLimiter({ limitPerMinute: 10, banSeconds: 5 });
    const t = 1_800_000_000_000; // a minute boundary
    expect(lim.charge('x', 10, t)).toEqual({ status: 200, usedWeight: 10 });
    expect(lim.charge('x', 1, t + 1000)).toMatchObject({ status: 429, retryAfterSec: 59 });
    expect(lim.charge('x', 1, t + 2000)).toMatchObject({ status: 418, retryAfterSec: 5 });
    expect(lim.charge('x', 1, t + 6000)).toMatchObject({ status: 418, retryAfterSec: 1 });
    expect(lim.charge('y', 1, t + 6000)).toMatchObject({ status: 200 });
    expect(lim.charge('x', 1, t + 60_000)).toEqual({ status: 200, usedWeight: 1 });
  });
});

describe('fault spec and injector', () => {
  it('accepts the documented shapes and names the bad field otherwise', () => {
    expect(parseFaultSpec({ drop: { streams: ['depth', 'trade'], probability: 0.01 } })).toBeTruthy();
    expect(parseFaultSpec({ delayMs: { ms: 50, streams: ['trade'] } }).delayMs?.probability).toBe(1);
    expect(() => parseFaultSpec({ disconnect: { everySeconds: 0 } })).toThrow(/disconnect\.everySeconds/);
    expect(() => parseFaultSpec({ malformed: { probability: 'high' } })).toThrow(/malformed\.probability/);
    expect(() => parseFaultSpec([])).toThrow(/invalid fault spec/);
  });

  it('draws fates from its own seeded RNG: same seed, same fates', () => {
    const fates = (seed: number) => {
      const f = new FaultInjector(seed);
      f.set({ drop: { probability: 0.3 }, duplicate: { probability: 0.3, streams: ['trade'] } }, 0);
      return Array.from({ length: 200 }, (_, i) => f.fate(i % 2 ? 'trade' : 'depth').kind);
    };
    expect(fates(1)).toEqual(fates(1));
    expect(fates(1)).not.toEqual(fates(2));
    expect(fates(1).filter((k, i) => i % 2 === 0 && k === 'duplicate')).toEqual([]);
  });

  it('corrupts frames by truncation or an unknown template id', () => {
    const frame = Uint8Array.from([10, 0, 16, 39, 1, 0, 0, 0, 1, 2, 3, 4]);
    expect(corruptFrame(frame, 'truncated').length).toBe(6);
    const bad = corruptFrame(frame, 'unknown_template');
    expect(new DataView(bad.buffer).getUint16(2, true)).toBe(9999);
    expect(frame[2]).toBe(16);
  });
});
