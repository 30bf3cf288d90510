import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMinuteValue, encodeMinuteValue, RedisPayloadError } from '../../../src/redis/codec.js';

/** The minute values of `tr:{SYM}:minutes` with the restart watermark (the highest trade id per minute). */
describe('minute value codec with the trade-id watermark', () => {
  it('round-trips count, exact volume and trade id', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40_000_000 }),
        fc.nat(),
        fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.stringMatching(/^\d{1,8}$/)).map(([i, f]) => `${i}.${f}`),
        fc.option(fc.maxSafeNat(), { nil: undefined }),
        (minute, count, volume, lastTradeId) => {
          const m = lastTradeId === undefined ? { minuteStartMs: minute * 60_000, count, volume } : { minuteStartMs: minute * 60_000, count, volume, lastTradeId };
          const back = decodeMinuteValue(m.minuteStartMs, encodeMinuteValue(m));
          expect(back).toStrictEqual(m);
        },
      ),
    );
  });

  it('reads values written before the id was kept, without a watermark', () => {
    expect(decodeMinuteValue(60_000, '12|0.5')).toStrictEqual({ minuteStartMs: 60_000, count: 12, volume: '0.5' });
    expect(encodeMinuteValue({ minuteStartMs: 60_000, count: 12, volume: '0.5' })).toBe('12|0.5');
    expect(encodeMinuteValue({ minuteStartMs: 60_000, count: 12, volume: '0.5', lastTradeId: 991 })).toBe('12|0.5|991');
  });

  it('rejects malformed or out-of-range values with a typed error', () => {
    for (const bad of ['12|0.5|', '12|0.5|x', '12|0.5|1|2', '12|0.5|-1', '99999999999999999999|1', '1|1|99999999999999999999']) {
      expect(() => decodeMinuteValue(0, bad), bad).toThrow(RedisPayloadError);
    }
    expect(() => encodeMinuteValue({ minuteStartMs: 0, count: 1, volume: '1', lastTradeId: -1 })).toThrow(RedisPayloadError);
    expect(() => encodeMinuteValue({ minuteStartMs: 0, count: 1, volume: '1', lastTradeId: 1.5 })).toThrow(RedisPayloadError);
  });
});
