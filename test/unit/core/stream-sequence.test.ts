import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConnectionSequencer, StreamSequenceMonitor, type SequenceOutput, type SequenceStream } from '../../../src/core/stream-sequence.js';
import type { BestBidAskEvent, DepthEvent, MarketEvent, TradeEvent } from '../../../src/core/events.js';

const trade = (id: number, symbol = 'BTCUSDT'): TradeEvent => ({
  type: 'trade', symbol, event_ts: id, source: 'sbe', trade_id: id, sequence_id: id,
  price: '1', quantity: '1', is_buyer_maker: false,
});
const diff = (U: number, u: number): DepthEvent => ({
  type: 'depth', symbol: 'BTCUSDT', event_ts: U, source: 'sbe', first_update_id: U, final_update_id: u, bids: [], asks: [],
});

describe('StreamSequenceMonitor', () => {
  it('accepts contiguous trades and flags a break with the number missing', () => {
    const m = new StreamSequenceMonitor();
    expect(m.check(trade(10)).kind).toBe('first');
    expect(m.check(trade(11)).kind).toBe('ok');
    expect(m.check(trade(14))).toEqual({ kind: 'gap', expected: 12, got: 14, missing: 2 });
    expect(m.positions()).toEqual([{ symbol: 'BTCUSDT', stream: 'trade', last_id: 14, gaps: 1, duplicates: 0 }]);
  });

  it('drops duplicates (rotation overlap) without counting gaps', () => {
    const m = new StreamSequenceMonitor();
    m.check(trade(1));
    m.check(trade(2));
    expect(m.check(trade(2)).kind).toBe('duplicate');
    expect(m.check(trade(1)).kind).toBe('duplicate');
    expect(m.check(trade(3)).kind).toBe('ok');
  });

  it('chains depth diffs by U == previous u + 1', () => {
    const m = new StreamSequenceMonitor();
    m.check(diff(100, 105));
    expect(m.check(diff(106, 110)).kind).toBe('ok');
    expect(m.check(diff(100, 110)).kind).toBe('duplicate');
    expect(m.check(diff(115, 120))).toMatchObject({ kind: 'gap', expected: 111, missing: 4 });
  });

  it('keeps symbols apart', () => {
    const m = new StreamSequenceMonitor();
    m.check(trade(1, 'A'));
    m.check(trade(100, 'B'));
    expect(m.check(trade(2, 'A')).kind).toBe('ok');
  });

  it('counts exactly one gap per dropped run and never a gap for a complete, shuffled-duplicate stream', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), (keep) => {
        const m = new StreamSequenceMonitor();
        m.check(trade(0));
        let runs = 0;
        let inRun = false;
        for (let i = 0; i < keep.length; i++) {
          if (keep[i]) {
            m.check(trade(i + 1));
            m.check(trade(i + 1)); // the duplicate from a second connection
            if (inRun) runs += 1;
            inRun = false;
          } else inRun = true;
        }
        const pos = m.positions()[0];
        expect(pos.gaps).toBe(runs);
      }),
    );
  });
});

const bba = (id: number): BestBidAskEvent => ({
  type: 'bestBidAsk', symbol: 'BTCUSDT', event_ts: id, source: 'sbe', sequence_id: id, bid_price: '1', bid_quantity: '1', ask_price: '2', ask_quantity: '1',
});

/** Records what a ConnectionSequencer forwards, reports and drops. */
class Recorder implements SequenceOutput {
  readonly out: MarketEvent[] = [];
  readonly gaps: Array<[SequenceStream, number, number]> = [];
  duplicates = 0;
  forward(ev: MarketEvent): void {
    this.out.push(ev);
  }
  gap(_symbol: string, stream: SequenceStream, expected: number, got: number): void {
    this.gaps.push([stream, expected, got]);
  }
  duplicate(): void {
    this.duplicates += 1;
  }
  trades(): number[] {
    return this.out.flatMap((e) => (e.type === 'trade' ? [e.trade_id] : []));
  }
  diffs(): Array<[number, number]> {
    return this.out.flatMap((e) => (e.type === 'depth' ? [[e.first_update_id, e.final_update_id] as [number, number]] : []));
  }
}

const OLD = 1;
const NEW = 2;

