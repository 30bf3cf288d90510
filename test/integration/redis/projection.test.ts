import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriteError, ProjectionWriter } from '../../../src/redis/projection.js';
import { readMinuteStats } from '../../../src/redis/streams.js';
import { uniqueSymbol } from '../../support/servers.js';
import { connect } from './helpers.js';

let redis: RedisClient;
beforeAll(async () => {
  redis = await connect(inject('redisUrl'));
});
afterAll(() => redis.quit());

describe('ProjectionWriter', () => {
  it('writes ob, tr, feat and minute stats of several symbols in one batch with TTLs', async () => {
    const [a, b] = [uniqueSymbol(), uniqueSymbol()];
    const w = new ProjectionWriter(redis);
    const res = await w.write([
      {
        symbol: a,
        ob: { set: { best_bid: '100.10', best_ask: '100.20', bid1_p: '100.10' }, del: [] },
        tr1s: { count: '3', volume: '0.001' },
        tr5s: { count: '9', volume: '0.003', price_momentum: '0.1' },
        feat: { mid_price: '100.15' },
        minutes: [{ minuteStartMs: 1_700_000_040_000, count: 9, volume: '0.00300000' }],
      },
      { symbol: b, ob: { set: { best_bid: '7' }, del: [] } },
    ]);
    expect(res.obWritten).toEqual({ [a]: true, [b]: true });
    const k = symbolKeys(a);
    expect(await redis.hgetall(k.ob)).toEqual({ best_bid: '100.10', best_ask: '100.20', bid1_p: '100.10' });
    expect(await redis.hgetall(k.tr1s)).toEqual({ count: '3', volume: '0.001' });
    expect(await redis.hgetall(k.tr5s)).toMatchObject({ price_momentum: '0.1' });
    expect(await redis.hgetall(k.feat)).toEqual({ mid_price: '100.15' });
    expect(await redis.hgetall(symbolKeys(b).ob)).toEqual({ best_bid: '7' });
    expect(await redis.ttl(k.ob)).toBe(-1);
    expect(await redis.ttl(k.tr1s)).toBeGreaterThan(290);
    expect(await redis.ttl(k.tr5s)).toBeGreaterThan(290);
    const featTtl = await redis.ttl(k.feat);
    expect(featTtl).toBeGreaterThan(110);
    expect(featTtl).toBeLessThanOrEqual(120);
    expect(await readMinuteStats(redis, a, [1_700_000_040_000, 1_700_000_100_000])).toEqual([
      { minuteStartMs: 1_700_000_040_000, count: 9, volume: '0.00300000' },
    ]);
    expect(w.stats()).toMatchObject({ operations: 1, errors: 0 });
    expect(w.stats().lastLatencyMs).toBeGreaterThan(0);
  });

  it('sends one command per batch: one atomic script call, whatever the number of symbols', async () => {
    const own = await connect(inject('redisUrl'));
    try {
      const sent: string[] = [];
      const send = own.sendCommand.bind(own);
      own.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
        sent.push(cmd.name);
        return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
      }) as typeof own.sendCommand;
      const w = new ProjectionWriter(own);
      const full = (symbol: string) => ({
        symbol,
        ob: { set: { best_bid: '1.5', last_update_id: '7' }, del: ['ask1_p'] },
        tr1s: { count: '1' },
        tr5s: { count: '2' },
        feat: { mid_price: '1.6' },
        minutes: [{ minuteStartMs: 1_700_000_040_000, count: 2, volume: '0.5' }],
      });
      const [a, b] = [uniqueSymbol(), uniqueSymbol()];
      await w.write([full(a)]); // loads the script on this connection
      sent.length = 0;
      await w.write([full(a)]);
      expect(sent).toEqual(['evalsha']);
      await w.write([full(a), full(b)]); // loads the batch script
      sent.length = 0;
      await w.write([full(a), full(b)]);
      expect(sent).toEqual(['evalsha']);
      for (const s of [a, b]) {
        const k = symbolKeys(s);
        expect(await redis.hgetall(k.ob)).toEqual({ best_bid: '1.5', last_update_id: '7' });
        expect(await redis.hgetall(k.tr1s)).toEqual({ count: '1' });
        expect(await redis.hgetall(k.tr5s)).toEqual({ count: '2' });
        expect(await redis.hgetall(k.feat)).toEqual({ mid_price: '1.6' });
        expect(await redis.hgetall(k.minutes)).toEqual({ '1700000040000': '2|0.5' });
        expect(await redis.ttl(k.feat)).toBeGreaterThan(0);
        expect(await redis.ttl(k.minutes)).toBeGreaterThan(0);
      }
    } finally {
      await own.quit();
    }
  });

  it('removes stale level fields and replaces window hashes whole', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const w = new ProjectionWriter(redis);
    await w.write([
      { symbol: s, ob: { set: { bid1_p: '1', bid2_p: '2', bid3_p: '3' }, del: [] }, tr1s: { count: '2', vwap: '5', last_ts_us: '9' } },
    ]);
    await w.write([{ symbol: s, ob: { set: { bid1_p: '1.5' }, del: ['bid2_p', 'bid3_p'] }, tr1s: { count: '0' } }]);
    expect(await redis.hgetall(k.ob)).toEqual({ bid1_p: '1.5' });
    expect(await redis.hgetall(k.tr1s)).toEqual({ count: '0' });
  });

  it('never writes ob while the re-anchor flag exists (only marks it resyncing), but still writes tr and feat', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const w = new ProjectionWriter(redis);
    await w.write([{ symbol: s, ob: { set: { best_bid: 'old' }, del: [] } }]);
    await redis.set(k.flag, 'someone', 'EX', 30);
    const res = await w.write([
      { symbol: s, ob: { set: { best_bid: 'new', x: '1' }, del: ['best_bid'] }, tr1s: { count: '1' }, feat: { f: '1' } },
    ]);
    expect(res.obWritten[s]).toBe(false);
    // Nothing of the write is applied; the frozen book is no longer claimed live.
    expect(await redis.hgetall(k.ob)).toEqual({ best_bid: 'old', status: 'resyncing' });
    expect(await redis.hgetall(k.tr1s)).toEqual({ count: '1' });
    expect(await redis.hgetall(k.feat)).toEqual({ f: '1' });
    expect(w.stats().obSkipped).toBe(1);
    await redis.del(k.flag);
    expect((await w.write([{ symbol: s, ob: { set: { best_bid: 'new' }, del: [] } }])).obWritten[s]).toBe(true);
    expect(await redis.hget(k.ob, 'best_bid')).toBe('new');
  });

  it('prunes per-minute stats older than the retention', async () => {
    const s = uniqueSymbol();
    const w = new ProjectionWriter(redis, { minutesRetention: 10 });
    const base = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);
    for (let i = 0; i < 40; i += 4) {
      await w.write([
        {
          symbol: s,
          minutes: [0, 1, 2, 3].map((j) => ({ minuteStartMs: base + (i + j) * 60_000, count: i + j, volume: '1' })),
        },
      ]);
    }
    const fields = (await redis.hkeys(symbolKeys(s).minutes)).map(Number);
    expect(Math.max(...fields)).toBe(base + 39 * 60_000);
    expect(fields.length).toBeLessThanOrEqual(10 + 5 + 4);
    expect(Math.min(...fields)).toBeGreaterThanOrEqual(base + (39 - 10 - 5 - 4) * 60_000);
  });

  it('stores every hash exactly as given, whatever its names and values (each travels as one MessagePack argument)', async () => {
    const w = new ProjectionWriter(redis);
    // Names and values of any characters: empty, unicode, spaces, CR/LF, NUL, control bytes, long.
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', ' ', '\r', '\n', '\u0000', 'é', '€', '𝄞', '\u001e', '\u001f', '\u00ff'), maxLength: 12 });
    const hash = fc.dictionary(text, fc.oneof(text, fc.string({ minLength: 2000, maxLength: 70_000 })), { maxKeys: 30 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ ob: hash, del: fc.array(text, { maxLength: 4 }), tr1s: hash }), { minLength: 1, maxLength: 3 }), async (parts) => {
        const batch = parts.map((p) => ({ symbol: uniqueSymbol(), ob: { set: p.ob, del: p.del }, tr1s: p.tr1s }));
        // A stored field the write deletes (unless it also sets it: HDEL runs first).
        for (const b of batch) for (const f of b.ob.del) await redis.hset(symbolKeys(b.symbol).ob, f, 'old');
        await w.write(batch);
        for (const b of batch) {
          const k = symbolKeys(b.symbol);
          const kept = Object.fromEntries(b.ob.del.filter((f) => f in b.ob.set).map((f) => [f, b.ob.set[f]]));
          expect(await redis.hgetall(k.ob)).toEqual({ ...b.ob.set, ...kept });
          expect(await redis.hgetall(k.tr1s)).toEqual(b.tr1s);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("writes a hash whose arguments pass Lua's unpack() limit (~8,000) whole: HSET and HDEL go in chunks", async () => {
    const s = uniqueSymbol();
    const set = Object.fromEntries(Array.from({ length: 4_500 }, (_, i) => [`f${i}`, `v${i}`]));
    await redis.hset(symbolKeys(s).ob, Object.fromEntries(Array.from({ length: 4_100 }, (_, i) => [`old${i}`, 'x'])));
    const del = Array.from({ length: 4_100 }, (_, i) => `old${i}`);
    await new ProjectionWriter(redis).write([{ symbol: s, ob: { set, del }, tr5s: set }]);
    expect(await redis.hgetall(symbolKeys(s).ob)).toEqual(set);
    expect(await redis.hgetall(symbolKeys(s).tr5s)).toEqual(set);
  });

  it('rejects bad input with a typed, non-retryable error and counts it', async () => {
    const w = new ProjectionWriter(redis);
    const bad = w.write([{ symbol: 'bad symbol', tr1s: { a: '1' } }]);
    await expect(bad).rejects.toBeInstanceOf(ProjectionWriteError);
    await expect(bad).rejects.toMatchObject({ retryable: false });
    await expect(
      w.write([{ symbol: uniqueSymbol(), tr1s: { a: 1 as unknown as string } }]),
    ).rejects.toMatchObject({ retryable: false });
    expect(w.stats().errors).toBe(2);
  });

  it("answers each symbol's own outcome, in order, from one batch call, and fences one symbol without the others", async () => {
    const [ok, flagged, older, noOb, fencedSym] = [uniqueSymbol(), uniqueSymbol(), uniqueSymbol(), uniqueSymbol(), uniqueSymbol()];
    await redis.set(symbolKeys(flagged).flag, 'someone');
    await redis.hset(symbolKeys(older).ob, { last_update_id: '50', status: 'live' });
    await redis.set(symbolKeys(fencedSym).fence, '9');
    const w = new ProjectionWriter(redis, { fencing: { epochOf: () => 3 } });
    const part = (symbol: string, id: string) => ({ symbol, ob: { set: { best_bid: '2', last_update_id: id, status: 'live' }, del: [] }, tr1s: { count: id } });
    const r = await w.write([part(ok, '10'), part(flagged, '10'), part(older, '40'), { symbol: noOb, tr5s: { count: '4' } }, part(fencedSym, '10')]);
    expect(r.obOutcome).toEqual({ [ok]: 'written', [flagged]: 'reanchor', [older]: 'older', [fencedSym]: 'fenced' });
    expect(r.fenced).toEqual([fencedSym]);
    expect(await redis.hgetall(symbolKeys(ok).ob)).toEqual({ best_bid: '2', last_update_id: '10', status: 'live' });
    expect(await redis.hgetall(symbolKeys(older).ob)).toEqual({ last_update_id: '50', status: 'resyncing' });
    // The parts other than ob are written for a flagged or older book, and nothing at all for a fenced symbol.
    for (const s of [ok, flagged, older]) expect(await redis.hget(symbolKeys(s).tr1s, 'count')).toBe(s === older ? '40' : '10');
    expect(await redis.hget(symbolKeys(noOb).tr5s, 'count')).toBe('4');
    expect(await redis.exists(symbolKeys(fencedSym).tr1s, symbolKeys(fencedSym).ob)).toBe(0);
  });

  it('treats a type clash inside a batch as a command error', async () => {
    const [good, bad] = [uniqueSymbol(), uniqueSymbol()];
    await redis.set(symbolKeys(bad).ob, 'not a hash');
    const w = new ProjectionWriter(redis);
    await expect(
      w.write([
        { symbol: good, ob: { set: { a: '1' }, del: [] } },
        { symbol: bad, ob: { set: { a: '1' }, del: [] } },
      ]),
    ).rejects.toMatchObject({ name: 'ProjectionWriteError', retryable: false });
  });

  it('treats a type clash inside the script as a command error', async () => {
    const s = uniqueSymbol();
    await redis.set(symbolKeys(s).ob, 'not a hash');
    const w = new ProjectionWriter(redis);
    await expect(w.write([{ symbol: s, ob: { set: { a: '1' }, del: [] } }])).rejects.toMatchObject({
      name: 'ProjectionWriteError',
      retryable: false,
    });
  });
});
