import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { REANCHOR_DONE_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AtomicReanchor } from '../../../src/redis/reanchor.js';
import { readReanchorDone } from '../../../src/redis/streams.js';
import { generationState, sleep } from './helpers.js';

/** A one-node Redis Cluster owning all 16384 slots: enough to exercise hash tags, MOVED-free MULTI and Lua. */
let server: EmbeddedRedis;
let dir: string;
let cluster: RedisClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'btcpipe-cluster-'));
  server = await startEmbeddedRedis({
    extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'],
  });
  const admin = new Redis(server.port, '127.0.0.1');
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  for (let i = 0; i < 200; i++) {
    const info = String(await admin.call('CLUSTER', 'INFO'));
    if (info.includes('cluster_state:ok')) break;
    await sleep(50);
  }
  admin.disconnect();
  cluster = createRedis({ host: '127.0.0.1', port: server.port, cluster: true, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  await waitForRedisReady(cluster, 10_000);
});

afterAll(async () => {
  cluster?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis Cluster mode', () => {
  it('projects several symbols (one MULTI per slot) and honours the flag', async () => {
    const pw = new ProjectionWriter(cluster, { cluster: true });
    const ka = symbolKeys('AAAUSDT', { cluster: true });
    await cluster.set(ka.flag, 'x', 'EX', 30);
    const r = await pw.write([
      { symbol: 'AAAUSDT', ob: { set: { a: '1' }, del: [] }, tr1s: { count: '1' } },
      { symbol: 'BBBUSDT', ob: { set: { b: '2' }, del: [] }, minutes: [{ minuteStartMs: 60_000, count: 1, volume: '1' }] },
    ]);
    expect(r.obWritten).toEqual({ AAAUSDT: false, BBBUSDT: true });
    expect(await cluster.exists(ka.ob)).toBe(0);
    expect(await cluster.hgetall(ka.tr1s)).toEqual({ count: '1' });
    expect(await cluster.hgetall(symbolKeys('BBBUSDT', { cluster: true }).ob)).toEqual({ b: '2' });
    await cluster.del(ka.flag);
  });

  it('re-anchors with hash-tagged keys and still announces the swap', async () => {
    const k = symbolKeys('CCCUSDT', { cluster: true });
    const state = generationState(5);
    const r = await new AtomicReanchor(cluster, { cluster: true }).run('CCCUSDT', async () => state);
    expect(r.status).toBe('ok');
    expect(await cluster.hgetall(k.ob)).toEqual(state.ob);
    expect(await cluster.exists(k.flag)).toBe(0);
    const done = (await readReanchorDone(cluster, '0', 0, 100)).filter((d) => d.symbol === 'CCCUSDT');
    expect(done).toHaveLength(1);
    expect(done[0].snapshot).toEqual(state.snapshot);
    expect(await cluster.xlen(REANCHOR_DONE_STREAM)).toBe(1);
  });
});
