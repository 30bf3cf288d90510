import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BookSync } from '../../../src/core/book-sync.js';
import type { DepthEvent } from '../../../src/core/events.js';
import { generateMarket } from './market-gen.js';
import { RefBook } from './reference.js';

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

function synced(snapshot: ReturnType<typeof generateMarket>['snapshot']): BookSync {
  const s = new BookSync();
  expect(s.drainRequests()).toEqual(['no-book']);
  s.loadSnapshot(snapshot);
  return s;
}

describe('BookSync', () => {
  it('starts without a book: requests a re-anchor and buffers diffs', () => {
    const m = generateMarket(7, { events: 50 });
    const s = new BookSync();
    expect(s.status).toBe('resyncing');
    expect(s.lastUpdateId).toBeNull();
    for (const d of m.diffs) expect(s.applyDiff(d).kind).toBe('buffered');
    expect(s.bufferedCount).toBe(m.diffs.length);
    expect(s.drainRequests()).toEqual(['no-book']);
    expect(s.drainRequests()).toEqual([]);
    const out = s.loadSnapshot(m.snapshot);
    expect(out).toMatchObject({ status: 'live', replayed: m.diffs.length, discarded: 0 });
    expect(s.book.levels()).toEqual(m.truth[m.truth.length - 1].levels());
    expect(s.lastUpdateId).toBe(m.diffs[m.diffs.length - 1].final_update_id);
  });

  it('keeps the book equal to the reference under at-least-once delivery (duplicates never change state)', () => {
    fc.assert(
      fc.property(seedArb, fc.array(fc.nat(), { maxLength: 60 }), (seed, dupPicks) => {
        const m = generateMarket(seed, { events: 150 });
        const s = synced(m.snapshot);
        const seen: DepthEvent[] = [];
        let picks = 0;
        for (const d of m.diffs) {
          expect(s.applyDiff(d).kind).toBe('applied');
          seen.push(d);
          if (picks < dupPicks.length) {
            const dup = seen[dupPicks[picks++] % seen.length];
            const before = s.book.levels();
            expect(s.applyDiff(dup)).toEqual({ kind: 'skipped', reason: 'stale' });
            expect(s.book.levels()).toEqual(before);
          }
        }
        expect(s.status).toBe('live');
        expect(s.book.levels()).toEqual(m.truth[m.truth.length - 1].levels());
      }),
      { numRuns: 40 },
    );
  });

  it('always catches a gap, freezes the book and requests a re-anchor', () => {
    fc.assert(
      fc.property(seedArb, fc.nat(), (seed, pick) => {
        const m = generateMarket(seed, { events: 120 });
        if (m.diffs.length < 3) return;
        const drop = 1 + (pick % (m.diffs.length - 2)); // never the last: something must follow it
        const s = synced(m.snapshot);
        for (let i = 0; i < drop; i++) expect(s.applyDiff(m.diffs[i]).kind).toBe('applied');
        const frozen = s.book.levels();
        const out = s.applyDiff(m.diffs[drop + 1]);
        expect(out.kind).toBe('gap');
        if (out.kind === 'gap') {
          expect(out.gap.lastUpdateId).toBe(m.diffs[drop - 1].final_update_id);
          expect(out.gap.firstUpdateId).toBe(m.diffs[drop + 1].first_update_id);
        }
        expect(s.status).toBe('resyncing');
        expect(s.drainRequests()).toEqual(['gap']);
        for (let i = drop + 2; i < m.diffs.length; i++) expect(s.applyDiff(m.diffs[i]).kind).toBe('buffered');
        expect(s.book.levels()).toEqual(frozen);
      }),
      { numRuns: 50 },
    );
  });

  it('a first diff that does not straddle the snapshot id is a gap', () => {
    const m = generateMarket(11, { events: 60 });
    const s = synced(m.snapshot);
    const out = s.applyDiff({ ...m.diffs[1], first_update_id: m.snapshot.lastUpdateId + 2 });
    expect(out.kind).toBe('gap');
  });

  it('re-anchors: snapshot + buffered diffs (u > lastUpdateId) end equal to the reference', () => {
    fc.assert(
      fc.property(seedArb, fc.nat(), fc.nat(), (seed, a, b) => {
        const m = generateMarket(seed, { events: 200 });
        if (m.diffs.length < 6) return;
        const drop = 1 + (a % (m.diffs.length - 3));
        // The REST snapshot is taken at some point at or after the lost diff.
        const at = drop + (b % (m.diffs.length - drop - 1));
        const s = synced(m.snapshot);
        for (let i = 0; i < m.diffs.length; i++) if (i !== drop) s.applyDiff(m.diffs[i]);
        expect(s.status).toBe('resyncing');
        const t = m.truth[at];
        const snap = { lastUpdateId: t.lastUpdateId, ...t.levels() };
        const out = s.loadSnapshot(snap);
        expect(out.status).toBe('live');
        expect(out.gap).toBeUndefined();
        expect(s.book.levels()).toEqual(m.truth[m.truth.length - 1].levels());
        expect(s.lastUpdateId).toBe(m.diffs[m.diffs.length - 1].final_update_id);
      }),
      { numRuns: 50 },
    );
  });

  it('catches up a snapshot older than the live book from the recently applied diffs', () => {
    const m = generateMarket(21, { events: 200 });
    const s = synced(m.snapshot);
    for (const d of m.diffs) s.applyDiff(d);
    const t = m.truth[Math.floor(m.truth.length / 2)];
    const out = s.loadSnapshot({ lastUpdateId: t.lastUpdateId, ...t.levels() });
    expect(out.status).toBe('live');
    expect(s.book.levels()).toEqual(m.truth[m.truth.length - 1].levels());
  });

  it('asks again when the buffer does not connect to the snapshot', () => {
    const m = generateMarket(5, { events: 200 });
    const s = synced(m.snapshot);
    s.applyDiff(m.diffs[0]);
    s.applyDiff(m.diffs[3]); // gap: 1 and 2 lost
    s.drainRequests();
    for (let i = 5; i < m.diffs.length; i++) s.applyDiff(m.diffs[i]); // 4 lost as well
    const t = m.truth[2];
    const out = s.loadSnapshot({ lastUpdateId: t.lastUpdateId, ...t.levels() });
    expect(out.status).toBe('resyncing');
    expect(out.gap?.reason).toBe('buffer-gap');
    expect(out.gap?.lastUpdateId).toBe(m.diffs[3].final_update_id);
    expect(s.drainRequests()).toEqual(['buffer-gap']);
    // The next snapshot (past the second hole) still connects with what stayed buffered.
    const t2 = m.truth[4];
    expect(s.loadSnapshot({ lastUpdateId: t2.lastUpdateId, ...t2.levels() }).status).toBe('live');
    expect(s.book.levels()).toEqual(m.truth[m.truth.length - 1].levels());
  });

  it('bounds the buffer: overflow drops the oldest and is counted', () => {
    const m = generateMarket(9, { events: 300 });
    const s = new BookSync({ maxBuffer: 10 });
    for (const d of m.diffs) s.applyDiff(d);
    expect(s.bufferedCount).toBe(10);
    expect(s.bufferOverflows).toBe(m.diffs.length - 10);
    // Buffered duplicates are recognised and do not take space.
    expect(s.applyDiff(m.diffs[m.diffs.length - 1])).toEqual({ kind: 'skipped', reason: 'duplicate' });
    expect(s.bufferedCount).toBe(10);
    const at = m.diffs.length - 11;
    const t = m.truth[at];
    expect(s.loadSnapshot({ lastUpdateId: t.lastUpdateId, ...t.levels() }).status).toBe('live');
    expect(s.book.levels()).toEqual(m.truth[m.truth.length - 1].levels());
  });

  it('skips malformed diffs without touching the book', () => {
    const m = generateMarket(3, { events: 40 });
    const s = synced(m.snapshot);
    const before = s.book.levels();
    const bad = { ...m.diffs[0], bids: [['1', '1'], ['abc', '1']] as [string, string][] };
    expect(s.applyDiff(bad)).toMatchObject({ kind: 'skipped', reason: 'invalid' });
    expect(s.applyDiff({ ...m.diffs[0], first_update_id: 10, final_update_id: 5 })).toMatchObject({ kind: 'skipped', reason: 'invalid' });
    expect(s.book.levels()).toEqual(before);
    expect(s.applyDiff(m.diffs[0]).kind).toBe('applied');
    expect(s.book.levels()).toEqual(m.truth[0].levels());
  });

  it('rejects a malformed snapshot before changing anything', () => {
    const m = generateMarket(4, { events: 40 });
    const s = synced(m.snapshot);
    const before = s.book.levels();
    expect(() => s.loadSnapshot({ lastUpdateId: 1, bids: [['x', '1']], asks: [] })).toThrow(/snapshot bid level 0/);
    expect(s.book.levels()).toEqual(before);
    expect(RefBook.from(m.snapshot).levels()).toEqual(before);
  });
});
