import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BinanceRestClient } from '../../../src/binance/rest-client.js';
import { FolderObjectStore } from '../../../src/lake/object-store.js';
import { LakeWriter } from '../../../src/lake/lake-writer.js';
import { InMemoryCursorStore, RedisCursorStore, CursorValueError } from '../../../src/lake/cursor-store.js';
import { AggTradeGapError, AggTradesArchiver } from '../../../src/lake/agg-trades-archiver.js';
import { KlinesArchiver } from '../../../src/lake/klines-archiver.js';
import { DepthSnapshotArchiver } from '../../../src/lake/depth-snapshot-archiver.js';
import { parseRangeFileKey } from '../../../src/lake/keys.js';
import { readParquetWithArrow } from '../../unit/lake/arrow-read.js';
import { sharedRedisUrl, uniqueSymbol } from '../../support/servers.js';
import { HistoryVenue, makeAggTrades, makeKline } from './history-venue.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 21, 21, 40, 0); // 21:40 UTC
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function env(): Promise<{ venue: HistoryVenue; client: BinanceRestClient; store: FolderObjectStore; writer: LakeWriter }> {
  const venue = await new HistoryVenue().start();
  const client = new BinanceRestClient({ baseUrl: venue.url, maxRetries: 0 });
  const dir = await mkdtemp(join(tmpdir(), 'btcpipe-arch-'));
  dirs.push(dir);
  const store = new FolderObjectStore(dir);
  cleanups.push(() => venue.stop(), () => client.close());
  return { venue, client, store, writer: new LakeWriter(store) };
}

/** All agg ids in the lake for a symbol, in key order, read back with arrow-rs. */
async function lakeAggIds(store: FolderObjectStore, symbol: string): Promise<{ ids: number[]; keys: string[] }> {
  const keys = await store.list(`bronze/agg_trades/symbol=${symbol}/`);
  keys.sort((a, b) => (parseRangeFileKey('agg_trades', a)?.first ?? 0) - (parseRangeFileKey('agg_trades', b)?.first ?? 0));
  const ids: number[] = [];
  for (const k of keys) {
    const t = readParquetWithArrow((await store.get(k)) as Uint8Array);
    const r = parseRangeFileKey('agg_trades', k);
    const fileIds = t.columns.agg_id.values.map(Number);
    expect(fileIds[0]).toBe(r?.first);
    expect(fileIds[fileIds.length - 1]).toBe(r?.last);
    // Every row of a file lies in the file's hour partition.
    const hours = new Set(t.columns.trade_time_ms.values.map((v) => new Date(Number(v)).toISOString().slice(0, 13)));
    expect(hours.size).toBe(1);
    const [date, hour] = [...hours][0].split('T');
    expect(k).toContain(`/date=${date}/hour=${hour}/`);
    ids.push(...fileIds);
  }
  return { ids, keys };
}

function range(first: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => first + i);
}

