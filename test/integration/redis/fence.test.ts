import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter, type SymbolProjection } from '../../../src/redis/projection.js';
import { uniqueSymbol } from '../../support/servers.js';
import { connect } from './helpers.js';

/**
 * Lease fencing of the projection: a worker that lost a shard (paused past its lease, then resumed) must not
 * write any of the shard's symbols once the new owner has written, whatever it still has in memory.
 */

let redis: RedisClient;
beforeAll(async () => {
  redis = await connect(inject('redisUrl'));
});
afterAll(() => redis.quit());

function fencedWriter(epochs: Map<string, number>): ProjectionWriter {
  return new ProjectionWriter(redis, { fencing: { epochOf: (s) => epochs.get(s) } });
}

function fullWrite(symbol: string, id: number, tag: string): SymbolProjection {
  return {
    symbol,
    ob: { set: { status: 'live', last_update_id: String(id), best_bid: `${tag}.1`, bid1_p: `${tag}.1` }, del: [] },
    tr1s: { count: tag },
    tr5s: { count: tag },
    feat: { mid_price: tag },
    minutes: [{ minuteStartMs: 1_700_000_040_000 + id * 60_000, count: id, volume: '0.1' }],
  };
}

describe('lease fencing of projection writes', () => {
  it('refuses every part of an old owner’s write once the new owner wrote; the new owner is unaffected', async () => {
    const sym = uniqueSymbol();
    const k = symbolKeys(sym);
    const oldEpochs = new Map([[sym, 5]]);
    const newEpochs = new Map([[sym, 7]]);
    const oldOwner = fencedWriter(oldEpochs);
    const newOwner = fencedWriter(newEpochs);

    expect((await oldOwner.write([fullWrite(sym, 100, '1')])).obOutcome[sym]).toBe('written');
    expect(await redis.get(k.fence)).toBe('5');

    // The new owner starts from the checkpoint with no book yet: its first write says resyncing and raises the fence.
    const first = await newOwner.write([{ symbol: sym, ob: { set: { status: 'resyncing' }, del: [] }, tr1s: { count: '0' } }]);
    expect(first.obOutcome[sym]).toBe('no_book');
    expect(first.fenced).toEqual([]);
    expect(await redis.get(k.fence)).toBe('7');

    // The paused old owner wakes up and writes a newer book than the stored one: refused whole.
    const late = await oldOwner.write([fullWrite(sym, 200, '2')]);
    expect(late.obOutcome[sym]).toBe('fenced');
    expect(late.fenced).toEqual([sym]);
    expect(await redis.hgetall(k.ob)).toMatchObject({ status: 'resyncing', last_update_id: '100', best_bid: '1.1' });
    expect(await redis.hgetall(k.tr1s)).toEqual({ count: '0' });
    expect(await redis.hgetall(k.tr5s)).toEqual({ count: '1' });
    expect(await redis.hgetall(k.feat)).toEqual({ mid_price: '1' });
    expect(await redis.hkeys(k.minutes)).toEqual([String(1_700_000_040_000 + 100 * 60_000)]);
    expect(oldOwner.stats().fenced).toBe(1);

    // The new owner's writes go on.
    const next = await newOwner.write([fullWrite(sym, 300, '3')]);
    expect(next.obOutcome[sym]).toBe('written');
    expect(await redis.hgetall(k.ob)).toMatchObject({ status: 'live', last_update_id: '300' });
    expect(await redis.hgetall(k.feat)).toEqual({ mid_price: '3' });
  });

  it('sends nothing for a symbol whose shard this worker does not hold, and writes the others of the batch', async () => {
    const [held, notHeld] = [uniqueSymbol(), uniqueSymbol()];
    const w = fencedWriter(new Map([[held, 3]]));
    const r = await w.write([fullWrite(held, 10, '1'), fullWrite(notHeld, 10, '1')]);
    expect(r.obOutcome).toEqual({ [held]: 'written', [notHeld]: 'fenced' });
    expect(r.fenced).toEqual([notHeld]);
    expect(await redis.exists(symbolKeys(notHeld).ob, symbolKeys(notHeld).tr1s, symbolKeys(notHeld).fence)).toBe(0);
  });

  it('leaves a writer without leases unfenced (one aggregator, the default)', async () => {
    const sym = uniqueSymbol();
    const r = await new ProjectionWriter(redis).write([fullWrite(sym, 10, '1')]);
    expect(r.obOutcome[sym]).toBe('written');
    expect(await redis.exists(symbolKeys(sym).fence)).toBe(0);
  });

  it('keeps the fence key in the symbol’s hash slot under Redis Cluster', () => {
    const k = symbolKeys('ETHUSDT', { cluster: true });
    expect(k.fence).toBe('fence:{ETHUSDT}');
  });
});
