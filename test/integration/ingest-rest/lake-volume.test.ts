import { afterEach, describe, expect, it } from 'vitest';
import { addDecimals, compareDecimals } from '../../../src/core/decimal.js';
import { FolderObjectStore } from '../../../src/lake/object-store.js';
import { parseRangeFileKey } from '../../../src/lake/keys.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { createRestIngestService } from '../../../src/services/ingest-rest.js';
import { readParquetWithArrow } from '../../unit/lake/arrow-read.js';
import { captureLogger, metricValue, restConfig, startStack, truthTrades, waitFor, type Stack } from './support.js';

const MINUTE = 60_000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.().catch(() => undefined);
});

/** Plays the aggregator's part for the volume check: minute stats and a live hot-path clock. */
function fakeHotPath(stack: Stack, symbols: string[]): () => void {
  const timer = setInterval(() => {
    for (const s of symbols) void stack.redis.hset(symbolKeys(s).tr1s, 'last_ts_us', String(Date.now() * 1000)).catch(() => undefined);
  }, 300);
  return () => clearInterval(timer);
}

async function readAll(store: FolderObjectStore, prefix: string): Promise<Record<string, unknown[]>> {
  const cols: Record<string, unknown[]> = {};
  for (const key of await store.list(prefix)) {
    const t = readParquetWithArrow((await store.get(key)) as Uint8Array);
    const r = parseRangeFileKey(prefix.includes('klines') ? 'klines_1m' : 'agg_trades', key);
    const firstCol = prefix.includes('klines') ? 'open_time' : 'agg_id';
    expect(Number(t.columns[firstCol].values[0])).toBe(r?.first);
    for (const [name, c] of Object.entries(t.columns)) (cols[name] ??= []).push(...c.values);
  }
  return cols;
}

