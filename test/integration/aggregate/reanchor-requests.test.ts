import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DepthEvent, DepthSnapshotEvent } from '../../../src/core/events.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { REANCHOR_REQUESTS_STREAM } from '../../../src/redis/keys.js';
import { AggregatorPipeline } from '../../../src/services/aggregate-pipeline.js';
import { closeRedis, connectSharedRedis, uniqueSymbol } from '../../support/servers.js';

/**
 * While a book waits for its snapshot the aggregator asks again every reanchorRequestIntervalMs
 * ('still_resyncing'), since a request can be lost. A book that went live meanwhile must not be asked for:
 * a needless re-anchor swaps the book in Redis (readers see it resyncing) and spends REST weight.
 * Real redis-server, the pipeline's wall clock driven by the test.
 */

let redis: RedisClient;

beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

async function requestsFor(symbol: string): Promise<string[]> {
  const entries = await redis.xrange(REANCHOR_REQUESTS_STREAM, '-', '+');
  const out: string[] = [];
  for (const [, fields] of entries) {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
    if (f.get('symbol') === symbol) out.push(f.get('reason') ?? '');
  }
  return out;
}

describe('re-anchor requests', () => {
  const setup = (): { sym: string; p: AggregatorPipeline; clock: { ms: number }; diff: (id: number) => DepthEvent; snapshot: (id: number) => DepthSnapshotEvent } => {
    const sym = uniqueSymbol('REQ');
    const clock = { ms: 1_800_000_000_000 };
    const p = new AggregatorPipeline({ redis, writer: new ProjectionWriter(redis), reanchorRequestIntervalMs: 5000, now: () => clock.ms });
    const diff = (id: number): DepthEvent => ({
      type: 'depth', symbol: sym, event_ts: clock.ms * 1000, source: 'sbe', first_update_id: id, final_update_id: id, bids: [['100.00', String(id)]], asks: [],
    });
    const snapshot = (id: number): DepthSnapshotEvent => ({
      type: 'depthSnapshot', symbol: sym, event_ts: clock.ms * 1000, source: 'rest', last_update_id: id, bids: [['100.00', '1']], asks: [['100.10', '1']],
    });
    return { sym, p, clock, diff, snapshot };
  };

  it('does not ask again for a book that went live after it was seen resyncing', async () => {
    const { sym, p, clock, diff, snapshot } = setup();
    await p.ingestEvents([diff(101)]);
    await p.sendReanchorRequests();
    expect(await requestsFor(sym)).toEqual(['no-book']);
    // Looked at again while the snapshot is on its way: still resyncing, inside the interval.
    clock.ms += 100;
    await p.ingestEvents([diff(102)]);
    await p.sendReanchorRequests();
    // The snapshot arrives; the buffered diffs connect and the book is live.
    await p.ingestEvents([snapshot(100)]);
    await p.flush();
    expect(p.market.get(sym)?.status).toBe('live');
    clock.ms += 5_000;
    await p.ingestEvents([diff(103)]);
    await p.sendReanchorRequests();
    expect(await requestsFor(sym)).toEqual(['no-book']);
  });

  it('still asks again, every interval, while the book stays resyncing', async () => {
    const { sym, p, clock, diff } = setup();
    await p.ingestEvents([diff(101)]);
    await p.sendReanchorRequests();
    clock.ms += 100;
    await p.sendReanchorRequests();
    expect(await requestsFor(sym)).toEqual(['no-book']);
    clock.ms += 5_000;
    await p.sendReanchorRequests();
    expect(await requestsFor(sym)).toEqual(['no-book', 'still_resyncing']);
    clock.ms += 5_000;
    await p.sendReanchorRequests();
    expect(await requestsFor(sym)).toEqual(['no-book', 'still_resyncing', 'still_resyncing']);
  });

  it('sends one request when the timer looks while the batch path is still sending its request', async () => {
    const { sym, p, diff } = setup();
    // The batch path applies the diff (no book yet: a request is wanted) and sends; the timer's calls come
    // while that XADD is on its way, as they did at every cold start of `btcpipe up` (two 'no-book' 1 ms apart).
    let batchDone = false;
    const batch = p.ingestEvents([diff(101)]).then(() => (batchDone = true));
    const timer: Promise<void>[] = [];
    while (!batchDone) {
      timer.push(p.sendReanchorRequests());
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([batch, ...timer]);
    expect(timer.length).toBeGreaterThan(1);
    expect(await requestsFor(sym)).toEqual(['no-book']);
    expect(p.counters().reanchor_requests).toBe(1);
  });

  it('asks again at the next call, not an interval later, when a request could not be sent', async () => {
    const sym = uniqueSymbol('REQ');
    const clock = { ms: 1_800_000_000_000 };
    // The real client, with its XADD refused while `down` holds (as when Redis drops the connection).
    let down = true;
    const flaky = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'xadd' && down) return () => Promise.reject(new Error('Connection is closed.'));
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const p = new AggregatorPipeline({ redis: flaky, writer: new ProjectionWriter(redis), reanchorRequestIntervalMs: 5000, now: () => clock.ms });
    await p.ingestEvents([{ type: 'depth', symbol: sym, event_ts: clock.ms * 1000, source: 'sbe', first_update_id: 7, final_update_id: 7, bids: [['1.00', '1']], asks: [] }]);
    expect(p.counters()).toMatchObject({ reanchor_requests: 0, reanchor_request_errors: 1 });
    down = false;
    clock.ms += 10;
    await p.sendReanchorRequests();
    expect(await requestsFor(sym)).toEqual(['no-book']);
    expect(p.counters()).toMatchObject({ reanchor_requests: 1, reanchor_request_errors: 1 });
  });

  it('sends one request when two callers (the batch path and the timer) look at the same moment', async () => {
    const { sym, p, diff } = setup();
    await p.ingestEvents([diff(101)]);
    await Promise.all([p.sendReanchorRequests(), p.sendReanchorRequests()]);
    expect(await requestsFor(sym)).toEqual(['no-book']);
    expect(p.counters().reanchor_requests).toBe(1);
  });
});