describe('AggTradesArchiver', () => {
  it('pages from the lookback start, splits by hour, keeps ids contiguous across files', async () => {
    const { venue, client, store, writer } = await env();
    const sym = 'BTCUSDT';
    // 2500 trades, one per 3 s from 21:40 → crosses 22:00 and 23:00.
    venue.aggTrades = makeAggTrades(1_000_000, 2500, T0, 3000);
    const now = T0 + 2500 * 3000;
    const arch = new AggTradesArchiver({ client, writer, cursors: new InMemoryCursorStore(), initialLookbackMs: now - T0, now: () => now });
    const res = await arch.poll(sym);
    expect(res.count).toBe(2500);
    expect(res.firstId).toBe(1_000_000);
    expect(res.lastId).toBe(1_002_499);
    const { ids, keys } = await lakeAggIds(store, sym);
    expect(ids).toEqual(range(1_000_000, 2500));
    expect(keys.map((k) => k.split('/').slice(3, 5).join('/'))).toEqual(
      expect.arrayContaining(['date=2026-11-21/hour=21', 'date=2026-11-21/hour=22', 'date=2026-11-21/hour=23']),
    );
    // First page by startTime, then fromId = last + 1, 1000 per page.
    expect(venue.queries[0].get('startTime')).toBe(String(T0));
    expect(venue.queries.slice(1).map((q) => q.get('fromId'))).toEqual(['1001000', '1002000']);
    expect(venue.queries.every((q) => q.get('limit') === '1000')).toBe(true);
    const s = writer.stats();
    expect(s.files_written_total).toBe(keys.length);
    expect(s.last_file).toBe(res.files[res.files.length - 1]);
    expect(s.write_errors).toBe(0);

    // Exact strings survive.
    const first = readParquetWithArrow((await store.get(keys[0])) as Uint8Array);
    expect(first.columns.price.values.slice(0, 3)).toEqual(venue.aggTrades.slice(0, 3).map((t) => t.p));
    expect(first.columns.qty.values.slice(0, 3)).toEqual(venue.aggTrades.slice(0, 3).map((t) => t.q));
  });

  it('resumes from the Redis cursor after a restart (new instance)', async () => {
    const { venue, client, store, writer } = await env();
    const redis = new Redis(sharedRedisUrl());
    cleanups.push(() => redis.quit());
    const sym = uniqueSymbol();
    venue.aggTrades = makeAggTrades(500, 1200, T0, 1000);
    const now = () => T0 + 2 * HOUR;
    const a1 = new AggTradesArchiver({ client, writer, cursors: new RedisCursorStore(redis), initialLookbackMs: 3 * HOUR, now });
    await a1.poll(sym);
    expect(await redis.get(`lake:cursor:agg_trades:${sym}`)).toBe('1699');

    venue.aggTrades.push(...makeAggTrades(1700, 300, T0 + 1200 * 1000, 1000));
    venue.queries.length = 0;
    const a2 = new AggTradesArchiver({ client, writer: new LakeWriter(store), cursors: new RedisCursorStore(redis), now });
    const res = await a2.poll(sym);
    expect(venue.queries[0].get('fromId')).toBe('1700');
    expect(res).toMatchObject({ count: 300, firstId: 1700, lastId: 1999 });
    expect((await lakeAggIds(store, sym)).ids).toEqual(range(500, 1500));

    await redis.set(`lake:cursor:agg_trades:${sym}`, 'garbage');
    await expect(a2.poll(sym)).rejects.toBeInstanceOf(CursorValueError);
  });

  it('resumes from the lake when the cursor is missing, and a re-written range replaces its file', async () => {
    const { venue, client, store, writer } = await env();
    const sym = 'ETHUSDT';
    venue.aggTrades = makeAggTrades(10, 1500, T0, 4000);
    const now = () => T0 + 3 * HOUR;
    await new AggTradesArchiver({ client, writer, cursors: new InMemoryCursorStore(), initialLookbackMs: 4 * HOUR, now }).poll(sym);
    const before = await store.list('bronze/agg_trades/');

    venue.aggTrades.push(...makeAggTrades(1510, 20, T0 + 1500 * 4000, 4000));
    venue.queries.length = 0;
    const fresh = new AggTradesArchiver({ client, writer, cursors: new InMemoryCursorStore(), now });
    expect(await fresh.resumePoint(sym)).toBe(1509);
    const res = await fresh.poll(sym);
    expect(venue.queries[0].get('fromId')).toBe('1510');
    expect(venue.queries[0].get('startTime')).toBeNull();
    expect(res).toMatchObject({ count: 20, firstId: 1510, lastId: 1529 });
    expect((await lakeAggIds(store, sym)).ids).toEqual(range(10, 1520));

    // Re-archiving the same ranges (cursor rewound) rewrites the same names: no duplicates.
    const cursors = new InMemoryCursorStore();
    await cursors.set(`agg_trades:${sym}`, 9);
    venue.aggTrades = venue.aggTrades.slice(0, 1500);
    await new AggTradesArchiver({ client, writer, cursors, now }).poll(sym);
    const after = await store.list('bronze/agg_trades/');
    expect(after).toEqual([...before, ...res.files].sort());
    expect((await lakeAggIds(store, sym)).ids).toEqual(range(10, 1520));
  });

  it('stops at a hole in the ids: keeps the verified part, raises a typed error, writes nothing past it', async () => {
    const { venue, client, store, writer } = await env();
    const cursors = new InMemoryCursorStore();
    venue.aggTrades = [...makeAggTrades(1, 50, T0, 100), ...makeAggTrades(52, 50, T0 + 5100, 100)];
    const arch = new AggTradesArchiver({ client, writer, cursors, initialLookbackMs: HOUR, now: () => T0 + 60_000 });
    const err = await arch.poll('BTCUSDT').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggTradeGapError);
    expect(err).toMatchObject({ expectedId: 51, gotId: 52 });
    expect((await lakeAggIds(store, 'BTCUSDT')).ids).toEqual(range(1, 50));
    expect(await cursors.get('agg_trades:BTCUSDT')).toBe(50);
    // The next poll hits the same hole again instead of silently skipping it.
    await expect(arch.poll('BTCUSDT')).rejects.toBeInstanceOf(AggTradeGapError);
  });

  it('archives nothing when the venue has no trades yet', async () => {
    const { client, writer } = await env();
    const res = await new AggTradesArchiver({ client, writer, cursors: new InMemoryCursorStore() }).poll('BTCUSDT');
    expect(res).toEqual({ files: [], count: 0, firstId: undefined, lastId: undefined, truncated: false });
  });
});