describe('REST ingest service: bronze lake and the volume criterion', () => {
  it('archives every venue trade and closed kline exactly; a minute the hot path under-counted is a volume gap', async () => {
    const stack = await startStack({ symbols: ['BTCUSDT', 'ETHUSDT'] });
    cleanups.push(() => stack.stop());
    // Drops on the SBE stream must not matter to the lake: it is filled from REST.
    stack.sim.setFaults({ drop: { streams: ['trade', 'depth'], probability: 0.05 } });
    const startMs = Date.now();
    const m0 = Math.floor(startMs / MINUTE) * MINUTE; // the first (partial) venue minute
    const cap = captureLogger();
    const config = restConfig(
      stack,
      { scheduler: { poll_interval_seconds: 1, time_gap_seconds: 2, depth_snapshot_limit: 1000 } },
      ['BTCUSDT', 'ETHUSDT'],
    );
    // The aggregator "started" the minute before m0: m0 is fully observed by our fake hot path.
    for (const s of ['BTCUSDT', 'ETHUSDT']) await stack.redis.hset(symbolKeys(s).minutes, String(m0 - MINUTE), '0|0');
    const stopHot = fakeHotPath(stack, ['BTCUSDT', 'ETHUSDT']);
    cleanups.push(async () => stopHot());
    const service = createRestIngestService(config, cap.logger);
    await service.start();
    cleanups.push(() => service.stop());

    // Once m0 has closed, write the hot path's stats for it: exact for BTCUSDT, one trade short for ETHUSDT.
    await waitFor('minute m0 closed', () => Date.now() > m0 + MINUTE + 200, 70_000, 200);
    for (const s of ['BTCUSDT', 'ETHUSDT']) {
      const trades = (await truthTrades(stack.sim.restUrl, s)).filter((t) => t.time >= m0 && t.time < m0 + MINUTE);
      expect(trades.length).toBeGreaterThan(1);
      const seen = s === 'BTCUSDT' ? trades : trades.slice(1);
      await stack.redis.hset(symbolKeys(s).minutes, String(m0), `${seen.length}|${addDecimals(seen.map((t) => t.qty))}`);
      // The trade stream has moved on into the next minute, as the aggregator's would by now.
      await stack.redis.hset(symbolKeys(s).minutes, String(m0 + MINUTE), '1|1');
    }
    const metrics = await waitFor('minute m0 volume-checked', async () => {
      const st = (await service.stats()) as { gap_detection: Record<string, { last_checked_minute: string | null }> };
      const done = ['BTCUSDT', 'ETHUSDT'].every((s) => st.gap_detection[s]?.last_checked_minute === new Date(m0).toISOString());
      return done ? service.registry.metrics() : undefined;
    }, 20_000, 200);
    expect(await metricValue(metrics, 'ingestor_rest_gaps_detected_total', { symbol: 'ETHUSDT', criterion: 'volume' })).toBe(1);
    expect(await metricValue(metrics, 'ingestor_rest_gaps_detected_total', { symbol: 'BTCUSDT', criterion: 'volume' })).toBe(0);
    expect(await metricValue(metrics, 'ingestor_rest_gaps_detected_total', { criterion: 'time' })).toBe(0);
    const gapLog = cap.lines.find((l) => l.criterion === 'volume');
    expect(gapLog).toMatchObject({ symbol: 'ETHUSDT', missing_count: 1 });
    // The volume gap re-anchors ETHUSDT.
    await waitFor('ETHUSDT re-anchored', async () => (await stack.redis.exists(symbolKeys('ETHUSDT').ob)) === 1, 10_000);

    // The lake: read back with arrow-rs (parquet-wasm), compared with the venue's truth.
    await service.nextCycle();
    await service.stop();
    const store = new FolderObjectStore(stack.lakeDir);
    for (const s of ['BTCUSDT', 'ETHUSDT']) {
      const lake = await readAll(store, `bronze/agg_trades/symbol=${s}/`);
      const ids = lake.agg_id.map(Number);
      expect(ids.length).toBeGreaterThan(10);
      ids.forEach((id, i) => expect(id).toBe(ids[0] + i)); // contiguous, across files
      const truth = await truthTrades(stack.sim.restUrl, s);
      const byAgg = new Map<number, { f: number; l: number; qty: string[]; price: string }>();
      for (const t of truth) {
        const a = byAgg.get(t.aggId) ?? { f: t.id, l: t.id, qty: [], price: t.price };
        a.f = Math.min(a.f, t.id);
        a.l = Math.max(a.l, t.id);
        a.qty.push(t.qty);
        byAgg.set(t.aggId, a);
      }
      expect(ids[0]).toBe(Math.min(...byAgg.keys())); // nothing missing at the start
      for (let i = 0; i < ids.length; i++) {
        const a = byAgg.get(ids[i]);
        expect(a, `agg ${ids[i]}`).toBeDefined();
        expect([Number(lake.first_trade_id[i]), Number(lake.last_trade_id[i])]).toEqual([a?.f, a?.l]);
        expect(compareDecimals(String(lake.qty[i]), addDecimals(a?.qty ?? []))).toBe(0);
        expect(compareDecimals(String(lake.price[i]), a?.price ?? '0')).toBe(0);
      }
      // Every trade id up to the last archived aggregate is covered exactly once.
      const lastTrade = Number(lake.last_trade_id[ids.length - 1]);
      expect(truth.filter((t) => t.id <= lastTrade).length).toBe(lastTrade - Number(lake.first_trade_id[0]) + 1);

      const kl = await readAll(store, `bronze/klines_1m/symbol=${s}/`);
      expect(kl.open_time.map(Number)).toContain(m0);
      const venue = (await (await fetch(`${stack.sim.restUrl}/api/v3/klines?symbol=${s}&interval=1m&startTime=${m0 - MINUTE}`)).json()) as unknown[][];
      for (let i = 0; i < kl.open_time.length; i++) {
        const v = venue.find((k) => k[0] === Number(kl.open_time[i]));
        expect(v).toBeDefined();
        expect([String(kl.volume[i]), Number(kl.trades[i]), String(kl.close[i]), String(kl.quote_volume[i])]).toEqual([v?.[5], v?.[8], v?.[4], v?.[7]]);
      }
    }
    expect(await metricValue(await service.registry.metrics(), 'ingestor_rest_s3_files_written_total', { dataset: 'klines_1m' })).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
