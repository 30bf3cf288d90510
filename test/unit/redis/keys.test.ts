import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidKeyPartError, InvalidSymbolError, snapshotKey, symbolKeys } from '../../../src/redis/keys.js';

/** The part of a key Redis Cluster hashes: the first non-empty {...} (the whole key otherwise). */
function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

const symbolArb = fc.stringMatching(/^[A-Z0-9]{1,20}$/);

describe('symbolKeys', () => {
  it('uses the SPEC names without hash tags outside cluster mode', () => {
    const k = symbolKeys('BTCUSDT');
    expect(k).toMatchObject({
      ob: 'ob:BTCUSDT',
      tr1s: 'tr:BTCUSDT:1s',
      tr5s: 'tr:BTCUSDT:5s',
      feat: 'feat:BTCUSDT',
      pred: 'pred:BTCUSDT',
      obNew: 'ob:new:BTCUSDT',
      tr1sNew: 'tr:new:BTCUSDT:1s',
      tr5sNew: 'tr:new:BTCUSDT:5s',
      featNew: 'feat:new:BTCUSDT',
      flag: 'reanchor:BTCUSDT',
      minutes: 'tr:BTCUSDT:minutes',
    });
  });

  it('hash-tags every key of a symbol to one slot in cluster mode', () => {
    fc.assert(
      fc.property(symbolArb, fc.uuid(), (sym, attempt) => {
        const k = symbolKeys(sym, { cluster: true });
        const all = [k.ob, k.tr1s, k.tr5s, k.feat, k.pred, k.minutes, k.obNew, k.tr1sNew, k.tr5sNew, k.featNew, k.flag, snapshotKey(k, attempt)];
        for (const key of all) expect(hashTagOf(key)).toBe(sym);
        expect(k.ob).toBe(`ob:{${sym}}`);
      }),
    );
  });

  it('never lets two symbols share a plain key', () => {
    fc.assert(
      fc.property(symbolArb, symbolArb, (a, b) => {
        fc.pre(a !== b);
        const ka = Object.values(symbolKeys(a));
        const kb = new Set(Object.values(symbolKeys(b)));
        expect(ka.filter((x) => kb.has(x) && x !== a && x !== b)).toEqual([]);
      }),
    );
  });

  it.each(['', 'btc usdt', 'BTC{USDT}', 'BTC:USDT', 'A'.repeat(41), 'btcusdt'])('rejects symbol %j', (bad) => {
    expect(() => symbolKeys(bad)).toThrow(InvalidSymbolError);
  });

  it('rejects an attempt id that could escape the key', () => {
    expect(() => snapshotKey(symbolKeys('BTCUSDT'), 'a:b')).toThrow(InvalidKeyPartError);
  });
});