describe('KlinesArchiver', () => {
  it('archives only closed klines, per hour, resumes from cursor and from the lake, splits at holes', async () => {
    const { venue, client, store, writer } = await env();
    const open0 = Date.UTC(2026, 10, 21, 22, 50);
    // 30 minutes 22:50 … 23:19, minute 23:05 missing (maintenance).
    venue.klines = Array.from({ length: 30 }, (_, i) => makeKline(open0 + i * 60_000, i)).filter((k) => k[0] !== Date.UTC(2026, 10, 21, 23, 5));
    let now = Date.UTC(2026, 10, 21, 23, 10, 30); // 23:10 still open
    const cursors = new InMemoryCursorStore();
    const arch = new KlinesArchiver({ client, writer, cursors, initialLookbackMs: 20 * 60_000, now: () => now });
    const r1 = await arch.poll('BTCUSDT');
    expect(r1.firstOpenTime).toBe(open0);
    expect(r1.lastOpenTime).toBe(Date.UTC(2026, 10, 21, 23, 9));
    expect(r1.count).toBe(19); // 22:50…23:09 minus 23:05
    expect(r1.missingMinutes).toBe(1);
    expect(r1.files.map((k) => k.split('/').pop())).toEqual([
      `klines_1m_${open0}_${Date.UTC(2026, 10, 21, 22, 59)}.parquet`,
      `klines_1m_${Date.UTC(2026, 10, 21, 23, 0)}_${Date.UTC(2026, 10, 21, 23, 4)}.parquet`,
      `klines_1m_${Date.UTC(2026, 10, 21, 23, 6)}_${Date.UTC(2026, 10, 21, 23, 9)}.parquet`,
    ]);
    const t = readParquetWithArrow((await store.get(r1.files[0])) as Uint8Array);
    expect(t.columns.volume.values[0]).toBe('12.00010000');
    expect(t.columns.trades.values[0]).toBe(100n);

    now = Date.UTC(2026, 10, 21, 23, 15, 1);
    const r2 = await arch.poll('BTCUSDT'); // from cursor
    expect([r2.firstOpenTime, r2.lastOpenTime, r2.count]).toEqual([Date.UTC(2026, 10, 21, 23, 10), Date.UTC(2026, 10, 21, 23, 14), 5]);

    now = Date.UTC(2026, 10, 21, 23, 30);
    const fresh = new KlinesArchiver({ client, writer, cursors: new InMemoryCursorStore(), now: () => now });
    const r3 = await fresh.poll('BTCUSDT'); // from the lake
    expect([r3.firstOpenTime, r3.lastOpenTime, r3.count]).toEqual([Date.UTC(2026, 10, 21, 23, 15), Date.UTC(2026, 10, 21, 23, 19), 5]);
    expect(await fresh.poll('BTCUSDT')).toMatchObject({ count: 0, files: [] });
  });
});

describe('DepthSnapshotArchiver and writer stats', () => {
  it('writes a snapshot keyed by update id (same id replaces) and skips an empty book', async () => {
    const { store, writer } = await env();
    const arch = new DepthSnapshotArchiver(writer);
    const depth = { lastUpdateId: 123456789, bids: [['97000.01', '0.5']] as [string, string][], asks: [['97000.02', '1.25000000']] as [string, string][] };
    const ts = Date.UTC(2026, 10, 21, 23, 59, 59, 999);
    const key = await arch.write('BTCUSDT', depth, ts);
    expect(key).toBe('bronze/depth_snapshots/symbol=BTCUSDT/date=2026-11-21/hour=23/depth_snapshots_123456789.parquet');
    await arch.write('BTCUSDT', depth, ts);
    expect(await store.list('bronze/depth_snapshots/')).toEqual([key]);
    const t = readParquetWithArrow((await store.get(key as string)) as Uint8Array);
    expect(t.columns.qty.values).toEqual(['0.5', '1.25000000']);
    expect(await arch.write('BTCUSDT', { lastUpdateId: 1, bids: [], asks: [] }, ts)).toBeUndefined();
    expect(writer.stats()).toMatchObject({ status: 'healthy', files_written_today: 2, write_errors: 0, last_file: key });
  });

  it('counts write errors and reports degraded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'btcpipe-bad-'));
    dirs.push(dir);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'f'), 'x');
    const writer = new LakeWriter(new FolderObjectStore(join(dir, 'f')));
    const arch = new DepthSnapshotArchiver(writer);
    await expect(arch.write('BTCUSDT', { lastUpdateId: 1, bids: [['1', '1']], asks: [] }, 0)).rejects.toThrow();
    expect(writer.stats()).toMatchObject({ status: 'degraded', write_errors: 1, files_written_today: 0 });
  });
});
