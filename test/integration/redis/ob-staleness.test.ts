import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { markObStaleIfOld } from '../../../src/redis/ob-staleness.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { resolveConfig } from '../../../src/ops/config.js';
import { createLogger } from '../../../src/ops/logger.js';
import { RestIngestRuntime } from '../../../src/services/ingest-rest-runtime.js';
import { closeRedis, connectSharedRedis, uniqueSymbol } from '../../support/servers.js';

/**
 * A killed aggregator cannot mark its own book stale: the REST mode's watcher must, atomically and only
 * for a live book whose newest event is older than stale_after_seconds. Real redis-server.
 */

let redis: RedisClient;

beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

async function writeOb(symbol: string, id: number, tsUs: number): Promise<void> {
  await new ProjectionWriter(redis).write([
    { symbol, ob: { set: { status: 'live', ts_us: String(tsUs), last_update_id: String(id), best_bid: '1', best_ask: '2' }, del: [] } },
  ]);
}

describe('marking a frozen live book stale from outside the aggregator', () => {
  it('marks only a live book older than the bound; a fresh aggregator write makes it live again', async () => {
    const sym = uniqueSymbol('FROZEN');
    const key = symbolKeys(sym).ob;
    const now = Date.now();
    expect(await markObStaleIfOld(redis, sym, now, 2000)).toBe(false); // no book at all
    await writeOb(sym, 10, (now - 1500) * 1000);
    expect(await markObStaleIfOld(redis, sym, now, 2000)).toBe(false);
    expect(await redis.hget(key, 'status')).toBe('live');
    expect(await markObStaleIfOld(redis, sym, now + 600, 2000)).toBe(true);
    expect(await redis.hmget(key, 'status', 'last_update_id', 'best_bid')).toEqual(['stale', '10', '1']);
    expect(await markObStaleIfOld(redis, sym, now + 600, 2000)).toBe(false); // already not live
    await writeOb(sym, 11, (now + 700) * 1000);
    expect(await redis.hget(key, 'status')).toBe('live');
    await redis.hset(key, 'status', 'resyncing');
    expect(await markObStaleIfOld(redis, sym, now + 60_000, 2000)).toBe(false);
    expect(await redis.hget(key, 'status')).toBe('resyncing');
  });

  it('the REST runtime marks the books of its symbols, counted in its metric', async () => {
    const a = uniqueSymbol('RESTA');
    const b = uniqueSymbol('RESTB');
    const now = Date.now();
    await writeOb(a, 5, (now - 10_000) * 1000);
    await writeOb(b, 5, now * 1000);
    const url = new URL(inject('redisUrl'));
    const config = resolveConfig(
      {
        binance: { symbols: [a, b], rest_base_url: 'http://127.0.0.1:9' },
        redis: { host: url.hostname, port: Number(url.port) },
        processing: { stale_after_seconds: 2 },
        lake: { backend: 'folder', root: mkdtempSync(join(tmpdir(), 'btcpipe-stale-')) },
        logging: { level: 'error' },
      },
      'test',
      { mode: 'rest', env: {} },
    );
    const registry = new Registry();
    const runtime = new RestIngestRuntime({ config, logger: createLogger({ service: 'stale-test', level: 'error' }), registry });
    try {
      await runtime.connect(5000);
      expect(await runtime.markStaleBooks()).toBe(1);
      expect(await redis.hget(symbolKeys(a).ob, 'status')).toBe('stale');
      expect(await redis.hget(symbolKeys(b).ob, 'status')).toBe('live');
      expect(await registry.getSingleMetricAsString('ingestor_rest_stale_books_marked_total')).toContain(`symbol="${a}"} 1`);
    } finally {
      await runtime.close();
    }
  });
});
