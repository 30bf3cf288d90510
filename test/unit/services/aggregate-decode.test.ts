import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { MarketState } from '../../../src/core/market-state.js';
import { minuteOf, tradeTimeUs } from '../../../src/core/minute-stats.js';
import { encodeMinuteValue, flattenHash } from '../../../src/redis/codec.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { decodeEventRecord, EventRecordError } from '../../../src/services/aggregate-decode.js';

const NOW_US = 1_790_000_000_000_000;
const BOUND = NOW_US + 5_000_000;

const good: MarketEvent[] = [
  { type: 'trade', symbol: 'BTCUSDT', event_ts: NOW_US, transact_ts: NOW_US - 10, source: 'sbe', trade_id: 5, sequence_id: 5, price: '100.5', quantity: '0.1', is_buyer_maker: true },
  { type: 'bestBidAsk', symbol: 'BTCUSDT', event_ts: NOW_US, source: 'sbe', sequence_id: 9, bid_price: '100', bid_quantity: '1', ask_price: '100.01', ask_quantity: '2' },
  { type: 'depth', symbol: 'BTCUSDT', event_ts: NOW_US, source: 'sbe', first_update_id: 10, final_update_id: 12, bids: [['100', '0']], asks: [['101', '3']] },
  { type: 'depthSnapshot', symbol: 'BTCUSDT', event_ts: NOW_US, source: 'rest', last_update_id: 9, bids: [['100', '1']], asks: [['101', '1']] },
];

const reject = (ev: unknown): EventRecordError => {
  try {
    decodeEventRecord(JSON.stringify(ev), { maxEventTsUs: BOUND });
  } catch (err) {
    if (err instanceof EventRecordError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(ev)}`);
};

describe('decodeEventRecord', () => {
  it('accepts the four event shapes', () => {
    for (const ev of good) expect(decodeEventRecord(JSON.stringify(ev), { maxEventTsUs: BOUND })).toEqual(ev);
  });

  it('rejects values that could not be projected, naming the field', () => {
    const t = good[0] as TradeEvent;
    expect(reject({ ...t, transact_ts: -1 }).message).toContain('transact_ts');
    expect(reject({ ...t, symbol: 'btcusdt' }).message).toContain('symbol');
    expect(reject({ ...t, symbol: 'BTC:USDT' }).message).toContain('symbol');
    expect(reject({ ...t, price: '0' }).message).toContain('price');
    expect(reject({ ...t, price: '-1' }).message).toContain('price');
    expect(reject({ ...t, quantity: '1e5' }).message).toContain('quantity');
    expect(reject({ ...good[1], bid_price: '100.01' }).message).toContain('not below ask');
    expect(reject({ ...good[2], first_update_id: 13 }).message).toContain('first_update_id');
    expect(reject({ ...good[2], bids: [['abc', '1']] }).message).toContain('bids[0] price');
    expect(reject('[1]').code).toBe('malformed');
  });

  it('rejects event times past the bound as future; old times stay valid', () => {
    const far = reject({ ...good[1], event_ts: Date.UTC(2100, 0, 1) * 1000 });
    expect(far.code).toBe('future');
    expect(reject({ ...good[0], transact_ts: BOUND + 1 }).code).toBe('future');
    expect(decodeEventRecord(JSON.stringify({ ...good[0], event_ts: 1_500_000_000_000_000, transact_ts: 1_500_000_000_000_000 }), { maxEventTsUs: BOUND }).event_ts).toBe(1_500_000_000_000_000);
  });

  it('property: whatever passes decode applies and projects without throwing', () => {
    const anyValue = fc.oneof(
      fc.integer({ min: -5, max: 5 }),
      fc.constantFrom(-1, 0, NOW_US, BOUND + 1, 2 ** 53, 1.5, Number.MAX_SAFE_INTEGER),
      fc.constantFrom('', '0', '1', '0.00', '-1', '1e3', '100.5', 'x', 'btc', 'BTC USDT', 'ETHUSDT'),
      fc.boolean(),
      fc.constant(null),
      fc.constant([['100', '1']]),
      fc.constant([['0', '1']]),
      fc.constant([['100']]),
    );
    const mutated = fc
      .tuple(fc.constantFrom(...good), fc.array(fc.tuple(fc.constantFrom('symbol', 'event_ts', 'transact_ts', 'trade_id', 'price', 'quantity', 'bid_price', 'ask_price', 'bid_quantity', 'first_update_id', 'final_update_id', 'last_update_id', 'bids', 'asks', 'sequence_id', 'is_buyer_maker', 'source'), anyValue), { maxLength: 3 }))
      .map(([base, muts]) => {
        const o: Record<string, unknown> = { ...base };
        for (const [k, v] of muts) o[k] = v;
        return o;
      });
    fc.assert(
      fc.property(fc.array(mutated, { maxLength: 12 }), (records) => {
        const market = new MarketState();
        for (const r of records) {
          let ev: MarketEvent;
          try {
            ev = decodeEventRecord(JSON.stringify(r), { maxEventTsUs: BOUND });
          } catch (err) {
            expect(err).toBeInstanceOf(EventRecordError);
            continue;
          }
          symbolKeys(ev.symbol);
          const st = market.ensure(ev.symbol);
          st.apply(ev, BOUND);
          expect(st.now).toBeLessThanOrEqual(BOUND);
          if (ev.type === 'trade') encodeMinuteValue({ minuteStartMs: minuteOf(tradeTimeUs(ev)), count: 1, volume: ev.quantity, lastTradeId: ev.trade_id });
          flattenHash(st.obHash(10).set, 'ob');
          flattenHash(st.trHash(1), 'tr1');
          flattenHash(st.trHash(5), 'tr5');
          flattenHash(st.featHash(NOW_US / 1000).hash, 'feat');
        }
      }),
      { numRuns: 150 },
    );
  });
});
