/**
 * Two aggregator processes (bin/btcpipe.js aggregate, leases on) share a 3-shard stream carrying six
 * symbols. Each shard is read by one of them; one is paused past its lease (SIGSTOP) and then killed
 * (SIGKILL): the other takes its shards within 30 s, from the checkpoints in the leases, and every `live`
 * ob:{SYM} sampled from outside throughout equals the venue's true book at its last_update_id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { leaseTableKey } from '../../../src/kinesis/lease-store.js';
import { parseLease, type Lease } from '../../../src/kinesis/lease-model.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { uniqueSuffix } from '../../support/servers.js';
import { BIN, ensureBuilt } from '../chaos/build.js';
import { startSbePipe, type SbePipe } from './support/pipe.js';
import { startResponder, type Responder } from './support/responder.js';
import { obMismatches, truthBook, waitFor } from './support/stack.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT'];
const SHARDS = 3;
const LEASE = { duration_ms: 4000, renew_interval_ms: 1000, take_interval_ms: 1000 };

let sim: Simulator;
let server: EmbeddedRedis;
let redis: RedisClient;
let blocking: RedisClient;
let responder: Responder | undefined;
let pipe: SbePipe | undefined;
let dir: string;
const stream = `leases-${uniqueSuffix()}`;
const workers: Worker[] = [];

interface Worker {
  id: string;
  child: ChildProcess;
  exited: Promise<void>;
  logs: Record<string, unknown>[];
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'btcpipe-leases-'));
  server = await startEmbeddedRedis();
  redis = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  blocking = createRedis({ url: server.url, socketTimeoutMs: 2000, connectTimeoutMs: 2000, blocking: true });
  await Promise.all([waitForRedisReady(redis, 5000), waitForRedisReady(blocking, 5000)]);
  sim = await startSimulator({ symbols: SYMBOLS, seed: 41, rate: 40, weightLimitPerMinute: 1_000_000 });
  const kc = localKinesisClient(inject('kinesisEndpoint'));
  await ensureStreams(kc, [{ name: stream, shards: SHARDS }]);
  kc.destroy();
  const streams = { trade: stream, bestbidask: stream, depth: stream };
  pipe = await startSbePipe({ wsUrl: sim.wsUrl, symbols: SYMBOLS, kinesisEndpoint: inject('kinesisEndpoint'), streams, types: ['trade', 'depth'] });
  responder = await startResponder({ redis, blocking, restUrl: sim.restUrl, minIntervalMs: 300 });
}, 120_000);

afterAll(async () => {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill('SIGCONT');
      w.child.kill('SIGKILL');
    }
    await w.exited;
  }
  await pipe?.stop();
  await responder?.stop();
  await sim?.stop();
  redis?.disconnect();
  blocking?.disconnect();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function spawnAggregator(id: string): Promise<Worker> {
  const doc = {
    binance: { symbols: SYMBOLS },
    aws: {
      region: 'us-east-1',
      endpoint_url: inject('kinesisEndpoint'),
      kinesis: {
        streams: { trade: stream, bestbidask: stream, depth: stream },
        consumer_config: { shard_iterator_type: 'TRIM_HORIZON', poll_interval_ms: 20, leases: { enabled: true, worker_id: id, ...LEASE } },
      },
    },
    redis: { host: '127.0.0.1', port: server.port, socket_timeout_seconds: 2 },
    processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1 },
    health: { port: 0, host: '127.0.0.1' },
    metrics: { enable_prometheus: false },
    logging: { level: 'info' },
  };
  const file = join(dir, `${id}.yaml`);
  await writeFile(file, JSON.stringify(doc));
  const child = spawn(process.execPath, [BIN, 'aggregate', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout?.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr?.resume();
  const w: Worker = { id, child, exited: new Promise<void>((r) => child.once('exit', () => r())), logs };
  workers.push(w);
  return w;
}

async function leases(): Promise<Lease[]> {
  const raw = await redis.hgetall(leaseTableKey(stream));
  return Object.entries(raw)
    .filter(([f]) => f.startsWith('shard:'))
    .map(([f, v]) => parseLease(f.slice('shard:'.length), v))
    .filter((l): l is Lease => l !== undefined);
}

/** Owner of every open shard with an unexpired lease (Redis and this test share the machine's clock). */
async function owners(): Promise<Map<string, string>> {
  const now = Date.now();
  return new Map((await leases()).filter((l) => !l.finished && l.owner !== '' && l.expiresMs > now).map((l) => [l.shardId, l.owner]));
}

