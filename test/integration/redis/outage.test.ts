import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriteError, ProjectionWriter } from '../../../src/redis/projection.js';
import { AtomicReanchor } from '../../../src/redis/reanchor.js';
import { generationState, sleep } from './helpers.js';

const SYM = 'BTCUSDT';
const k = symbolKeys(SYM);
let server: EmbeddedRedis | undefined;
let client: RedisClient | undefined;

afterEach(async () => {
  if (server && server.pid > 0) {
    try {
      process.kill(server.pid, 'SIGCONT');
    } catch {
      /* already gone */
    }
  }
  client?.disconnect();
  await server?.stop();
  server = client = undefined;
});

async function start(port?: number): Promise<{ server: EmbeddedRedis; client: RedisClient }> {
  server = await startEmbeddedRedis({ port });
  client = createRedis({ url: server.url, socketTimeoutMs: 300, connectTimeoutMs: 500, maxReconnectDelayMs: 200 });
  await waitForRedisReady(client, 5000);
  return { server, client };
}

async function leftovers(c: RedisClient): Promise<string[]> {
  const names = [k.flag, k.obNew, k.tr1sNew, k.tr5sNew, k.featNew];
  const ex = await Promise.all(names.map((n) => c.exists(n)));
  return [...names.filter((_, i) => ex[i] === 1), ...(await c.keys(`${k.snapshotPrefix}:*`))];
}

describe('Redis outages during a re-anchor (private redis-server)', () => {
  it('a server stalled mid re-anchor comes back with its data: staging gone, flag released, live intact', async () => {
    const { server: srv, client: c } = await start();
    const live = generationState(1);
    await c.multi().hset(k.ob, live.ob).hset(k.tr1s, live.tr1s).hset(k.tr5s, live.tr5s).hset(k.feat, live.feat!).exec();
    const errors: string[] = [];
    const ra = new AtomicReanchor(c, {
      minIntervalMs: 0,
      cleanupTimeoutMs: 20_000,
      logger: { info() {}, warn() {}, error: (_o, msg) => errors.push(msg) },
    });
    let resumedAt = 0;
    const r = await ra.run(SYM, async () => {
      process.kill(srv.pid, 'SIGSTOP');
      // Resume after the staging write and several cleanup attempts have timed out.
      setTimeout(() => {
        resumedAt = performance.now();
        process.kill(srv.pid, 'SIGCONT');
      }, 1500);
      return generationState(2);
    });
    expect(r).toMatchObject({ status: 'failed', cleanedUp: true });
    expect(resumedAt).toBeGreaterThan(0); // the cleanup really waited for the server to come back
    expect(errors).toContain('re-anchor failed');
    await sleep(200); // let anything still buffered on the socket execute
    expect(await leftovers(c)).toEqual([]);
    expect(await c.hgetall(k.ob)).toEqual(live.ob);
    expect(await c.hgetall(k.tr1s)).toEqual(live.tr1s);
    expect(await c.hgetall(k.feat)).toEqual(live.feat);

    const again = await ra.run(SYM, async () => generationState(3));
    expect(again.status).toBe('ok');
    expect(await c.hget(k.ob, 'gen')).toBe('3');
  });

  it('a server killed mid re-anchor and restarted on the same port: cleanup runs against it, next re-anchor succeeds', async () => {
    const first = await start();
    const port = first.server.port;
    const c = first.client;
    const ra = new AtomicReanchor(c, { minIntervalMs: 0, cleanupTimeoutMs: 20_000 });
    let restarted: Promise<EmbeddedRedis> | undefined;
    const r = await ra.run(SYM, async () => {
      process.kill(first.server.pid, 'SIGKILL');
      restarted = sleep(1000).then(() => startEmbeddedRedis({ port }));
      return generationState(2);
    });
    server = await restarted!;
    expect(r).toMatchObject({ status: 'failed', cleanedUp: true });
    await waitForRedisReady(c, 5000);
    expect(await leftovers(c)).toEqual([]);
    const again = await ra.run(SYM, async () => generationState(3));
    expect(again.status).toBe('ok');
    expect(await c.hget(k.ob, 'gen')).toBe('3');
    expect(ra.stats()).toMatchObject({ failed: 1, succeeded: 1, active: 0 });
  });

  it('projection writes reject with a retryable error while Redis is away and succeed after it returns', async () => {
    const { server: srv, client: c } = await start();
    const port = srv.port;
    const pw = new ProjectionWriter(c);
    await pw.write([{ symbol: SYM, tr1s: { count: '1' } }]);
    await srv.stop();
    server = undefined;
    const err = await pw.write([{ symbol: SYM, tr1s: { count: '2' } }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectionWriteError);
    expect((err as ProjectionWriteError).retryable).toBe(true);
    expect(pw.stats().errors).toBe(1);
    server = await startEmbeddedRedis({ port });
    await waitForRedisReady(c, 5000);
    await pw.write([{ symbol: SYM, tr1s: { count: '3' } }]);
    expect(await c.hgetall(k.tr1s)).toEqual({ count: '3' });
  });
});
