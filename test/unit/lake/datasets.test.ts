import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EmptyDatasetError, encodeAggTrades, encodeDepthSnapshot, encodeKlines, AGG_TRADES_COLUMNS, KLINES_COLUMNS, DEPTH_SNAPSHOT_COLUMNS } from '../../../src/lake/datasets.js';
import type { RestAggTrade, RestKline } from '../../../src/binance/rest-types.js';
import { readParquetWithArrow } from './arrow-read.js';

const decimalArb = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.integer({ min: 0, max: 8 }), fc.boolean())
  .map(([m, scale, pad]) => {
    const digits = m.toString().padStart(scale + 1, '0');
    const s = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
    return pad && scale > 0 ? `${s}000` : s; // trailing zeros must survive as written
  });

const aggTradeArb: fc.Arbitrary<RestAggTrade> = fc.record({
  a: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  p: decimalArb,
  q: decimalArb,
  f: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  l: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  T: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  m: fc.boolean(),
  M: fc.boolean(),
});

describe('bronze Parquet datasets, read back with arrow-rs', () => {
  it('agg_trades: typed columns, exact strings, every field', () => {
    fc.assert(
      fc.property(fc.array(aggTradeArb, { minLength: 1, maxLength: 40 }), (trades) => {
        const t = readParquetWithArrow(encodeAggTrades('BTCUSDT', trades));
        expect(t.names).toEqual([...AGG_TRADES_COLUMNS]);
        expect(t.numRows).toBe(trades.length);
        const fmt = Object.fromEntries(t.names.map((n) => [n, t.columns[n].format]));
        expect(fmt).toEqual({
          symbol: 'u', agg_id: 'l', price: 'u', qty: 'u', first_trade_id: 'l', last_trade_id: 'l',
          trade_time_ms: 'l', is_buyer_maker: 'b', is_best_match: 'b',
        });
        expect(t.columns.symbol.values.every((s) => s === 'BTCUSDT')).toBe(true);
        expect(t.columns.agg_id.values).toEqual(trades.map((x) => BigInt(x.a)));
        expect(t.columns.price.values).toEqual(trades.map((x) => x.p));
        expect(t.columns.qty.values).toEqual(trades.map((x) => x.q));
        expect(t.columns.first_trade_id.values).toEqual(trades.map((x) => BigInt(x.f)));
        expect(t.columns.last_trade_id.values).toEqual(trades.map((x) => BigInt(x.l)));
        expect(t.columns.trade_time_ms.values).toEqual(trades.map((x) => BigInt(x.T)));
        expect(t.columns.is_buyer_maker.values).toEqual(trades.map((x) => x.m));
        expect(t.columns.is_best_match.values).toEqual(trades.map((x) => x.M));
      }),
      { numRuns: 40 },
    );
  });

  it('klines_1m: all 12 fields plus symbol', () => {
    const k: RestKline = [1499040000000, '0.01634790', '0.80000000', '0.01575800', '0.01577100', '148976.11427815', 1499644799999, '2434.19055334', 308, '1756.87402397', '28.46694368', '0'];
    const t = readParquetWithArrow(encodeKlines('ETHBTC', [k, k]));
    expect(t.names).toEqual([...KLINES_COLUMNS]);
    expect(t.numRows).toBe(2);
    const row = t.names.map((n) => t.columns[n].values[1]);
    expect(row).toEqual(['ETHBTC', 1499040000000n, '0.01634790', '0.80000000', '0.01575800', '0.01577100', '148976.11427815', 1499644799999n, '2434.19055334', 308n, '1756.87402397', '28.46694368', '0']);
    expect(['open_time', 'close_time', 'trades'].map((n) => t.columns[n].format)).toEqual(['l', 'l', 'l']);
  });

  it('depth_snapshots: long format, one row per level, 1-based levels per side', () => {
    const depth = { lastUpdateId: 77_000_000_001, bids: [['100.10', '1.000'], ['100.00', '2']] as [string, string][], asks: [['100.20', '0.50000000']] as [string, string][] };
    const t = readParquetWithArrow(encodeDepthSnapshot('BTCUSDT', depth, 1_763_766_000_123));
    expect(t.names).toEqual([...DEPTH_SNAPSHOT_COLUMNS]);
    expect(t.columns.side.values).toEqual(['bid', 'bid', 'ask']);
    expect(t.columns.level.values).toEqual([1, 2, 1]);
    expect(t.columns.level.format).toBe('i');
    expect(t.columns.price.values).toEqual(['100.10', '100.00', '100.20']);
    expect(t.columns.qty.values).toEqual(['1.000', '2', '0.50000000']);
    expect(t.columns.last_update_id.values).toEqual([77_000_000_001n, 77_000_000_001n, 77_000_000_001n]);
    expect(t.columns.snapshot_ts_ms.values[0]).toBe(1_763_766_000_123n);
  });

  it('refuses to encode zero rows (arrow-rs cannot read such files from hyparquet-writer)', () => {
    expect(() => encodeDepthSnapshot('BTCUSDT', { lastUpdateId: 1, bids: [], asks: [] }, 0)).toThrow(EmptyDatasetError);
    expect(() => encodeAggTrades('BTCUSDT', [])).toThrow(EmptyDatasetError);
  });
});
