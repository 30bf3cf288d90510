import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamSequenceMonitor } from '../../../src/core/stream-sequence.js';
import type { DepthEvent, TradeEvent } from '../../../src/core/events.js';

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
