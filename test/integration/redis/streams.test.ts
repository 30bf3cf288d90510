import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { REANCHOR_DONE_STREAM, REANCHOR_REQUESTS_STREAM } from '../../../src/redis/keys.js';
import { AtomicReanchor } from '../../../src/redis/reanchor.js';
import { readReanchorDone, readReanchorRequests, requestReanchor } from '../../../src/redis/streams.js';
import { uniqueSymbol } from '../../support/servers.js';
import { connect, generationState, sleep } from './helpers.js';

let redis: RedisClient;
let blocking: RedisClient;
beforeAll(async () => {
  [redis, blocking] = await Promise.all([connect(inject('redisUrl')), connect(inject('redisUrl'), { blocking: true })]);
});
afterAll(async () => {
  await Promise.all([redis.quit(), blocking.quit()]);
});

async function lastIdOf(stream: string): Promise<string> {
  return (await redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
}

describe('re-anchor coordination streams', () => {
  it('a blocked request reader wakes up for a new request', async () => {
    const s = uniqueSymbol();
    const from = await lastIdOf(REANCHOR_REQUESTS_STREAM);
    const reading = readReanchorRequests(blocking, from, 5000);
    await sleep(50);
    const id = await requestReanchor(redis, s, 'sequence_gap');
    let got = (await reading).filter((r) => r.symbol === s);
    // Another test's request may have woken the blocked read first; then read on from the same id.
    if (got.length === 0) got = (await readReanchorRequests(redis, from, 0, 1000)).filter((r) => r.symbol === s);
    expect(got).toEqual([{ id, symbol: s, reason: 'sequence_gap', ts: expect.any(Number) }]);
    expect(Math.abs(got[0].ts - Date.now())).toBeLessThan(60_000);
  });

  it('a request reader returns an empty list when nothing arrives within the block time', async () => {
    const from = await lastIdOf(REANCHOR_REQUESTS_STREAM);
    // Other test files may append concurrently; only our own symbol matters.
    const s = uniqueSymbol();
    expect((await readReanchorRequests(blocking, from, 100)).filter((r) => r.symbol === s)).toEqual([]);
  });

  it('the done reader loads the snapshot, and reports null once it is gone', async () => {
    const s = uniqueSymbol();
    const from = await lastIdOf(REANCHOR_DONE_STREAM);
    const reading = readReanchorDone(blocking, from, 5000);
    const state = generationState(42);
    const r = await new AtomicReanchor(redis).run(s, async () => state);
    expect(r.status).toBe('ok');
    let got = (await reading).filter((d) => d.symbol === s);
    // The blocked read may have been woken by another file's swap; then read on from there.
    if (got.length === 0) got = (await readReanchorDone(redis, from, 0, 1000)).filter((d) => d.symbol === s);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ lastUpdateId: 1042, snapshot: state.snapshot });
    await redis.del(got[0].snapshotKey);
    const again = (await readReanchorDone(redis, from, 0, 1000)).filter((d) => d.symbol === s);
    expect(again[0].snapshot).toBeNull();
  });

  it('rejects a request for an invalid symbol', async () => {
    await expect(requestReanchor(redis, 'bad symbol', 'x')).rejects.toThrow(/invalid symbol/);
  });
});
