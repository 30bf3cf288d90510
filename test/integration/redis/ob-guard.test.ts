/**
 * The ob:{SYM} write guard, decided inside Redis: last_update_id never moves backwards, a blocked write
 * never leaves a frozen book saying `live`, and a write with no book cannot overwrite one.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AtomicReanchor } from '../../../src/redis/reanchor.js';
import { uniqueSymbol } from '../../support/servers.js';
import { connect } from './helpers.js';

let redis: RedisClient;
beforeAll(async () => {
  redis = await connect(inject('redisUrl'));
});
afterAll(() => redis.quit());

/** An aggregator-style ob hash of book generation `id`: every level carries the id it belongs to. */
function book(id: number, status: 'live' | 'resyncing' = 'live'): Record<string, string> {
  const h: Record<string, string> = { last_update_id: String(id), ts_us: String(1_700_000_000_000_000 + id), status };
  for (let i = 1; i <= 3; i++) {
    h[`bid${i}_p`] = `${id}.${i}`;
    h[`ask${i}_p`] = `${id}.${i + 10}`;
  }
  return h;
}

describe('ob:{SYM} write guard', () => {
  it('a flush between swap and done cannot move last_update_id backwards', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const w = new ProjectionWriter(redis);
    await w.write([{ symbol: s, ob: { set: book(100), del: [] } }]);
    // The REST mode swaps in a snapshot at id 500; the aggregator has not read reanchor:done yet and its
    // next flush still carries its pre-gap book at id 120.
    const ra = new AtomicReanchor(redis, { minIntervalMs: 0 });
    const staged = book(500);
    const r = await ra.run(s, async () => ({
      ob: staged,
      tr1s: { count: '0' },
      tr5s: { count: '0' },
      snapshot: { lastUpdateId: 500, bids: [['500.1', '1']], asks: [['500.11', '1']] },
    }));
    expect(r.status).toBe('ok');
    const res = await w.write([{ symbol: s, ob: { set: book(120), del: [] } }]);
    expect(res.obWritten[s]).toBe(false);
    const ob = await redis.hgetall(k.ob);
    expect(ob.last_update_id).toBe('500');
    expect(ob.bid1_p).toBe('500.1');
    // The stored book is no longer kept current by the aggregator until it catches up: not `live`.
    expect(ob.status).toBe('resyncing');
    // Once the aggregator has applied the snapshot, its writes go through again.
    expect((await w.write([{ symbol: s, ob: { set: book(501), del: [] } }])).obWritten[s]).toBe(true);
    expect(await redis.hgetall(k.ob)).toEqual(book(501));
  });

  it('an equal last_update_id is written (trades move last_trade_price without a depth update)', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const w = new ProjectionWriter(redis);
    await w.write([{ symbol: s, ob: { set: book(7), del: [] } }]);
    expect((await w.write([{ symbol: s, ob: { set: { ...book(7), last_trade_price: '1.5' }, del: [] } }])).obWritten[s]).toBe(true);
    expect(await redis.hget(k.ob, 'last_trade_price')).toBe('1.5');
  });

  it('while the re-anchor flag blocks the write, the live ob says resyncing (only that field changes)', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const w = new ProjectionWriter(redis);
    await w.write([{ symbol: s, ob: { set: book(10), del: [] } }]);
    await redis.set(k.flag, 'someone', 'EX', 30);
    const res = await w.write([{ symbol: s, ob: { set: book(11), del: [] } }]);
    expect(res.obWritten[s]).toBe(false);
    expect(await redis.hgetall(k.ob)).toEqual({ ...book(10), status: 'resyncing' });
    await redis.del(k.flag);
    expect((await w.write([{ symbol: s, ob: { set: book(12), del: [] } }])).obWritten[s]).toBe(true);
    expect(await redis.hgetall(k.ob)).toEqual(book(12));
  });

  it('a write without last_update_id (cold start, no book) over a stored book only sets status=resyncing', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const w = new ProjectionWriter(redis);
    await w.write([{ symbol: s, ob: { set: book(40), del: [] } }]);
    const res = await w.write([{ symbol: s, ob: { set: { status: 'live', bid1_p: 'x' }, del: ['bid2_p', 'last_update_id'] } }]);
    expect(res.obWritten[s]).toBe(false);
    expect(await redis.hgetall(k.ob)).toEqual({ ...book(40), status: 'resyncing' });
  });

  it('a malformed last_update_id is a clear, non-retryable error, not a silent write', async () => {
    const s = uniqueSymbol();
    const w = new ProjectionWriter(redis);
    await expect(w.write([{ symbol: s, ob: { set: { ...book(1), last_update_id: '12x' }, del: [] } }])).rejects.toMatchObject({
      name: 'ProjectionWriteError',
      retryable: false,
    });
    expect(await redis.exists(symbolKeys(s).ob)).toBe(0);
  });
});
