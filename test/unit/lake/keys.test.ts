import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { depthSnapshotKey, hourPartition, newestRangeEnd, parseRangeFileKey, rangeFileKey, symbolPrefix } from '../../../src/lake/keys.js';
import { InvalidObjectKeyError, assertValidKey } from '../../../src/lake/object-key.js';

describe('bronze keys', () => {
  it('lays out dataset/symbol/date/hour with a range name', () => {
    const ts = Date.UTC(2026, 0, 2, 3, 4, 5);
    expect(rangeFileKey('bronze', 'agg_trades', 'BTCUSDT', ts, 5, 9)).toBe(
      'bronze/agg_trades/symbol=BTCUSDT/date=2026-01-02/hour=03/agg_trades_5_9.parquet',
    );
    expect(rangeFileKey('/lake/bronze/', 'klines_1m', 'BTCUSDT', ts, ts, ts)).toBe(
      `lake/bronze/klines_1m/symbol=BTCUSDT/date=2026-01-02/hour=03/klines_1m_${ts}_${ts}.parquet`,
    );
    expect(depthSnapshotKey('', 'BTCUSDT', ts, 42)).toBe('depth_snapshots/symbol=BTCUSDT/date=2026-01-02/hour=03/depth_snapshots_42.parquet');
  });

  it('range names round-trip and are deterministic', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (first, span, ts) => {
          const last = Math.min(Number.MAX_SAFE_INTEGER, first + span);
          const k = rangeFileKey('bronze', 'agg_trades', 'BTCUSDT', ts, first, last);
          expect(k).toBe(rangeFileKey('bronze', 'agg_trades', 'BTCUSDT', ts, first, last));
          expect(parseRangeFileKey('agg_trades', k)).toEqual({ first, last });
          expect(parseRangeFileKey('klines_1m', k)).toBeUndefined();
          const p = hourPartition(ts);
          expect(k).toContain(`/date=${p.date}/hour=${p.hour}/`);
          assertValidKey(k);
        },
      ),
    );
  });

  it('finds the newest range end among keys', () => {
    const keys = [
      'bronze/agg_trades/symbol=S/date=2026-01-01/hour=23/agg_trades_1_9.parquet',
      'bronze/agg_trades/symbol=S/date=2026-01-02/hour=00/agg_trades_10_12.parquet',
      'bronze/agg_trades/symbol=S/date=2026-01-02/hour=00/notes.txt',
    ];
    expect(newestRangeEnd('agg_trades', keys)).toBe(12);
    expect(newestRangeEnd('agg_trades', [])).toBeUndefined();
  });

  it('rejects symbols and ranges that would break the layout', () => {
    expect(() => symbolPrefix('bronze', 'agg_trades', 'BTC/USDT')).toThrow(InvalidObjectKeyError);
    expect(() => symbolPrefix('bronze', 'agg_trades', '')).toThrow(InvalidObjectKeyError);
    expect(() => rangeFileKey('bronze', 'agg_trades', 'BTCUSDT', 0, 5, 4)).toThrow(InvalidObjectKeyError);
    expect(() => assertValidKey('a/../b')).toThrow(InvalidObjectKeyError);
  });
});
