/**
 * `btcpipe archive` as a real process over kinesis-local, the shared redis-server and the simulator's REST API:
 * SIGKILLed after a first part of the stream, restarted, and every event is in the lake exactly once; a trade
 * hole is filled from /api/v3/trades, a depth hole is reported (stream_holes, metric, health); the re-anchor
 * announced on reanchor:done is archived with its snapshot levels.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketEvent, TradeEvent } from '../../../src/core/events.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { archiveCheckpointKey } from '../../../src/lake/archive-checkpoints.js';
import { FolderObjectStore } from '../../../src/lake/folder-store.js';
import { REANCHOR_CURSOR_KEY } from '../../../src/lake/reanchor-archiver.js';
import { freePort } from '../../../src/ops/free-port.js';
import { REANCHOR_DONE_STREAM } from '../../../src/redis/keys.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { closeRedis, connectSharedRedis, sharedKinesisEndpoint, sharedRedisUrl, uniqueSuffix } from '../../support/servers.js';
import { BIN, ensureBuilt } from '../chaos/build.js';
import { waitFor as waitForEvery } from '../../support/wait-for.js';

const SYM = 'BTCUSDT';
let sim: Simulator;
let redis: RedisClient;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  sim = await startSimulator({ symbols: [SYM], seed: 41, rate: 60, weightLimitPerMinute: 1_000_000 });
  redis = await connectSharedRedis();
  dir = await mkdtemp(join(tmpdir(), 'btcpipe-archive-'));
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sim?.stop();
  await closeRedis(redis);
  if (dir) await rm(dir, { recursive: true, force: true });
});

// The lake is listed and read on each poll: every 200 ms is enough.
const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> => waitForEvery(what, fn, timeoutMs, 200);

interface VenueTrade {
  id: number;
  price: string;
  qty: string;
  timeUs: number;
  isBuyerMaker: boolean;
}

async function lakeRows(store: FolderObjectStore, dataset: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const key of await store.list(`bronze/${dataset}/symbol=${SYM}/`)) {
    const b = await readFile(join(store.root, key));
    out.push(...(await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer })));
  }
  return out;
}

describe('btcpipe archive', () => {
  it('archives every event exactly once across a SIGKILL, fills a trade hole, reports a depth hole, keeps the re-anchor snapshot', async () => {
    const stream = `archive-${uniqueSuffix()}`;
    const kc = localKinesisClient(sharedKinesisEndpoint());
    await ensureStreams(kc, [stream]);
    // Trades of the venue itself, so the REST API can give back the ones the stream will miss.
    const trades = await waitFor(
      '90 venue trades',
      async () => {
        const res = await fetch(`${sim.restUrl}/sim/truth/trades?symbol=${SYM}&limit=90`);
        const page = (await res.json()) as VenueTrade[];
        return page.length === 90 ? page : undefined;
      },
      60_000,
    );
    const t0 = trades[0].timeUs;
    const tradeEv = (t: VenueTrade): TradeEvent => ({
      type: 'trade', symbol: SYM, event_ts: t.timeUs, transact_ts: t.timeUs, source: 'json', trade_id: t.id, sequence_id: t.id,
      price: t.price, quantity: t.qty, is_buyer_maker: t.isBuyerMaker, recv_ts_us: t.timeUs + 500,
    });
    const depthEv = (i: number): MarketEvent => ({
      type: 'depth', symbol: SYM, event_ts: t0 + i * 1000, source: 'json', first_update_id: 10 * i + 1, final_update_id: 10 * i + 10,
      bids: [[`100.${i}`, '1.00000000']], asks: [[`101.${i}`, '0.00000000']],
    });
    const bbaEv = (i: number): MarketEvent => ({
      type: 'bestBidAsk', symbol: SYM, event_ts: t0 + i * 1000 + 1, source: 'json', sequence_id: 10 * i + 10,
      bid_price: `100.${i}`, bid_quantity: '1', ask_price: `101.${i}`, ask_quantity: '2',
    });
    const put = async (events: MarketEvent[]): Promise<void> => {
      for (let i = 0; i < events.length; i += 200) {
        const res = await kc.send(new PutRecordsCommand({
          StreamName: stream,
          Records: events.slice(i, i + 200).map((e) => ({ Data: Buffer.from(JSON.stringify(e)), PartitionKey: SYM })),
        }));
        expect(res.FailedRecordCount ?? 0).toBe(0);
      }
    };
    const part = (from: number, to: number, skipTrades: (i: number) => boolean = () => false, skipDepth: (i: number) => boolean = () => false): MarketEvent[] => {
      const out: MarketEvent[] = [];
      for (let i = from; i < to; i++) {
        if (!skipTrades(i)) out.push(tradeEv(trades[i]));
        if (!skipDepth(i)) out.push(depthEv(i), bbaEv(i));
      }
      return out;
    };

    const [health, metrics] = [await freePort(), await freePort()];
    const cfg = join(dir, 'archive.yaml');
    await writeFile(cfg, JSON.stringify({
      mode: 'archive',
      binance: { symbols: [SYM], rest_base_url: sim.restUrl, weight_limit_from_exchange_info: false },
      aws: { region: 'us-east-1', endpoint_url: sharedKinesisEndpoint(), kinesis: { streams: { trade: stream, depth: stream, bestbidask: stream }, consumer_config: { poll_interval_ms: 100 } } },
      redis: { host: new URL(sharedRedisUrl()).hostname, port: Number(new URL(sharedRedisUrl()).port) },
      lake: { backend: 'folder', root: join(dir, 'lake'), archive: { flush_interval_seconds: 1, reanchor_grace_seconds: 1 } },
      health: { port: health, host: '127.0.0.1' },
      metrics: { enable_prometheus: true, prometheus_port: metrics },
      logging: { level: 'warn' },
    }));
    const spawnArchive = (): ChildProcess => {
      const c = spawn(process.execPath, [BIN, 'archive', '--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' } });
      children.push(c);
      return c;
    };
    const store = new FolderObjectStore(join(dir, 'lake'));
    // The archive follows reanchor:done from where it last stopped; start after what other tests left there.
    const lastDone = await redis.xrevrange(REANCHOR_DONE_STREAM, '+', '-', 'COUNT', 1);
    await redis.set(REANCHOR_CURSOR_KEY, lastDone[0]?.[0] ?? '0-0');

    // Part 1, then a kill while part 2 is being read.
    await put(part(0, 30));
    const first = spawnArchive();
    await waitFor('a first checkpoint', async () => Object.keys(await redis.hgetall(archiveCheckpointKey(stream))).length > 0, 60_000);
    await put(part(30, 60));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    // Part 3 with holes: trades 70..74 never reach Kinesis, nor depth/bbaa 75..77.
    const snapshot = { lastUpdateId: 123_456, bids: [['100.0', '1.5']], asks: [['101.0', '2.5']] };
    const snapKey = `ob:snapshot:${SYM}:archive-test-${uniqueSuffix()}`;
    await redis.set(snapKey, JSON.stringify(snapshot), 'EX', 600);
    const doneId = await redis.xadd(REANCHOR_DONE_STREAM, '*', 'symbol', SYM, 'last_update_id', '123456', 'snapshot_key', snapKey);
    spawnArchive();
    await put(part(60, 90, (i) => i >= 70 && i < 75, (i) => i >= 75 && i < 78));

    const wantTrades = trades.map((t) => t.id);
    const got = await waitFor(
      'every trade in the lake',
      async () => {
        const rows = await lakeRows(store, 'trades');
        return rows.length >= wantTrades.length ? rows : undefined;
      },
      60_000,
    );
    await waitFor('the last bestBidAsk in the lake', async () => (await lakeRows(store, 'best_bid_ask')).some((r) => Number(r.update_id) === 10 * 89 + 10), 30_000);
    const ids = got.map((r) => Number(r.trade_id)).sort((a, b) => a - b);
    expect(ids).toEqual(wantTrades);
    expect(got.filter((r) => r.filled).map((r) => Number(r.trade_id)).sort((a, b) => a - b)).toEqual(wantTrades.slice(70, 75));
    const t = got.find((r) => Number(r.trade_id) === trades[10].id) as Record<string, unknown>;
    expect([t.price, t.qty, t.filled, t.source]).toEqual([trades[10].price, trades[10].qty, false, 'json']);

    const want = (n: number, skip: (i: number) => boolean): number[] => [...Array(n).keys()].filter((i) => !skip(i)).map((i) => 10 * i + 10);
    const diffs = (await lakeRows(store, 'depth_diffs')).map((r) => Number(r.final_update_id)).sort((a, b) => a - b);
    expect(diffs).toEqual(want(90, (i) => i >= 75 && i < 78));
    const bbas = (await lakeRows(store, 'best_bid_ask')).map((r) => Number(r.update_id)).sort((a, b) => a - b);
    expect(bbas).toEqual(want(90, (i) => i >= 75 && i < 78));

    const holes = await waitFor('both holes in stream_holes', async () => {
      const h = await lakeRows(store, 'stream_holes');
      return h.length >= 2 ? h : undefined;
    }, 30_000);
    expect(holes.map((h) => [h.stream, Number(h.missing), h.status]).sort()).toEqual([['depth', 30, 'open'], ['trade', 5, 'filled']]);
    const report = (await (await fetch(`http://127.0.0.1:${health}/health`)).json()) as { status: string; components: { completeness: { status: string; holes: number } } };
    expect(report.status).toBe('degraded');
    expect(report.components.completeness).toMatchObject({ status: 'degraded', holes: 2 });
    const prom = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(prom).toMatch(/archive_holes_total\{[^}]*stream="depth"[^}]*status="open"[^}]*\} 1/);
    expect(prom).toMatch(/archive_trades_filled_total\{[^}]*\} 5/);

    const reanchor = await waitFor('the re-anchor in the lake', async () => (await lakeRows(store, 'reanchors')).find((r) => r.entry_id === doneId), 30_000);
    expect(reanchor).toMatchObject({ last_update_id: 123_456n, snapshot_key: snapKey, bid_levels: 1, ask_levels: 1 });
    const levels = await lakeRows(store, 'depth_snapshots');
    expect(levels.filter((l) => Number(l.last_update_id) === 123_456).map((l) => [l.side, l.price, l.qty])).toEqual([['bid', '100.0', '1.5'], ['ask', '101.0', '2.5']]);
  }, 180_000);
});
