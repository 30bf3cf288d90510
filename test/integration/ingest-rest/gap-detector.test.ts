/**
 * The REST mode's gap detector against a real redis-server holding hot-path state as the aggregator writes
 * it: the time check reads ob's clock on its own, far-future event times neither hide a stall nor settle a
 * minute early, and the volume check only compares minutes the trade stream has been consumed past.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Registry } from 'prom-client';
import type { RestKline } from '../../../src/binance/rest-types.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { GapDetector } from '../../../src/services/gap-detector.js';
import { createRestIngestMetrics } from '../../../src/services/ingest-rest-metrics.js';
import { uniqueSymbol } from '../../support/servers.js';
import { connect } from '../redis/helpers.js';
import { captureLogger, metricValue } from './support.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 30, 6, 0, 0);
const FAR_FUTURE_US = Date.UTC(2100, 0, 1) * 1000;

let redis: RedisClient;
beforeAll(async () => {
  redis = await connect(inject('redisUrl'));
});
afterAll(() => redis.quit());

function detector(): { d: GapDetector; registry: Registry; lines: Record<string, unknown>[] } {
  const registry = new Registry();
  const cap = captureLogger();
  const d = new GapDetector({
    criteria: { sequence: true, time: true, volume: true },
    timeGapMs: 5000,
    maxEventSkewMs: 5000,
    metrics: createRestIngestMetrics(registry),
    logger: cap.logger,
  });
  return { d, registry, lines: cap.lines };
}

/** What the aggregator leaves: ob clock, trade-stream clock, per-minute stats. */
async function hotPath(symbol: string, o: { obUs?: number; trUs?: number; minutes?: { m: number; count: number; volume: string }[] }): Promise<void> {
  const k = symbolKeys(symbol);
  if (o.obUs !== undefined) await redis.hset(k.ob, { ts_us: String(o.obUs), status: 'live', last_update_id: '1' });
  if (o.trUs !== undefined) await redis.hset(k.tr1s, { count: '1', last_ts_us: String(o.trUs) });
  if (o.minutes) {
    await new ProjectionWriter(redis).write([
      { symbol, minutes: o.minutes.map((x) => ({ minuteStartMs: T0 + x.m * MIN, count: x.count, volume: x.volume })) },
    ]);
  }
}

function kline(m: number, trades: number, volume: string): RestKline {
  const open = T0 + m * MIN;
  return [open, '1', '1', '1', '1', volume, open + MIN - 1, '1', trades, '0', '0', '0'];
}

describe('gap detector: time criterion', () => {
  it('a frozen ob with a fresh trade stream is a time gap (ob is read on its own)', async () => {
    const { d } = detector();
    const s = uniqueSymbol();
    const now = T0 + 10 * MIN;
    await hotPath(s, { obUs: (now - 30_000) * 1000, trUs: (now - 100) * 1000 });
    const t = await d.checkTime(redis, s, now);
    expect(t.transition).toBe('entered');
    expect(Math.round(t.ageMs ?? 0)).toBe(30_000);
  });

  it('far-future ts: time gap still detected, and no age is ever negative', async () => {
    const { d, registry, lines } = detector();
    const s = uniqueSymbol();
    const now = T0 + 10 * MIN;
    // One bad event dated 2100 moved the hot path's clock; after it nothing changes any more.
    await hotPath(s, { obUs: FAR_FUTURE_US, trUs: FAR_FUTURE_US });
    const first = await d.checkTime(redis, s, now);
    expect(first.ageMs).toBeGreaterThanOrEqual(0);
    expect(first.transition).toBe('fresh');
    const later = await d.checkTime(redis, s, now + 5001);
    expect(later.ageMs).toBeGreaterThanOrEqual(0);
    expect(later.transition).toBe('entered');
    expect(await metricValue(await registry.metrics(), 'ingestor_rest_future_event_times_total', { symbol: s })).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.symbol === s && typeof l.msg === 'string' && l.msg.includes('future'))).toBe(true);
  });

  it('an event time within the skew counts as age 0, not negative', async () => {
    const { d } = detector();
    const s = uniqueSymbol();
    const now = T0 + 10 * MIN;
    await hotPath(s, { obUs: (now + 2000) * 1000 });
    const t = await d.checkTime(redis, s, now);
    expect(t.ageMs).toBe(0);
    expect(t.transition).toBe('fresh');
  });
});

