import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DepthEvent, DepthSnapshotEvent } from '../../../src/core/events.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AggregatorPipeline } from '../../../src/services/aggregate-pipeline.js';
import { closeRedis, connectSharedRedis, uniqueSymbol } from '../../support/servers.js';

/**
 * A book that stops receiving events (venue stall, Kinesis down, a stream not read) must stop saying `live`:
 * after processing.stale_after_seconds without an event the timer writes `status=stale`, and the next event
 * makes it live again. Real redis-server, the pipeline's wall clock driven by the test.
 */

let redis: RedisClient;

beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

describe('a live book with no events goes stale', () => {
  it('writes status=stale after stale_after_seconds, and live again on the next event', async () => {
    const sym = uniqueSymbol('STALE');
    let wallMs = 1_800_000_000_000;
    const p = new AggregatorPipeline({ redis, writer: new ProjectionWriter(redis), staleAfterMs: 2000, now: () => wallMs });
    const snapshot: DepthSnapshotEvent = {
      type: 'depthSnapshot', symbol: sym, event_ts: wallMs * 1000, source: 'rest', last_update_id: 100,
      bids: [['100.00', '1']], asks: [['100.10', '1']],
    };
    const diff = (id: number, tsUs: number): DepthEvent => ({
      type: 'depth', symbol: sym, event_ts: tsUs, source: 'sbe', first_update_id: id, final_update_id: id, bids: [['100.00', String(id)]], asks: [],
    });
    await p.ingestEvents([snapshot, diff(101, wallMs * 1000)]);
    await p.flush();
    const key = symbolKeys(sym).ob;
    expect(await redis.hget(key, 'status')).toBe('live');

    // 1.9 s without an event: still live (the timer finds nothing to change).
    wallMs += 1900;
    p.markFeaturesDue();
    await p.flush();
    expect(await redis.hget(key, 'status')).toBe('live');

    // Past 2 s: the timer alone rewrites the book as stale, with its levels and id unchanged.
    wallMs += 200;
    p.markFeaturesDue();
    expect(p.hasDirty).toBe(true);
    await p.flush();
    expect(await redis.hmget(key, 'status', 'last_update_id', 'bid1_q')).toEqual(['stale', '101', '101']);

    // Events resume: live again.
    await p.ingestEvents([diff(102, wallMs * 1000)]);
    await p.flush();
    expect(await redis.hmget(key, 'status', 'last_update_id')).toEqual(['live', '102']);
  });
});
