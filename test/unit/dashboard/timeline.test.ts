import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEpisodes, criterionOf } from '../../../src/dashboard/timeline.js';

const live = (t: number) => ({ t, live: true });
const resync = (t: number) => ({ t, live: false });

describe('gap and re-anchor episodes', () => {
  it('a sequence gap: request, re-anchor, live again — one closed episode with its duration', () => {
    const eps = buildEpisodes({
      requests: [{ ms: 1000, reason: 'gap' }, { ms: 1500, reason: 'still_resyncing' }],
      dones: [{ ms: 2200, lastUpdateId: '42' }],
      status: [live(500), resync(1100), resync(2000), live(2400), live(3000)],
      now: 5000,
    });
    expect(eps).toEqual([
      { start: 1000, end: 2400, criteria: ['sequence'], requests: 2, noticedBy: 'aggregator', reanchors: [{ ms: 2200, lastUpdateId: '42' }], durationMs: 1400 },
    ]);
  });

  it('stays open while readers still see resyncing, and counts its duration up to now', () => {
    const eps = buildEpisodes({ requests: [{ ms: 1000, reason: 'buffer-gap' }], dones: [], status: [live(900), resync(1200), live(1300)], now: 4000 });
    // A live read after the request but before any re-anchor is the old book: still the same episode, open.
    expect(eps).toHaveLength(1);
    expect(eps[0]).toMatchObject({ start: 1000, end: null, criteria: ['sequence'], durationMs: 3000 });
  });

  it('a re-anchor nobody asked for is the REST checks: criteria from their counters that rose just before', () => {
    const eps = buildEpisodes({
      requests: [],
      dones: [{ ms: 10_000, lastUpdateId: '7' }],
      status: [live(9000), live(10_500)],
      rises: [{ t: -20_000, criterion: 'volume', n: 1 }, { t: 9500, criterion: 'time', n: 1 }],
      now: 11_000,
    });
    expect(eps).toEqual([{ start: 10_000, end: 10_500, criteria: ['time'], requests: 0, noticedBy: 'rest', reanchors: [{ ms: 10_000, lastUpdateId: '7' }], durationMs: 500 }]);
  });

  it('start-up: no-book requests and their retries are one episode; a resync seen only in ob: status is its own', () => {
    const eps = buildEpisodes({
      requests: [{ ms: 100, reason: 'no-book' }, { ms: 300, reason: 'still_resyncing' }, { ms: 600, reason: 'no-book' }],
      dones: [{ ms: 400, lastUpdateId: '1' }, { ms: 800, lastUpdateId: '2' }],
      status: [resync(350), live(900), resync(2000), live(2600)],
      now: 3000,
    });
    expect(eps.map((e) => [e.start, e.end, e.criteria, e.requests, e.reanchors.length])).toEqual([
      [100, 900, ['no book'], 3, 2],
      [2000, 2600, ['REST check'], 0, 0],
    ]);
  });

  it('names request reasons by gap criterion', () => {
    expect(['gap', 'buffer-gap', 'no-book', 'crossed', 'still_resyncing'].map(criterionOf)).toEqual(['sequence', 'sequence', 'no book', 'crossed', null]);
  });

  it('episodes are ordered, never overlap, and have non-negative durations; only the last can be open', () => {
    const ev = fc.record({ t: fc.integer({ min: 0, max: 100_000 }), kind: fc.constantFrom('req', 'still', 'done', 'live', 'resync') });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 60 }), (events) => {
        const eps = buildEpisodes({
          requests: events.filter((e) => e.kind === 'req' || e.kind === 'still').map((e) => ({ ms: e.t, reason: e.kind === 'req' ? 'gap' : 'still_resyncing' })),
          dones: events.filter((e) => e.kind === 'done').map((e) => ({ ms: e.t, lastUpdateId: String(e.t) })),
          status: events.filter((e) => e.kind === 'live' || e.kind === 'resync').map((e) => ({ t: e.t, live: e.kind === 'live' })),
          now: 200_000,
        });
        eps.forEach((e, i) => {
          expect(e.durationMs).toBeGreaterThanOrEqual(0);
          expect(e.criteria.length).toBeGreaterThan(0);
          if (e.end !== null) expect(e.end).toBeGreaterThanOrEqual(e.start);
          if (i < eps.length - 1) {
            expect(e.end).not.toBeNull();
            expect(eps[i + 1].start).toBeGreaterThanOrEqual(e.end as number);
          }
        });
        const dones = events.filter((e) => e.kind === 'done').length;
        expect(eps.reduce((n, e) => n + e.reanchors.length, 0)).toBe(dones);
      }),
    );
  });
});
