import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventTimeMerge } from '../../../src/core/event-time-merge.js';

interface Ev {
  tsUs: number;
  stream: string;
  n: number;
}

const STREAMS = ['trade', 'depth', 'bestbidask'];

describe('EventTimeMerge', () => {
  it('holds depth events until the lagging trade stream has delivered up to them', () => {
    const m = new EventTimeMerge<Ev>(STREAMS, { idleGraceMs: 250, maxHoldMs: 2000 });
    const wall = 10_000;
    m.push('depth', [{ tsUs: 9_000_000, stream: 'depth', n: 1 }, { tsUs: 9_100_000, stream: 'depth', n: 2 }], wall);
    m.push('bestbidask', [{ tsUs: 9_100_000, stream: 'bestbidask', n: 3 }], wall);
    m.push('trade', [{ tsUs: 9_000_000, stream: 'trade', n: 4 }], wall);
    // The trade stream is still behind (not caught up): nothing past its newest event (9.0 s) is released.
    expect(m.drain(wall).map((e) => e.n)).toEqual([4, 1]); // equal times: in the order the streams were named
    m.push('trade', [{ tsUs: 9_050_000, stream: 'trade', n: 5 }, { tsUs: 9_100_000, stream: 'trade', n: 6 }], wall + 5);
    expect(m.drain(wall + 5).map((e) => e.n)).toEqual([5, 6, 2, 3]);
    expect(m.heldCount).toBe(0);
  });

  it('an idle (caught-up) stream does not freeze the others beyond the grace', () => {
    const m = new EventTimeMerge<Ev>(STREAMS, { idleGraceMs: 250, maxHoldMs: 60_000 });
    for (const s of STREAMS) m.setCaughtUp(s, true);
    m.setCaughtUp('depth', false);
    m.push('depth', [{ tsUs: 5_000_000, stream: 'depth', n: 1 }], 5_000);
    // wall 5.1 s: the idle streams vouch only for events older than 4.85 s.
    expect(m.drain(5_100)).toEqual([]);
    expect(m.drain(5_251).map((e) => e.n)).toEqual([1]);
  });

  it('never holds an event longer than maxHoldMs, and counts such releases', () => {
    const m = new EventTimeMerge<Ev>(STREAMS, { idleGraceMs: 250, maxHoldMs: 1000 });
    m.push('depth', [{ tsUs: 5_000_000, stream: 'depth', n: 1 }], 5_000);
    expect(m.drain(5_999)).toEqual([]);
    expect(m.drain(6_000).map((e) => e.n)).toEqual([1]);
    expect(m.stats().forcedReleases).toBe(1);
  });

  it('drainAll releases everything still held, in event-time order (shutdown)', () => {
    const m = new EventTimeMerge<Ev>(STREAMS, { idleGraceMs: 250, maxHoldMs: 60_000 });
    m.push('depth', [{ tsUs: 3, stream: 'depth', n: 1 }, { tsUs: 5, stream: 'depth', n: 2 }], 0);
    m.push('bestbidask', [{ tsUs: 4, stream: 'bestbidask', n: 3 }], 0);
    expect(m.drain(0)).toEqual([]);
    expect(m.drainAll().map((e) => e.n)).toEqual([1, 3, 2]);
    expect(m.heldCount).toBe(0);
  });

  it('rejects unknown streams and bad options', () => {
    expect(() => new EventTimeMerge<Ev>([])).toThrow(/at least one stream/);
    expect(() => new EventTimeMerge<Ev>(['a'], { maxHoldMs: -1 })).toThrow(/≥ 0/);
    const m = new EventTimeMerge<Ev>(['a']);
    expect(() => m.push('b', [], 0)).toThrow(/unknown stream b/);
  });

  // Three streams carry one market whose events have non-decreasing times per stream; they are read in
  // arbitrary interleaved chunks. Whatever the interleaving: nothing is lost or duplicated, each stream's
  // order is kept, and (no forced releases) the merged output is in event-time order.
  it('property: lossless, per-stream order kept, globally time-ordered', () => {
    const streamArb = fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 40 });
    fc.assert(
      fc.property(
        fc.tuple(streamArb, streamArb, streamArb),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 6 })), { maxLength: 80 }),
        ([d0, d1, d2], schedule) => {
          const deltas = [d0, d1, d2];
          const all: Ev[][] = deltas.map((ds, si) => {
            let t = 1_000_000;
            return ds.map((d, n) => ({ tsUs: (t += d * 1000), stream: STREAMS[si], n }));
          });
          const m = new EventTimeMerge<Ev>(STREAMS, { idleGraceMs: 0, maxHoldMs: 1e12 });
          const pos = [0, 0, 0];
          const out: Ev[] = [];
          const wall = 0; // wall far behind event time: only the watermark releases
          for (const [si, k] of schedule) {
            const chunk = all[si].slice(pos[si], pos[si] + k);
            pos[si] += chunk.length;
            m.push(STREAMS[si], chunk, wall);
            out.push(...m.drain(wall));
          }
          // Every stream delivers the rest and reaches its tip.
          for (let si = 0; si < 3; si++) {
            m.push(STREAMS[si], all[si].slice(pos[si]), wall);
            m.setCaughtUp(STREAMS[si], true);
          }
          out.push(...m.drain(Number.MAX_SAFE_INTEGER / 1000));
          expect(out).toHaveLength(all.flat().length);
          for (let si = 0; si < 3; si++) expect(out.filter((e) => e.stream === STREAMS[si])).toEqual(all[si]);
          for (let i = 1; i < out.length; i++) expect(out[i].tsUs).toBeGreaterThanOrEqual(out[i - 1].tsUs);
          expect(m.stats().forcedReleases).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
