import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeMinuteValue,
  decodeSnapshot,
  encodeMinuteValue,
  encodeSnapshot,
  flattenHash,
  packHash,
  packNames,
  parseXRead,
  RedisPayloadError,
  unpackList,
} from '../../../src/redis/codec.js';
import { reconnectDelay } from '../../../src/redis/connect.js';
import { RedisCommandError, RedisUnavailableError, scrubCredentials, toRedisError } from '../../../src/redis/errors.js';

const decimalArb = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.option(fc.stringMatching(/^\d{1,8}$/), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? i.toString() : `${i}.${f}`));

describe('codec', () => {
  it('flattens a hash and refuses non-string values', () => {
    expect(flattenHash({ a: '1', b: '2' }, 'x')).toEqual(['a', '1', 'b', '2']);
    expect(() => flattenHash({ a: 1 } as unknown as Record<string, string>, 'x')).toThrow(RedisPayloadError);
  });

  it('round-trips minute stats exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000_000 }), fc.nat(), decimalArb, (minute, count, volume) => {
        const m = { minuteStartMs: minute * 60_000, count, volume };
        expect(decodeMinuteValue(m.minuteStartMs, encodeMinuteValue(m))).toEqual(m);
      }),
    );
  });

  it('rejects minute stats that are not whole minutes or not decimals', () => {
    expect(() => encodeMinuteValue({ minuteStartMs: 60_001, count: 1, volume: '1' })).toThrow(RedisPayloadError);
    expect(() => encodeMinuteValue({ minuteStartMs: 60_000, count: 1, volume: '1e5' })).toThrow(RedisPayloadError);
    expect(() => decodeMinuteValue(0, 'garbage')).toThrow(RedisPayloadError);
  });

  it('round-trips snapshots and rejects malformed ones', () => {
    const levelArb = fc.tuple(decimalArb, decimalArb);
    fc.assert(
      fc.property(fc.nat(), fc.array(levelArb, { maxLength: 20 }), fc.array(levelArb, { maxLength: 20 }), (id, bids, asks) => {
        const s = { lastUpdateId: id, bids, asks };
        expect(decodeSnapshot(encodeSnapshot(s))).toEqual(s);
      }),
    );
    expect(() => decodeSnapshot('{')).toThrow(RedisPayloadError);
    expect(() => decodeSnapshot('{"lastUpdateId":-1,"bids":[],"asks":[]}')).toThrow(/lastUpdateId/);
    expect(() => decodeSnapshot('{"lastUpdateId":1,"bids":[[1,2]],"asks":[]}')).toThrow(/bids/);
  });

  it('parses XREAD replies', () => {
    expect(parseXRead(null)).toEqual([]);
    expect(parseXRead([['s', [['1-0', ['a', 'x', 'b', 'y']], ['2-0', []]]]])).toEqual([
      { id: '1-0', fields: { a: 'x', b: 'y' } },
      { id: '2-0', fields: {} },
    ]);
  });
});

describe('errors and reconnect policy', () => {
  it('classifies connection failures as retryable and scrubs credentials', () => {
    const e = toRedisError(new Error('connect ECONNREFUSED redis://user:s3cret@10.0.0.1:6379'), 'write');
    expect(e).toBeInstanceOf(RedisUnavailableError);
    expect(e.message).not.toContain('s3cret');
    expect(toRedisError(new Error('WRONGTYPE Operation against a key'), 'write')).toBeInstanceOf(RedisCommandError);
    expect(scrubCredentials('rediss://:pw@h:1/0')).toBe('rediss://***@h:1/0');
  });

  it('backs off exponentially, capped, never negative', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.integer({ min: 100, max: 10_000 }), (attempt, cap) => {
        const d = reconnectDelay(attempt, cap);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(cap);
      }),
    );
    expect(reconnectDelay(1, 2000)).toBeLessThanOrEqual(100);
  });
});

describe('packed lists (a hash as one script argument)', () => {
  const text = fc.string({ unit: fc.constantFrom('a', '1', '.', ' ', '\n', '\u0000', '\u001f', 'é', '𝄞'), maxLength: 6 });
  it('unpack(pack(x)) is x for any hash and any list of names, empty items included', () => {
    fc.assert(
      fc.property(fc.dictionary(text, fc.oneof(text, fc.string({ minLength: 300, maxLength: 70_000 }))), fc.array(text), (hash, names) => {
        const { packed, fields } = packHash(hash, 'h');
        expect(fields).toBe(Object.keys(hash).length);
        expect(unpackList(packed)).toEqual(Object.entries(hash).flat());
        expect(unpackList(packNames(names, 'n'))).toEqual(names);
      }),
      { numRuns: 60 },
    );
  });
  it('refuses a value or name that is not a string', () => {
    expect(() => packHash({ a: 1 as unknown as string }, 'ob:X')).toThrow('ob:X.a: value must be a string, got number');
    expect(() => packNames(['ok', 2 as unknown as string], 'del')).toThrow('del: field names must be strings');
    expect(() => unpackList(packNames([], 'x').subarray(0, 0))).toThrow();
  });
});
