import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal } from '../../../src/core/decimal.js';
import { isCoreEvent, toMarketEvent } from '../../../src/core/fixed-events.js';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { decodeSbeRecord, encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';
import { decodeUserRecord } from '../../../src/kinesis/record-format.js';
import { EventRecordError, validateEvent, type DecodeOptions } from '../../../src/services/aggregate-decode.js';
import { decodeUserRecordCore } from '../../../src/services/aggregate-decode-core.js';

const T = 1_763_700_000_000_000;

function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (err) {
    if (err instanceof EventRecordError) return { code: err.code };
    throw err;
  }
}

/** The string way, kept as the reference: decodeFrame's decimal strings checked by validateEvent (the JSON rules). */
function viaStrings(record: Uint8Array, opts: DecodeOptions): unknown {
  let decoded;
  try {
    const rec = decodeSbeRecord(record);
    decoded = decodeFrame(rec.sbe, rec.recvTsUs);
  } catch {
    return { code: 'malformed' };
  }
  return outcome(() => decoded.map((ev) => validateEvent(ev, opts)));
}

const m = fc.oneof(fc.bigInt({ min: -5n, max: 10n ** 14n }), fc.bigInt({ min: 2n ** 60n, max: 2n ** 63n - 1n }));

describe('decodeUserRecordCore', () => {
  it('property: accepts and refuses exactly the records the string decode + validateEvent does (same code), with the same events', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('trade', 'bba', 'diff'),
        fc.tuple(m, m, m, m),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: -2_000_000, max: 2_000_000 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
        (kind, [a, b, c, d], n, skewUs, flip) => {
          const p = (x: bigint): string => formatDecimal(x, -2);
          const q = (x: bigint): string => formatDecimal(x, -8);
          const frame =
            kind === 'trade'
              ? encodeTradesFrame({ symbol: 'BTCUSDT', eventTimeUs: T + skewUs, transactTimeUs: T, priceExponent: -2, qtyExponent: -8, trades: [{ id: n, price: p(a), qty: q(b), isBuyerMaker: true }] })
              : kind === 'bba'
                ? encodeBestBidAskFrame({ symbol: 'BTCUSDT', eventTimeUs: T + skewUs, bookUpdateId: n, priceExponent: -2, qtyExponent: -8, bidPrice: p(a), bidQty: q(b), askPrice: p(c), askQty: q(d) })
                : encodeDepthDiffFrame({ symbol: 'BTC-USDT', eventTimeUs: T + skewUs, firstBookUpdateId: n, lastBookUpdateId: n + 1, priceExponent: -2, qtyExponent: -8, bids: [[p(a), q(b)]], asks: [[p(c), q(d)]] });
          const record = encodeSbeRecord(frame, T, 3);
          if (flip) record[flip[0] % record.length] = flip[1];
          const opts = { maxEventTsUs: T + 1_000_000 };
          const strings = viaStrings(record, opts);
          expect(outcome(() => decodeUserRecord(record, opts).events)).toEqual(strings);
          const core = outcome(() => decodeUserRecordCore(record, opts));
          if (Array.isArray(core)) {
            expect(core.every((ev) => isCoreEvent(ev))).toBe(true);
            expect(core.map((ev) => (isCoreEvent(ev) ? toMarketEvent(ev) : ev))).toEqual(strings);
          } else {
            expect(core).toEqual(strings);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a JSON record is decoded as before (the core parses its strings once when it applies it)', () => {
    const json = Buffer.from(JSON.stringify({ type: 'trade', symbol: 'BTCUSDT', event_ts: T, source: 'json', trade_id: 1, price: '1.5', quantity: '2', is_buyer_maker: false }));
    expect(decodeUserRecordCore(json)).toEqual(decodeUserRecord(json).events);
  });
});