describe('ConnectionSequencer', () => {
  it('forwards the old connection\'s in-flight trades after the new one delivered later ids', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    for (const id of [95, 96, 97]) s.accept(trade(id), OLD, r);
    s.accept(trade(100), NEW, r);
    s.accept(trade(101), NEW, r);
    expect(s.heldEvents()).toBe(2);
    for (const id of [98, 99, 100, 101]) s.accept(trade(id), OLD, r);
    s.accept(trade(102), NEW, r);
    expect(r.trades()).toEqual([95, 96, 97, 98, 99, 100, 101, 102]);
    expect(r.gaps).toEqual([]);
    expect(r.duplicates).toBe(2);
    expect(s.heldEvents()).toBe(0);
  });

  it('chains depth diffs across the two connections without a gap of its own', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    s.accept(diff(1, 10), OLD, r);
    s.accept(diff(31, 40), NEW, r);
    s.accept(diff(41, 50), NEW, r);
    s.accept(diff(11, 20), OLD, r);
    s.accept(diff(21, 30), OLD, r);
    s.accept(diff(31, 40), OLD, r);
    expect(r.diffs()).toEqual([[1, 10], [11, 20], [21, 30], [31, 40], [41, 50]]);
    expect(r.gaps).toEqual([]);
  });

  it('reports a venue gap once, when the primary reaches it, not when the new connection runs ahead into it', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    s.accept(trade(1), OLD, r);
    s.accept(trade(2), OLD, r);
    s.accept(trade(5), NEW, r); // the venue has no 3, 4
    s.accept(trade(6), NEW, r);
    expect(r.gaps).toEqual([]);
    s.accept(trade(5), OLD, r);
    expect(r.gaps).toEqual([['trade', 3, 5]]);
    s.accept(trade(6), OLD, r);
    s.accept(trade(7), NEW, r);
    expect(r.trades()).toEqual([1, 2, 5, 6, 7]);
    expect(r.gaps).toHaveLength(1);
  });

  it('when the old connection closes owing ids, the new one takes over, its held events flush and the loss is one gap', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    s.accept(trade(10), OLD, r);
    s.accept(trade(13), NEW, r);
    s.accept(trade(14), NEW, r);
    s.closed(OLD, r); // 11, 12 were in flight on the old connection when the venue cut it
    expect(r.trades()).toEqual([10, 13, 14]);
    expect(r.gaps).toEqual([['trade', 11, 13]]);
    s.accept(trade(15), NEW, r);
    expect(r.trades()).toEqual([10, 13, 14, 15]);
    expect(s.positions()[0]).toMatchObject({ primary: NEW, held: 0, gaps: 1 });
  });

  it('when the old connection closes while the new one lags, the new one continues without a gap', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    for (const id of [10, 11, 12]) s.accept(trade(id), OLD, r);
    s.accept(trade(11), NEW, r);
    s.closed(OLD, r);
    for (const id of [12, 13]) s.accept(trade(id), NEW, r);
    expect(r.trades()).toEqual([10, 11, 12, 13]);
    expect(r.gaps).toEqual([]);
  });

  it('drops what a closing non-primary connection held: the primary still delivers it', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    s.accept(trade(1), OLD, r);
    s.accept(trade(3), NEW, r);
    s.closed(NEW, r);
    expect(s.heldEvents()).toBe(0);
    s.accept(trade(2), OLD, r);
    s.accept(trade(3), OLD, r);
    expect(r.trades()).toEqual([1, 2, 3]);
    expect(r.gaps).toEqual([]);
  });

  it('a connection holding more than maxHeld takes over from a stalled primary, reporting what it owed as a gap', () => {
    const s = new ConnectionSequencer({ maxHeld: 3 });
    const r = new Recorder();
    s.accept(trade(1), OLD, r);
    for (const id of [5, 6, 7]) s.accept(trade(id), NEW, r);
    expect(r.trades()).toEqual([1]);
    s.accept(trade(8), NEW, r);
    expect(r.trades()).toEqual([1, 5, 6, 7, 8]);
    expect(r.gaps).toEqual([['trade', 2, 5]]);
    s.accept(trade(2), OLD, r); // the stalled connection wakes up: already counted as missing
    expect(r.trades()).toEqual([1, 5, 6, 7, 8]);
  });

  it('after the only connection closes, the next connection\'s first event past the sequence is a gap', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    s.accept(trade(1), OLD, r);
    s.closed(OLD, r);
    s.accept(trade(4), NEW, r);
    expect(r.gaps).toEqual([['trade', 2, 4]]);
  });

  it('forwards best bid/ask (culled by the venue) only when newer, from either connection, never holding or gapping', () => {
    const s = new ConnectionSequencer();
    const r = new Recorder();
    s.accept(bba(10), OLD, r);
    s.accept(bba(14), NEW, r);
    s.accept(bba(12), OLD, r);
    s.accept(bba(15), OLD, r);
    expect(r.out.map((e) => (e.type === 'bestBidAsk' ? e.sequence_id : -1))).toEqual([10, 14, 15]);
    expect(r.gaps).toEqual([]);
    expect(s.heldEvents()).toBe(0);
  });

  it('a long lag across many venue gaps: exact output, each venue gap once, held events bounded by the lag', () => {
    const venue: number[] = [];
    for (let id = 1; venue.length < 6000; id++) if (id % 10 !== 0) venue.push(id); // the venue skips every 10th id
    const s = new ConnectionSequencer();
    const r = new Recorder();
    const lag = 2000;
    let maxHeld = 0;
    // The new connection starts `lag` events ahead of the old one and stays that far ahead: its queue
    // drains only up to each venue gap, as the old connection reaches it.
    for (let k = 0; k < venue.length; k++) {
      s.accept(trade(venue[k]), OLD, r);
      if (k + lag < venue.length) s.accept(trade(venue[k + lag]), NEW, r);
      if (k % 100 === 0) maxHeld = Math.max(maxHeld, s.heldEvents());
    }
    expect(r.trades()).toEqual(venue);
    expect(r.gaps).toEqual(venue.slice(1).flatMap((id, i) => (id !== venue[i] + 1 ? [['trade', venue[i] + 1, id]] : [])));
    expect(maxHeld).toBeGreaterThan(lag - 20);
    expect(maxHeld).toBeLessThanOrEqual(lag + 1);
    expect(s.heldEvents()).toBe(0);
  });

  it('merges two connections delivering suffixes of one venue sequence, in any interleaving, with the old one closing anywhere', () => {
    // One venue item: a trade or a depth diff; `skip` > 0 is a gap the venue itself made before it.
    const item = fc.record({ depth: fc.boolean(), skip: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }), width: fc.integer({ min: 1, max: 4 }) });
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 80 }),
        fc.nat(),
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 200, maxLength: 200 }),
        fc.nat(),
        (items, oldStartRaw, newStartRaw, schedule, closeRaw) => {
          // The venue's sequence: contiguous trade ids and chained diffs, except where it skipped.
          let tradeId = 1000;
          let updateId = 5000;
          const venue: MarketEvent[] = items.map((it) => {
            if (it.depth) {
              const U = updateId + 1 + it.skip;
              updateId = U + it.width - 1;
              return diff(U, updateId);
            }
            tradeId += 1 + it.skip;
            return trade(tradeId);
          });
          const n = venue.length;
          const oldStart = oldStartRaw % n;
          const newStart = oldStart + (newStartRaw % (n - oldStart + 1)); // the new connection subscribes later
          const oldQ = venue.slice(oldStart);
          const newQ = venue.slice(newStart);
          const steps = oldQ.length + newQ.length;
          const closeAt = closeRaw % (steps + 1); // the step before which the old connection closes (steps: never)
          const s = new ConnectionSequencer();
          const r = new Recorder();
          const delivered = new Set<number>(); // venue indices delivered by some connection
          let i = 0;
          let j = 0;
          let oldOpen = true;
          for (let step = 0; step < steps; step++) {
            if (oldOpen && step === closeAt) {
              s.closed(OLD, r);
              oldOpen = false;
            }
            const takeOld = oldOpen && i < oldQ.length && (j >= newQ.length || schedule[step % schedule.length]);
            if (takeOld) {
              delivered.add(oldStart + i);
              s.accept(oldQ[i++], OLD, r);
            } else if (j < newQ.length) {
              delivered.add(newStart + j);
              s.accept(newQ[j++], NEW, r);
            }
          }
          if (oldOpen) s.closed(OLD, r);

          for (const stream of ['trade', 'depth'] as const) {
            const got = r.out.filter((e) => e.type === stream);
            // The sequence starts at the first event of the stream to arrive, from whichever connection.
            const firstIndex = got.length ? venue.indexOf(got[0]) : n;
            const expected = venue.filter((e, k) => e.type === stream && k >= firstIndex && delivered.has(k));
            expect(got).toEqual(expected);
            // A gap exactly where consecutive forwarded events are not contiguous: the venue's skips,
            // or ids no connection delivered.
            const gaps: Array<[SequenceStream, number, number]> = [];
            for (let k = 1; k < expected.length; k++) {
              const prev = expected[k - 1];
              const cur = expected[k];
              const prevLast = prev.type === 'trade' ? prev.trade_id : prev.type === 'depth' ? prev.final_update_id : 0;
              const curFirst = cur.type === 'trade' ? cur.trade_id : cur.type === 'depth' ? cur.first_update_id : 0;
              if (curFirst !== prevLast + 1) gaps.push([stream, prevLast + 1, curFirst]);
            }
            expect(r.gaps.filter(([st]) => st === stream)).toEqual(gaps);
          }
          expect(s.heldEvents()).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
