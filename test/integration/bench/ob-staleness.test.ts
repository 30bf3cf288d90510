import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startOutsideSampler } from '../../../src/bench/ob-staleness.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { closeRedis, connectSharedRedis, sharedRedisUrl, uniqueSymbol } from '../../support/servers.js';
import { waitFor } from '../../support/wait-for.js';

describe('bench e2e: the outside reader of ob:{SYM}', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connectSharedRedis();
  });
  afterAll(async () => {
    await closeRedis(redis);
  });

  it('reports wall clock − ts_us of every key it reads, and counts books that are not live or missing', async () => {
    const live = `ob:${uniqueSymbol()}`;
    const resyncing = `ob:${uniqueSymbol()}`;
    const missing = `ob:${uniqueSymbol()}`;
    const ageMs = 400;
    const tsUs = (Date.now() - ageMs) * 1000;
    await redis.hset(live, { status: 'live', ts_us: String(tsUs) });
    await redis.hset(resyncing, { status: 'resyncing', ts_us: String(tsUs) });
    const url = new URL(sharedRedisUrl());
    const sampler = await startOutsideSampler({ host: url.hostname, port: Number(url.port), keys: [live, resyncing, missing], intervalMs: 5 }, () => redis);
    // The compiled reader runs in a process of its own; from the sources alone it samples here.
    expect(sampler.mode).toBe(existsSync('dist/bench/ob-staleness-process.js') ? 'process' : 'in-process');
    const started = Date.now();
    await waitFor('150 ms of sampling', () => Date.now() - started > 150, 5000, 10);
    const s = await sampler.stop();
    const elapsedMs = Date.now() - tsUs / 1000;
    expect(s.samples).toBeGreaterThanOrEqual(6);
    expect(s.samples % 3).toBe(0);
    expect(s.statuses.live).toBe(s.samples / 3);
    expect(s.statuses.resyncing).toBe(s.samples / 3);
    expect(s.statuses.missing).toBe(s.samples / 3);
    expect(s.notLiveShare).toBeCloseTo(2 / 3, 2);
    // Two keys carry ts_us: every age lies between the written age and the time since it was written.
    expect(s.p50Ms).toBeGreaterThanOrEqual(ageMs);
    expect(s.maxMs).toBeLessThanOrEqual(elapsedMs);
    expect(s.p50Ms).toBeLessThanOrEqual(s.p95Ms);
    expect(s.intervalMs).toBeGreaterThan(0);
    await redis.del(live, resyncing);
  });
  it('cut() closes a phase and goes on sampling: the warm-up and the measured interval come from one reader', async () => {
    const key = `ob:${uniqueSymbol()}`;
    await redis.hset(key, { status: 'resyncing', ts_us: String((Date.now() - 5000) * 1000) });
    const url = new URL(sharedRedisUrl());
    const sampler = await startOutsideSampler({ host: url.hostname, port: Number(url.port), keys: [key], intervalMs: 5 }, () => redis);
    let started = Date.now();
    await waitFor('100 ms of sampling', () => Date.now() - started > 100, 5000, 10);
    const warmup = await sampler.cut();
    // From here on the book is live and 50 ms old; the samples before the cut saw it resyncing and 5 s old.
    await redis.hset(key, { status: 'live', ts_us: String((Date.now() - 50) * 1000) });
    started = Date.now();
    await waitFor('150 ms more of sampling', () => Date.now() - started > 150, 5000, 10);
    const measured = await sampler.stop();
    expect(warmup.samples).toBeGreaterThanOrEqual(5);
    expect(warmup.statuses).toEqual({ resyncing: warmup.samples });
    expect(warmup.p50Ms).toBeGreaterThanOrEqual(5000);
    expect(measured.samples).toBeGreaterThanOrEqual(10);
    // A tick or two may fall between the cut and the write above; the rest of the phase is the live book.
    expect(measured.statuses.live).toBeGreaterThanOrEqual(measured.samples - 3);
    expect(measured.p50Ms).toBeGreaterThanOrEqual(50);
    expect(measured.p50Ms).toBeLessThan(5000);
    expect(measured.intervalMs).toBeGreaterThan(0);
    await redis.del(key);
  });
});
