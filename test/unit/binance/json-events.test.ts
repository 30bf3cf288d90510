import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeDecimal } from '../../../src/core/decimal.js';
import { JsonEventError, canonicalDecimal, depthSnapshotFromRest, jsonPayloadToEvents, parseJsonLine } from '../../../src/binance/json-events.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { encodeTradesFrame } from '../../../src/binance/sbe-encode.js';

const tradeJson = { e: 'trade', E: 1_763_700_000_123, s: 'BTCUSDT', t: 12345, p: '98000.01000000', q: '0.00123000', T: 1_763_700_000_122, m: true, M: true };

describe('jsonPayloadToEvents', () => {
  it('trade: ms → µs, canonical decimals, sequence_id = trade id, same event as the SBE path apart from source', () => {
    const [ev] = jsonPayloadToEvents(tradeJson, 7);
    expect(ev).toEqual({
      type: 'trade',
      symbol: 'BTCUSDT',
      event_ts: 1_763_700_000_123_000,
      source: 'json',
      trade_id: 12345,
      sequence_id: 12345,
      price: '98000.01',
      quantity: '0.00123',
      is_buyer_maker: true,
      transact_ts: 1_763_700_000_122_000,
      recv_ts_us: 7,
    });
    const frame = encodeTradesFrame({
      symbol: 'BTCUSDT',
      eventTimeUs: 1_763_700_000_123_000,
      transactTimeUs: 1_763_700_000_122_000,
      priceExponent: -8,
      qtyExponent: -8,
      trades: [{ id: 12345, price: '98000.01', qty: '0.00123', isBuyerMaker: true }],
    });
    expect({ ...decodeFrame(frame, 7)[0], source: 'json' }).toEqual(ev);
  });

  it('aggTrade → one TradeEvent with trade_id = sequence_id = aggregate id a', () => {
    const [ev] = jsonPayloadToEvents({ e: 'aggTrade', E: 2, s: 'BTCUSDT', a: 26129, p: '0.01633102', q: '4.70443515', f: 27781, l: 27790, T: 1, m: false, M: true });
    expect(ev).toMatchObject({ type: 'trade', trade_id: 26129, sequence_id: 26129, event_ts: 2000, transact_ts: 1000, is_buyer_maker: false, price: '0.01633102' });
  });

  it('bookTicker (no e, no E): event_ts from recvTsUs, else 0', () => {
    const p = { u: 400900217, s: 'BNBUSDT', b: '25.35190000', B: '31.21000000', a: '25.36520000', A: '40.66000000' };
    expect(jsonPayloadToEvents(p, 99)).toEqual([
      { type: 'bestBidAsk', symbol: 'BNBUSDT', event_ts: 99, source: 'json', bid_price: '25.3519', bid_quantity: '31.21', ask_price: '25.3652', ask_quantity: '40.66', sequence_id: 400900217, recv_ts_us: 99 },
    ]);
    expect(jsonPayloadToEvents(p)[0].event_ts).toBe(0);
  });

  it('depthUpdate and the combined stream wrapper', () => {
    const data = { e: 'depthUpdate', E: 5, s: 'BNBBTC', U: 157, u: 160, b: [['0.0024', '10']], a: [['0.0026', '0.00000000']] };
    expect(jsonPayloadToEvents({ stream: 'bnbbtc@depth', data })).toEqual([
      { type: 'depth', symbol: 'BNBBTC', event_ts: 5000, source: 'json', first_update_id: 157, final_update_id: 160, bids: [['0.0024', '10']], asks: [['0.0026', '0']] },
    ]);
  });

  it('control messages carry no events', () => {
    expect(jsonPayloadToEvents({ e: 'serverShutdown', E: 1 })).toEqual([]);
    expect(jsonPayloadToEvents({ result: null, id: 1 })).toEqual([]);
  });

  it('bad payloads → JsonEventError naming the problem', () => {
    expect(() => jsonPayloadToEvents(null)).toThrow(JsonEventError);
    expect(() => jsonPayloadToEvents([1])).toThrow(/JSON object/);
    expect(() => jsonPayloadToEvents({ ...tradeJson, p: '1e5' })).toThrow(/"p".*not a decimal/);
    expect(() => jsonPayloadToEvents({ ...tradeJson, t: -1 })).toThrow(/"t" must be a non-negative integer/);
    expect(() => jsonPayloadToEvents({ ...tradeJson, m: 'yes' })).toThrow(/"m" must be a boolean/);
    expect(() => jsonPayloadToEvents({ ...tradeJson, s: '' })).toThrow(/"s"/);
    expect(() => jsonPayloadToEvents({ e: 'kline' })).toThrow(/unsupported event type "kline"/);
    expect(() => jsonPayloadToEvents({ foo: 1 })).toThrow(/no event type/);
    expect(() => jsonPayloadToEvents({ e: 'depthUpdate', E: 1, s: 'X', U: 5, u: 4, b: [], a: [] })).toThrow(/u 4 < U 5/);
    expect(() => jsonPayloadToEvents({ e: 'depthUpdate', E: 1, s: 'X', U: 1, u: 1, b: [['1']], a: [] })).toThrow(/level 0/);
  });
});

describe('depthSnapshotFromRest and parseJsonLine', () => {
  it('maps a /api/v3/depth body with the caller-supplied symbol', () => {
    const body = { lastUpdateId: 1027024, bids: [['4.00000000', '431.00000000']], asks: [['4.00000200', '12.00000000']] };
    expect(depthSnapshotFromRest('BNBBTC', body, 123)).toEqual({
      type: 'depthSnapshot',
      symbol: 'BNBBTC',
      event_ts: 123,
      source: 'rest',
      last_update_id: 1027024,
      bids: [['4', '431']],
      asks: [['4.000002', '12']],
    });
    expect(() => depthSnapshotFromRest('BNBBTC', { bids: [], asks: [] }, 1)).toThrow(/lastUpdateId/);
  });

  it('parseJsonLine types JSON syntax errors too', () => {
    expect(parseJsonLine(JSON.stringify(tradeJson))[0].type).toBe('trade');
    expect(() => parseJsonLine('{"e":')).toThrow(JsonEventError);
  });
});

describe('canonicalDecimal', () => {
  it('equals core normalizeDecimal for any decimal text', () => {
    const text = fc
      .tuple(fc.boolean(), fc.stringMatching(/^\d{1,20}$/), fc.option(fc.stringMatching(/^\d{1,20}$/), { nil: undefined }))
      .map(([neg, i, f]) => `${neg ? '-' : ''}${i}${f === undefined ? '' : `.${f}`}`);
    fc.assert(
      fc.property(text, (t) => {
        expect(canonicalDecimal(t)).toBe(normalizeDecimal(t));
      }),
      { numRuns: 3000 },
    );
  });
});