/** Samples every symbol's ob from outside and checks each `live` one against the venue's truth. */
function startSampler(): { stop(): Promise<{ checked: number; wrong: string[] }> } {
  let running = true;
  let checked = 0;
  const wrong: string[] = [];
  const loop = (async () => {
    while (running) {
      for (const sym of SYMBOLS) {
        const ob = await redis.hgetall(symbolKeys(sym).ob);
        if (ob.status !== 'live' || !ob.last_update_id) continue;
        const truth = await truthBook(sim.restUrl, sym, Number(ob.last_update_id));
        if (!truth) continue;
        checked++;
        const diff = obMismatches(ob, truth);
        if (diff.length > 0) wrong.push(`${sym}@${ob.last_update_id}: ${diff.slice(0, 3).join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { checked, wrong };
    },
  };
}

/** Every symbol live with a book newer than `afterMs` (wall clock of its newest event). */
async function allLiveSince(afterMs: number): Promise<boolean> {
  for (const sym of SYMBOLS) {
    const ob = await redis.hgetall(symbolKeys(sym).ob);
    if (ob.status !== 'live' || Number(ob.ts_us ?? 0) / 1000 < afterMs) return false;
  }
  return true;
}

function logged(w: Worker, msg: string): Record<string, unknown>[] {
  return w.logs.filter((l) => l.msg === msg);
}

describe('aggregators sharing shards by lease', () => {
  it('one shard one owner; a paused then killed owner’s shards move within 30 s from their checkpoints; no wrong live book', async () => {
    const a = await spawnAggregator('agg-a');
    const b = await spawnAggregator('agg-b');
    const sampler = startSampler();

    await waitFor(
      'both workers holding shards, every shard held',
      async () => {
        const o = await owners();
        const who = new Set(o.values());
        return o.size === SHARDS && who.has(a.id) && who.has(b.id);
      },
      60_000,
      200,
    );
    await waitFor('every symbol live', () => allLiveSince(Date.now() - 2000), 60_000, 200);
    // Every ob write carried the epoch of a lease: every symbol has a fence.
    for (const sym of SYMBOLS) expect(Number(await redis.get(symbolKeys(sym).fence))).toBeGreaterThan(0);

    // Paused past its lease: a frozen process still "has" its shards in memory.
    const pausedShards = [...(await owners())].filter(([, w]) => w === a.id).map(([s]) => s);
    a.child.kill('SIGSTOP');
    const pausedAt = Date.now();
    await waitFor('b holding every shard while a is paused', async () => [...(await owners()).values()].every((w) => w === b.id) && (await owners()).size === SHARDS, 30_000, 100);
    const pauseFailoverMs = Date.now() - pausedAt;
    await waitFor('every symbol live again after the pause', () => allLiveSince(Date.now() - 2000), 30_000, 200);
    a.child.kill('SIGCONT');
    // a finds out it lost its leases, rejoins, and gets its share back by hand-over.
    await waitFor('a noticing the loss', () => logged(a, 'shard lease lost').length >= pausedShards.length, 20_000, 100);
    await waitFor('a holding a shard again', async () => [...(await owners()).values()].includes(a.id), 30_000, 200);
    expect(logged(b, 'handing the lease over').length).toBeGreaterThan(0);

    // Killed: its leases lapse and b takes them, resuming at the checkpoints a left in them.
    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    const left = new Map((await leases()).filter((l) => l.owner === a.id).map((l) => [l.shardId, l.checkpoint]));
    expect(left.size).toBeGreaterThan(0);
    const takenBefore = logged(b, 'shard lease taken').length;
    await waitFor('b holding every shard after the kill', async () => {
      const o = await owners();
      return o.size === SHARDS && [...o.values()].every((w) => w === b.id);
    }, 30_000, 100);
    const killFailoverMs = Date.now() - killedAt;
    const taken = logged(b, 'shard lease taken').slice(takenBefore);
    for (const [shard, checkpoint] of left) {
      const t = taken.find((l) => l.shardId === shard);
      expect(t, `b took ${shard}`).toBeDefined();
      expect(t?.checkpoint ?? '').toBe(checkpoint);
    }
    await waitFor('every symbol live and moving after the kill', () => allLiveSince(Date.now() - 1500), 30_000, 200);

    const { checked, wrong } = await sampler.stop();
    const epochs = new Map((await leases()).map((l) => [l.shardId, l.epoch]));
    console.log(
      `[leases] pause failover ${pauseFailoverMs} ms, kill failover ${killFailoverMs} ms, live samples checked ${checked}, wrong ${wrong.length}, ` +
        `a fenced writes logged ${logged(a, 'writes refused by the lease fence: another worker holds these symbols now').length}, epochs ${JSON.stringify([...epochs])}`,
    );
    expect(pauseFailoverMs).toBeLessThan(30_000);
    expect(killFailoverMs).toBeLessThan(30_000);
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  }, 150_000);
});
