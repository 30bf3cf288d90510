import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BookError, OrderBook, parseLevels } from '../../../src/core/order-book.js';
import { formatDecimal } from '../../../src/core/decimal.js';
import { RefBook } from './reference.js';

/** Prices around three regimes: ordinary (fits a safe integer at 8 decimals), huge (BigInt keys), fine (9+ decimals). */
const priceArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 400 }).map((m) => formatDecimal(BigInt(45_000_00 + m), -2)) },
  { weight: 1, arbitrary: fc.bigInt({ min: 10n ** 16n, max: 10n ** 16n + 50n }).map((m) => formatDecimal(m, -1)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 50 }).map((m) => formatDecimal(BigInt(45_001_000_000_000 + m), -9)) },
);
const qtyArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant('0') },
  { weight: 1, arbitrary: fc.constant('0.00000000') },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 10_000_000 }).map((m) => formatDecimal(BigInt(m), -8)) },
);
const opArb = fc.tuple(fc.constantFrom<'bid' | 'ask'>('bid', 'ask'), priceArb, qtyArb, fc.boolean());

/** Venue style: 8 fixed decimals ("45000.01000000") when the value allows it. */
function venue(p: string): string {
  const dot = p.indexOf('.');
  const frac = dot < 0 ? '' : p.slice(dot + 1);
  return frac.length >= 8 ? p : `${dot < 0 ? p : p.slice(0, dot)}.${frac.padEnd(8, '0')}`;
}

describe('OrderBook', () => {
  it('matches a naive Map book for any sequence of updates (exact keys, removal on 0)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const book = new OrderBook();
        const ref = new RefBook();
        for (const [side, p, q, padded] of ops) {
          const price = padded ? venue(p) : p;
          book.update(side, price, q);
          ref.set(side, price, q);
        }
        expect(book.levels()).toEqual(ref.levels());
        expect(book.bidCount).toBe(ref.bids.size);
        expect(book.askCount).toBe(ref.asks.size);
      }),
      { numRuns: 300 },
    );
  });

  it('loads a snapshot like the reference (zero levels ignored, later duplicate wins)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const bids = ops.filter((o) => o[0] === 'bid').map((o) => [o[1], o[2]] as [string, string]);
        const asks = ops.filter((o) => o[0] === 'ask').map((o) => [o[1], o[2]] as [string, string]);
        const book = new OrderBook();
        book.load(parseLevels(bids, 'bid'), parseLevels(asks, 'ask'));
        expect(book.levels()).toEqual(RefBook.from({ lastUpdateId: 1, bids, asks }).levels());
      }),
      { numRuns: 200 },
    );
  });

  it('prints the venue digits normalized and gives the best price as the exact float', () => {
    const book = new OrderBook();
    book.update('bid', '45230.50000000', '1.25000000');
    book.update('bid', '45230.49000000', '2.00000000');
    book.update('ask', '45230.51000000', '0.00100000');
    expect(book.bestBid()).toEqual(['45230.5', '1.25']);
    expect(book.bestAsk()).toEqual(['45230.51', '0.001']);
    expect(book.bestBidNumber()).toBe(45230.5);
    expect(book.bestAskNumber()).toBe(Number('45230.51'));
    expect(book.top('bid', 1)).toEqual([['45230.5', '1.25']]);
    expect(book.topQuantities('bid', 5)).toEqual([1.25, 2]);
  });

  it('rescales to finer prices without losing order or exactness', () => {
    const book = new OrderBook(2);
    book.update('ask', '100.01', '1');
    book.update('ask', '100.009999999999', '2');
    book.update('ask', '100.0100000000001', '3');
    expect(book.scale).toBe(13);
    expect(book.top('ask', 3)).toEqual([
      ['100.009999999999', '2'],
      ['100.01', '1'],
      ['100.0100000000001', '3'],
    ]);
    expect(book.bestAskNumber()).toBe(Number('100.009999999999'));
  });

  it('rejects malformed levels with a BookError and leaves the book unchanged', () => {
    const book = new OrderBook();
    book.update('bid', '1', '1');
    for (const bad of [['-1', '1'], ['1e5', '1'], ['', '1'], ['1', 'x'], ['0', '1'], ['1', '-2']]) {
      expect(() => book.update('bid', bad[0], bad[1])).toThrow(BookError);
    }
    expect(() => parseLevels([['1', '1'], [1, 2] as unknown as [string, string]], 'bid')).toThrow(BookError);
    expect(book.levels()).toEqual({ bids: [['1', '1']], asks: [] });
  });
});
