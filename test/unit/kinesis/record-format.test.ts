import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeDepthSnapshotFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import type { MarketEvent } from '../../../src/core/events.js';
import { decodeUserRecord, userRecordFormat } from '../../../src/kinesis/record-format.js';
import { encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';
import { EventRecordError, type RecordErrorCode } from '../../../src/services/aggregate-decode.js';

const T = 1_790_000_000_000_000;
const RECV = T + 1234;

const frames = {
  trades: encodeTradesFrame({
    symbol: 'BTCUSDT',
    eventTimeUs: T,
    transactTimeUs: T - 5,
    priceExponent: -2,
    qtyExponent: -8,
    trades: [
      { id: 7, price: '100.25', qty: '0.5', isBuyerMaker: true },
      { id: 8, price: '100.26', qty: '0.00000001', isBuyerMaker: false },
    ],
  }),
  bestBidAsk: encodeBestBidAskFrame({
    symbol: 'BTCUSDT', eventTimeUs: T, bookUpdateId: 50, priceExponent: -2, qtyExponent: -8,
    bidPrice: '100.00', bidQty: '1', askPrice: '100.01', askQty: '2',
  }),
  diff: encodeDepthDiffFrame({
    symbol: 'BTCUSDT', eventTimeUs: T, firstBookUpdateId: 51, lastBookUpdateId: 53, priceExponent: -2, qtyExponent: -8,
    bids: [['100.00', '0'], ['99.99', '3']], asks: [['100.01', '1.5']],
  }),
  snapshot: encodeDepthSnapshotFrame({
    symbol: 'BTCUSDT', eventTimeUs: T, bookUpdateId: 53, priceExponent: -2, qtyExponent: -8,
    bids: [['99.99', '3']], asks: [['100.01', '1.5']],
  }),
};

function refused(data: Uint8Array, maxEventTsUs = Infinity): EventRecordError {
  try {
    decodeUserRecord(data, { maxEventTsUs });
  } catch (err) {
    if (err instanceof EventRecordError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('decodeUserRecord', () => {
  it('decodes an SBE record of each message kind to the SBE decoder’s events, with the receive time and connection', () => {
    for (const frame of Object.values(frames)) {
      const out = decodeUserRecord(encodeSbeRecord(frame, RECV, 3));
      expect(out.format).toBe('sbe');
      expect(out.events).toEqual(decodeFrame(frame, RECV));
      expect(out.recvTsUs).toBe(RECV);
      expect(out.connectionId).toBe(3);
      expect(Buffer.from(out.sbe!).equals(Buffer.from(frame))).toBe(true);
    }
    expect(decodeUserRecord(encodeSbeRecord(frames.trades, RECV, 0)).events.map((e) => e.type === 'trade' && e.trade_id)).toEqual([7, 8]);
  });

  it('decodes a JSON record as before, and says which format it was', () => {
    const ev: MarketEvent = decodeFrame(frames.bestBidAsk, RECV)[0];
    const json = Buffer.from(JSON.stringify(ev));
    const out = decodeUserRecord(json);
    expect(out).toEqual({ events: [ev], format: 'json' });
    expect(userRecordFormat(json)).toBe('json');
    expect(userRecordFormat(encodeSbeRecord(frames.diff, RECV, 0))).toBe('sbe');
  });

  it('gives the same events for the same message in either format', () => {
    for (const frame of Object.values(frames)) {
      const sbe = decodeUserRecord(encodeSbeRecord(frame, RECV, 1)).events;
      const json = sbe.map((e) => decodeUserRecord(Buffer.from(JSON.stringify(e))).events[0]);
      expect(json).toEqual(sbe);
    }
  });

  const bad: Array<[string, () => Uint8Array, RecordErrorCode, RegExp]> = [
    ['a truncated envelope', () => encodeSbeRecord(frames.trades, RECV, 0).subarray(0, 10), 'malformed', /TRUNCATED/],
    ['an unknown envelope version', () => { const r = encodeSbeRecord(frames.trades, RECV, 0); r[1] = 9; return r; }, 'malformed', /version 9/],
    ['a truncated SBE message', () => encodeSbeRecord(frames.diff.subarray(0, frames.diff.length - 4), RECV, 0), 'malformed', /SBE message TRUNCATED|SBE message BAD_SYMBOL/],
    ['an unknown template id', () => { const f = Uint8Array.from(frames.trades); f[2] = 0x99; return encodeSbeRecord(f, RECV, 0); }, 'malformed', /UNKNOWN_TEMPLATE/],
    ['an oversized group', () => {
      const f = Buffer.from(frames.diff);
      // The bids group's numInGroup (uint16 after its blockLength) claims far more levels than the bytes hold.
      const groupAt = f.readUInt16LE(0) + 8;
      f.writeUInt16LE(60_000, groupAt + 2);
      return encodeSbeRecord(f, RECV, 0);
    }, 'malformed', /GROUP_TOO_LARGE/],
    ['garbage after the magic byte', () => Uint8Array.from([0xb5, 0x01, 0xff]), 'malformed', /TRUNCATED/],
    ['a crossed best bid/ask', () => encodeSbeRecord(encodeBestBidAskFrame({
      symbol: 'BTCUSDT', eventTimeUs: T, bookUpdateId: 50, priceExponent: -2, qtyExponent: -8,
      bidPrice: '101.00', bidQty: '1', askPrice: '100.01', askQty: '2',
    }), RECV, 0), 'invalid', /bid 101(\.0+)? is not below ask/],
    ['a negative trade price', () => encodeSbeRecord(encodeTradesFrame({
      symbol: 'BTCUSDT', eventTimeUs: T, transactTimeUs: T, priceExponent: -2, qtyExponent: -8,
      trades: [{ id: 1, price: '-5.00', qty: '1', isBuyerMaker: true }],
    }), RECV, 0), 'invalid', /trade\.price/],
    ['a symbol that cannot be a key', () => encodeSbeRecord(encodeTradesFrame({
      symbol: 'btc usdt', eventTimeUs: T, transactTimeUs: T, priceExponent: -2, qtyExponent: -8,
      trades: [{ id: 1, price: '5.00', qty: '1', isBuyerMaker: true }],
    }), RECV, 0), 'invalid', /symbol/],
  ];
  for (const [what, make, code, message] of bad) {
    it(`refuses ${what} as ${code} with a specific message`, () => {
      const err = refused(make());
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    });
  }

  it('refuses an SBE event time past the bound as future', () => {
    const err = refused(encodeSbeRecord(frames.trades, RECV, 0), T - 1);
    expect(err.code).toBe('future');
  });

  it('throws nothing but EventRecordError for any bytes behind a valid envelope', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.maxSafeNat(), (sbe, ts) => {
        try {
          decodeUserRecord(encodeSbeRecord(sbe, ts, 0));
        } catch (err) {
          expect(err).toBeInstanceOf(EventRecordError);
        }
      }),
    );
  });

  it('throws nothing but EventRecordError for a real message with bytes flipped', () => {
    const base = Object.values(frames);
    fc.assert(
      fc.property(fc.nat({ max: base.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), (k, flips) => {
        const f = Uint8Array.from(base[k]);
        for (const [at, v] of flips) f[at % f.length] = v;
        try {
          decodeUserRecord(encodeSbeRecord(f, RECV, 0));
        } catch (err) {
          expect(err).toBeInstanceOf(EventRecordError);
        }
      }),
    );
  });
});
