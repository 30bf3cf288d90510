import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { REANCHOR_DONE_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { AtomicReanchor, type ReanchorState } from '../../../src/redis/reanchor.js';
import { readReanchorDone } from '../../../src/redis/streams.js';
import { buildStagingState } from '../../../src/core/staging.js';
import { uniqueSymbol } from '../../support/servers.js';
import { connect, generationState, sleep } from './helpers.js';

let redis: RedisClient;
beforeAll(async () => {
  redis = await connect(inject('redisUrl'));
});
afterAll(() => redis.quit());

async function seedLive(symbol: string, gen: number): Promise<void> {
  const k = symbolKeys(symbol);
  const s = generationState(gen);
  await redis.multi().hset(k.ob, s.ob).hset(k.tr1s, s.tr1s).expire(k.tr1s, 50).hset(k.tr5s, s.tr5s).hset(k.feat, s.feat!).exec();
}

async function stagingLeft(symbol: string): Promise<string[]> {
  const k = symbolKeys(symbol);
  const names = [k.obNew, k.tr1sNew, k.tr5sNew, k.featNew, k.flag];
  const exists = await Promise.all(names.map((n) => redis.exists(n)));
  const snaps = await redis.keys(`${k.snapshotPrefix}:*`);
  return [...names.filter((_, i) => exists[i] === 1), ...snaps];
}

describe('AtomicReanchor', () => {
  it('swaps the new state in, restores TTLs, releases the flag and announces the snapshot', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    await seedLive(s, 1);
    const lastDone = (await redis.xrevrange(REANCHOR_DONE_STREAM, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
    const ra = new AtomicReanchor(redis);
    const next = generationState(2);
    const r = await ra.run(s, async () => next);
    expect(r).toMatchObject({ status: 'ok', symbol: s, lastUpdateId: 1002 });
    expect(await redis.hgetall(k.ob)).toEqual(next.ob);
    expect(await redis.hgetall(k.tr1s)).toEqual(next.tr1s);
    expect(await redis.hgetall(k.tr5s)).toEqual(next.tr5s);
    expect(await redis.hgetall(k.feat)).toEqual(next.feat);
    expect(await redis.ttl(k.ob)).toBe(-1);
    expect(await redis.ttl(k.tr1s)).toBeGreaterThan(290);
    expect(await redis.ttl(k.tr5s)).toBeGreaterThan(290);
    expect(await redis.ttl(k.feat)).toBeGreaterThan(110);
    expect(await redis.ttl(k.feat)).toBeLessThanOrEqual(120);
    expect(await redis.exists(k.flag, k.obNew, k.tr1sNew, k.tr5sNew, k.featNew)).toBe(0);

    const done = (await readReanchorDone(redis, lastDone, 0, 1000)).filter((d) => d.symbol === s);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ lastUpdateId: 1002, snapshot: next.snapshot });
    if (r.status === 'ok') expect(done[0].snapshotKey).toBe(r.snapshotKey);
    expect(ra.stats()).toMatchObject({ total: 1, succeeded: 1, failed: 0, active: 0 });
  });

  it('creates live keys when none existed and keeps the live feat when no feat is given', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    await redis.hset(k.feat, { keep: 'me' });
    const { feat: _feat, ...noFeat } = generationState(3);
    const r = await new AtomicReanchor(redis).run(s, async () => noFeat as ReanchorState);
    expect(r.status).toBe('ok');
    expect(await redis.hgetall(k.ob)).toEqual(noFeat.ob);
    expect(await redis.hgetall(k.feat)).toEqual({ keep: 'me' });
  });

  it('holds the flag as a lease: renewed while a fetch outlasts it, so the swap still succeeds', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const ra = new AtomicReanchor(redis, { leaseMs: 1000 });
    let maxPttl = 0;
    const r = await ra.run(s, async () => {
      const until = Date.now() + 3000; // three leases: only renewals keep the flag
      while (Date.now() < until) {
        maxPttl = Math.max(maxPttl, await redis.pttl(k.flag));
        await sleep(50);
      }
      return generationState(3);
    });
    expect(r.status).toBe('ok');
    expect(maxPttl).toBeGreaterThan(0);
    expect(maxPttl).toBeLessThanOrEqual(1000);
    expect(await redis.exists(k.flag)).toBe(0);
  });

  it('skips a concurrent second re-anchor while the first holds the flag', async () => {
    const s = uniqueSymbol();
    const ra1 = new AtomicReanchor(redis, { ownerPrefix: 'one' });
    const ra2 = new AtomicReanchor(redis, { ownerPrefix: 'two' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = ra1.run(s, async () => {
      await gate;
      return generationState(4);
    });
    await sleep(50);
    const second = await ra2.run(s, async () => generationState(5));
    expect(second).toMatchObject({ status: 'skipped' });
    if (second.status === 'skipped') {
      expect(second.heldBy).toMatch(/^one:/);
      // What is left of the holder's lease, so a caller can retry when a dead holder's flag is gone.
      expect(second.heldForMs).toBeGreaterThan(0);
      expect(second.heldForMs).toBeLessThanOrEqual(15_000);
    }
    expect(ra1.stats().active).toBe(1);
    release();
    expect((await first).status).toBe('ok');
    expect(await redis.hget(symbolKeys(s).ob, 'gen')).toBe('4');
    expect(ra2.stats().skipped).toBe(1);
  });

  it('rate-limits re-anchors of one symbol, not of others', async () => {
    const [s, t] = [uniqueSymbol(), uniqueSymbol()];
    const ra = new AtomicReanchor(redis, { minIntervalMs: 60_000 });
    expect((await ra.run(s, async () => generationState(1))).status).toBe('ok');
    const again = await ra.run(s, async () => generationState(2));
    expect(again.status).toBe('rate_limited');
    if (again.status === 'rate_limited') expect(again.retryInMs).toBeGreaterThan(50_000);
    expect((await ra.run(t, async () => generationState(2))).status).toBe('ok');
    expect(await redis.hget(symbolKeys(s).ob, 'gen')).toBe('1');
    expect(ra.stats()).toMatchObject({ total: 3, succeeded: 2, rateLimited: 1 });
  });

  it('a failing fetch leaves live keys untouched, removes staging keys and releases the flag', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    await seedLive(s, 7);
    const before = await redis.hgetall(k.ob);
    const errors: string[] = [];
    const ra = new AtomicReanchor(redis, {
      logger: { info() {}, warn() {}, error: (_o, msg) => errors.push(msg) },
    });
    const r = await ra.run(s, async () => {
      throw new Error('REST 503');
    });
    expect(r).toMatchObject({ status: 'failed', cleanedUp: true });
    if (r.status === 'failed') expect(r.error.message).toContain('REST 503');
    expect(await redis.hgetall(k.ob)).toEqual(before);
    expect(await stagingLeft(s)).toEqual([]);
    expect(errors).toContain('re-anchor failed');
    expect(ra.stats()).toMatchObject({ failed: 1, active: 0 });
  });

  it('a swap refused because the flag was taken over removes our staging keys and leaves live keys', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    await seedLive(s, 8);
    const ra = new AtomicReanchor(redis);
    const r = await ra.run(s, async () => {
      // Someone else's flag after ours expired: our staging write must not happen.
      await redis.set(k.flag, 'intruder');
      return generationState(9);
    });
    expect(r.status).toBe('failed');
    expect(await redis.hget(k.ob, 'gen')).toBe('8');
    expect(await redis.get(k.flag)).toBe('intruder');
    expect(await redis.exists(k.obNew, k.tr1sNew, k.tr5sNew, k.featNew)).toBe(0);
    await redis.del(k.flag);
  });

  it('rejects an invalid fetched state (empty hash, bad snapshot) without touching live keys', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    await seedLive(s, 10);
    const ra = new AtomicReanchor(redis, { minIntervalMs: 0 });
    const empty = await ra.run(s, async () => ({ ...generationState(11), tr1s: {} }));
    expect(empty.status).toBe('failed');
    if (empty.status === 'failed') expect(empty.error.message).toMatch(/tr1s/);
    const badSnap = await ra.run(s, async () => ({
      ...generationState(11),
      snapshot: { lastUpdateId: 1.5, bids: [], asks: [] },
    }));
    expect(badSnap.status).toBe('failed');
    expect(await redis.hget(k.ob, 'gen')).toBe('10');
    expect(await stagingLeft(s)).toEqual([]);
  });

  it('aborts a fetch that exceeds fetchTimeoutMs', async () => {
    const s = uniqueSymbol();
    let aborted = false;
    const ra = new AtomicReanchor(redis, { fetchTimeoutMs: 100 });
    const r = await ra.run(s, (signal) =>
      new Promise<ReanchorState>((resolve) => {
        signal.addEventListener('abort', () => (aborted = true));
        setTimeout(() => resolve(generationState(1)), 1000);
      }),
    );
    expect(r.status).toBe('failed');
    expect(aborted).toBe(true);
    expect(await stagingLeft(s)).toEqual([]);
  });

  it('swaps a 5000-level full-depth snapshot', async () => {
    const s = uniqueSymbol();
    const bids = Array.from({ length: 5000 }, (_, i) => [`${50_000 - i}.01`, '0.5'] as [string, string]);
    const asks = Array.from({ length: 5000 }, (_, i) => [`${50_001 + i}.01`, '0.25'] as [string, string]);
    const state = { ...generationState(1), snapshot: { lastUpdateId: 123456789, bids, asks } };
    const r = await new AtomicReanchor(redis).run(s, async () => state);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    const json = await redis.get(r.snapshotKey);
    expect(JSON.parse(json!)).toEqual(state.snapshot);
    expect(await redis.ttl(r.snapshotKey)).toBeGreaterThan(590);
  });

  it('swaps in the hashes the core builds from a REST depth snapshot', async () => {
    const s = uniqueSymbol();
    const depth = {
      lastUpdateId: 777,
      bids: [['100.10', '1.5'], ['100.00', '2']] as [string, string][],
      asks: [['100.20', '0.5'], ['100.30', '3']] as [string, string][],
    };
    const staged = buildStagingState(s, depth, [], Date.now());
    const r = await new AtomicReanchor(redis).run(s, async () => ({
      ob: staged.ob,
      tr1s: staged.tr1s,
      tr5s: staged.tr5s,
      feat: staged.feat,
      snapshot: depth,
    }));
    expect(r).toMatchObject({ status: 'ok', lastUpdateId: 777 });
    const ob = await redis.hgetall(symbolKeys(s).ob);
    expect(ob).toEqual(staged.ob);
    expect(Number(ob.bid1_p)).toBe(100.1);
  });
});
