import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { parseJsonLine } from '../../../src/binance/json-events.js';
import type { MarketEvent } from '../../../src/core/events.js';
import { decodeCorpus } from '../../../src/bench/decode.js';

const corpus = decodeCorpus({ trade: 300, bestBidAsk: 300, depth: 100 });
/** Source differs by design; spot bookTicker JSON has no event time (the parser uses the receive time). */
function comparable(ev: MarketEvent): Partial<MarketEvent> {
  const { source: _source, ...rest } = ev;
  if (ev.type !== 'bestBidAsk') return rest;
  const { event_ts: _eventTs, ...noTime } = rest;
  return noTime;
}

describe('decode bench corpus', () => {
  it('each SBE frame and its JSON text decode to the same normalized events (source aside)', () => {
    for (const name of ['trade', 'bestBidAsk', 'depth'] as const) {
      const { frames, json } = corpus[name];
      expect(frames.length).toBe(json.length);
      for (let i = 0; i < frames.length; i++) {
        const sbe = decodeFrame(frames[i], 77);
        const js = parseJsonLine(json[i], 77);
        expect(sbe.map(comparable)).toEqual(js.map(comparable));
        expect(sbe.every((ev) => ev.source === 'sbe')).toBe(true);
      }
    }
  });

  it('holds distinct, realistic frames: 1-trade frames, 10 + 10 level diffs, prices on the 0.01 tick', () => {
    const trades = corpus.trade.frames.map((f) => decodeFrame(f));
    expect(trades.every((evs) => evs.length === 1)).toBe(true);
    const depth = corpus.depth.frames.map((f) => decodeFrame(f)[0]);
    for (const ev of depth) {
      if (ev.type !== 'depth') throw new Error(`expected depth, got ${ev.type}`);
      expect([ev.bids.length, ev.asks.length]).toEqual([10, 10]);
      for (const [p] of [...ev.bids, ...ev.asks]) expect(p).toMatch(/^\d+(\.\d{1,2})?$/);
    }
    expect(new Set(corpus.bestBidAsk.json).size).toBe(corpus.bestBidAsk.json.length);
    expect(new Set(corpus.depth.json).size).toBe(corpus.depth.json.length);
  });

  it('events keep their key order, and recv_ts_us is absent (not undefined) without a receive time', () => {
    const [trade] = decodeFrame(corpus.trade.frames[0], 5);
    expect(Object.keys(trade)).toEqual(['type', 'symbol', 'event_ts', 'source', 'trade_id', 'price', 'quantity', 'is_buyer_maker', 'sequence_id', 'transact_ts', 'recv_ts_us']);
    const [bba] = decodeFrame(corpus.bestBidAsk.frames[0]);
    expect(Object.keys(bba)).toEqual(['type', 'symbol', 'event_ts', 'source', 'bid_price', 'bid_quantity', 'ask_price', 'ask_quantity', 'sequence_id']);
    expect('recv_ts_us' in bba).toBe(false);
    const [depth] = decodeFrame(corpus.depth.frames[0], 5);
    expect(Object.keys(depth)).toEqual(['type', 'symbol', 'event_ts', 'source', 'first_update_id', 'final_update_id', 'bids', 'asks', 'recv_ts_us']);
    expect('recv_ts_us' in decodeFrame(corpus.depth.frames[0])[0]).toBe(false);
    expect('recv_ts_us' in decodeFrame(corpus.trade.frames[0])[0]).toBe(false);
  });
});
