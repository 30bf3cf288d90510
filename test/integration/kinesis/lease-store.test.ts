import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { RedisLeaseStore } from '../../../src/kinesis/lease-store.js';
import { closeRedis, connectSharedRedis, uniqueSuffix } from '../../support/servers.js';

/** The Lua lease transitions on a real redis-server (the same rules the unit model checks). */

let redis: RedisClient;
beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

function store(): RedisLeaseStore {
  return new RedisLeaseStore(redis, `lease-test-${uniqueSuffix()}`);
}

describe('RedisLeaseStore', () => {
  it('creates leases once, with the start point LATEST means and closed history skipped on a fresh table', async () => {
    const s = store();
    const before = Date.now();
    const n = await s.create(
      [
        { shardId: 'old', parents: [], closed: true },
        { shardId: 'a', parents: [], closed: false },
        { shardId: 'child', parents: ['a'], closed: false },
      ],
      'LATEST',
      true,
    );
    expect(n).toBe(3);
    expect(await s.create([{ shardId: 'a', parents: [], closed: false }], 'LATEST', false)).toBe(0);
    const snap = await s.snapshot('w1', 10_000);
    expect(snap.leases.get('old')).toMatchObject({ finished: true, start: 'SKIPPED' });
    const startMs = Number(/^AT_TIMESTAMP:(\d+)$/.exec(snap.leases.get('a')?.start ?? '')?.[1]);
    expect(startMs).toBeGreaterThan(before - 60_000);
    expect(startMs).toBeLessThanOrEqual(snap.nowMs);
    expect(snap.leases.get('child')).toMatchObject({ start: 'TRIM_HORIZON', parents: ['a'] });
    expect(snap.liveWorkers).toEqual(['w1']);
  });

  it('take, renew, checkpoint, hand-over and finish, each conditional on owner and epoch', async () => {
    const s = store();
    await s.create([{ shardId: 'p', parents: [], closed: false }, { shardId: 'c', parents: ['p'], closed: false }], 'TRIM_HORIZON', true);
    expect(await s.take('c', 'w1', 10_000)).toEqual({ ok: false, reason: 'parents' });
    const t1 = await s.take('p', 'w1', 10_000);
    expect(t1.ok).toBe(true);
    const e1 = t1.ok ? t1.lease.epoch : -1;
    expect(await s.take('p', 'w2', 10_000)).toEqual({ ok: false, reason: 'held' });
    expect(await s.renew('p', 'w1', e1, 10_000)).toEqual({ ok: true, handOver: false });
    expect(await s.renew('p', 'w1', e1 + 1, 10_000)).toEqual({ ok: false, handOver: false });
    expect(await s.checkpoint('p', 'w2', e1, '111')).toBe(false);
    expect(await s.checkpoint('p', 'w1', e1, '111')).toBe(true);

    expect(await s.claim('p', 'w2')).toBe(true);
    expect(await s.renew('p', 'w1', e1, 10_000)).toEqual({ ok: true, handOver: true });
    expect(await s.checkpoint('p', 'w1', e1, null, 'release', 5000)).toBe(true);
    expect(await s.take('p', 'w1', 10_000)).toEqual({ ok: false, reason: 'held' });
    const t2 = await s.take('p', 'w2', 10_000);
    expect(t2.ok && t2.lease).toMatchObject({ owner: 'w2', checkpoint: '111', claim: '' });
    const e2 = t2.ok ? t2.lease.epoch : -1;
    expect(e2).toBeGreaterThan(e1);
    // The old epoch can do nothing any more.
    expect(await s.checkpoint('p', 'w1', e1, '999')).toBe(false);

    expect(await s.checkpoint('p', 'w2', e2, '222', 'finish')).toBe(true);
    const t3 = await s.take('c', 'w1', 10_000);
    expect(t3.ok && t3.lease.epoch).toBeGreaterThan(e2);
    expect(await s.take('p', 'w1', 10_000)).toEqual({ ok: false, reason: 'finished' });
  });

  it('lets anyone take a lease once it lapsed, and the lapsed owner can no longer renew', async () => {
    const s = store();
    await s.create([{ shardId: 'x', parents: [], closed: false }], 'TRIM_HORIZON', true);
    const t1 = await s.take('x', 'w1', 1);
    await new Promise((r) => setTimeout(r, 20));
    const t2 = await s.take('x', 'w2', 10_000);
    expect(t2.ok).toBe(true);
    expect(await s.renew('x', 'w1', t1.ok ? t1.lease.epoch : -1, 10_000)).toEqual({ ok: false, handOver: false });
  });
});