describe('gap detector: volume criterion', () => {
  it('trade stream lag → no false volume gap; the minute is compared once the trade stream passed it', async () => {
    const { d, registry } = detector();
    const s = uniqueSymbol();
    const now = T0 + 3 * MIN + 30_000;
    // Minute 1 is where the aggregator started; of minute 2 the trade stream has delivered only 20 s so far,
    // while depth and bestBidAsk moved ob's clock 30 s past the minute's end.
    await hotPath(s, {
      obUs: now * 1000,
      trUs: (T0 + 2 * MIN + 20_000) * 1000,
      minutes: [
        { m: 1, count: 4, volume: '4' },
        { m: 2, count: 3, volume: '3' },
      ],
    });
    d.addKlines(s, [kline(1, 9, '9'), kline(2, 10, '10')], now);
    const lagging = await d.checkVolume(redis, s, now);
    expect(lagging.mismatches).toEqual([]);
    expect(lagging.checked).toEqual([]);

    // A far-future trade time does not settle the minute either.
    await hotPath(s, { trUs: FAR_FUTURE_US });
    expect((await d.checkVolume(redis, s, now)).checked).toEqual([]);

    // The trade stream catches up: the minute is complete and compared exactly.
    await hotPath(s, { trUs: (T0 + 3 * MIN + 10_000) * 1000, minutes: [{ m: 2, count: 10, volume: '10' }, { m: 3, count: 2, volume: '2' }] });
    const caughtUp = await d.checkVolume(redis, s, now);
    expect(caughtUp.checked.map((c) => [c.minuteStartMs, c.match])).toEqual([[T0 + 2 * MIN, true]]);
    expect(await metricValue(await registry.metrics(), 'ingestor_rest_gaps_detected_total', { symbol: s, criterion: 'volume' })).toBe(0);
  });

  it('a re-anchor that swapped in a REST-built tr:1s (clock ahead of the trade stream) settles no minute early', async () => {
    const { d, registry } = detector();
    const s = uniqueSymbol();
    const now = T0 + 3 * MIN + 30_000;
    // tr:1s came from the REST trades of a swap (newest trade: 25 s ago); the aggregator's trade stream,
    // whose per-minute stats are the only thing it writes for itself, has counted nothing past minute 2.
    await hotPath(s, {
      obUs: now * 1000,
      trUs: (now - 25_000) * 1000,
      minutes: [
        { m: 1, count: 4, volume: '4' },
        { m: 2, count: 3, volume: '3' },
      ],
    });
    d.addKlines(s, [kline(2, 10, '10')], now);
    expect((await d.checkVolume(redis, s, now)).checked).toEqual([]);
    // A minute dated in the future is no proof of progress either.
    await hotPath(s, { minutes: [{ m: 60 * 24 * 365 * 10, count: 1, volume: '1' }] });
    expect((await d.checkVolume(redis, s, now)).checked).toEqual([]);
    // The trade stream reaches minute 3: minute 2 is complete and compared.
    await hotPath(s, { minutes: [{ m: 2, count: 10, volume: '10' }, { m: 3, count: 1, volume: '1' }] });
    const c = await d.checkVolume(redis, s, now);
    expect(c.checked.map((x) => [x.minuteStartMs, x.match])).toEqual([[T0 + 2 * MIN, true]]);
    expect(await metricValue(await registry.metrics(), 'ingestor_rest_gaps_detected_total', { symbol: s, criterion: 'volume' })).toBe(0);
  });
});
