/**
 * The REST mode as a real process, SIGKILLed while it holds a re-anchor flag: the flag is a lease, so it
 * is gone within the lease, and until then the aggregator's blocked writes leave ob saying `resyncing`,
 * never a frozen book saying `live`. The venue's /api/v3/depth is held open by a relay in front of the
 * simulator, so the kill lands mid re-anchor every time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/ops/config.js';
import { REANCHOR_DONE_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { requestReanchor } from '../../../src/redis/streams.js';
import { obMismatches, startStack, truthBook, waitFor, type Stack } from './support.js';

function leaseOf(doc: Record<string, unknown>): number {
  const scheduler = resolveConfig(doc, 'test', { mode: 'rest', env: {} }).scheduler as { reanchor_lease_seconds?: number };
  return (scheduler.reanchor_lease_seconds ?? 15) * 1000;
}

const SYM = 'BTCUSDT';
const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'btcpipe.js');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.().catch(() => undefined);
});

/** Forwards every request to the venue except /api/v3/depth, which is answered never (until close). */
async function stallingRelay(target: string): Promise<{ url: string; depthCalls: () => number; close(): Promise<void> }> {
  let depthCalls = 0;
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith('/api/v3/depth')) {
      depthCalls++;
      held.push(res);
      return;
    }
    fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers: { 'x-mbx-apikey': String(req.headers['x-mbx-apikey'] ?? '') } })
      .then(async (up) => {
        const headers: Record<string, string> = {};
        up.headers.forEach((v, k) => {
          if (k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding') headers[k] = v;
        });
        res.writeHead(up.status, headers).end(Buffer.from(await up.arrayBuffer()));
      })
      .catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    depthCalls: () => depthCalls,
    close: () =>
      new Promise<void>((r) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A REST mode process (bin/btcpipe.js) with a config file; killed with SIGKILL at cleanup if still running. */
async function spawnRest(dir: string, doc: Record<string, unknown>): Promise<{ child: ChildProcess; exited: Promise<void>; stderr: () => string }> {
  const cfgFile = join(dir, `rest-${Date.now()}.yaml`);
  await writeFile(cfgFile, JSON.stringify(doc));
  let stderr = '';
  const child: ChildProcess = spawn(process.execPath, [BIN, 'ingest', '--mode', 'rest', '--config', cfgFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited, stderr: () => stderr };
}

function restDoc(stack: Stack, restUrl: string): Record<string, unknown> {
  return {
    service_name: 'kill-lease-rest',
    binance: { rest_base_url: restUrl, symbols: [SYM], request_timeout_ms: 120_000 },
    redis: { host: '127.0.0.1', port: stack.redisServer.port, socket_timeout_seconds: 2 },
    lake: { backend: 'folder', root: join(stack.lakeDir, 'lake') },
    scheduler: { poll_interval_seconds: 3600, reanchor_min_interval_seconds: 0, time_gap_seconds: 600, depth_snapshot_limit: 1000 },
    health: { port: 0, host: '127.0.0.1' },
    metrics: { enable_prometheus: false },
    logging: { level: 'warn' },
  };
}

/** Request a re-anchor and wait until the process holds the flag with its depth call stuck; then SIGKILL it. */
async function killMidReanchor(stack: Stack, relay: { depthCalls(): number }, p: { child: ChildProcess; exited: Promise<void>; stderr: () => string }): Promise<void> {
  // The listener acts on requests made up to a minute before it started: ask at once.
  await requestReanchor(stack.redis, SYM, 'gap');
  await waitFor('the REST process mid re-anchor (flag held, depth requested)', async () =>
    p.child.exitCode === null && relay.depthCalls() > 0 && (await stack.redis.exists(symbolKeys(SYM).flag)) === 1, 60_000).catch((err: unknown) => {
    throw new Error(`${String(err)}; REST process stderr: ${p.stderr().slice(-2000)}`);
  });
  p.child.kill('SIGKILL');
  await p.exited;
}

describe('REST mode SIGKILLed mid re-anchor', () => {
  it('ob is not live-and-frozen beyond the lease: the flag expires with the lease and blocked writes say resyncing', async () => {
    const stack = await startStack({ symbols: [SYM] });
    cleanups.push(() => stack.stop());
    const relay = await stallingRelay(stack.sim.restUrl);
    cleanups.push(() => relay.close());
    const k = symbolKeys(SYM);

    // The aggregator's side: a flush every 50 ms of a live book with a rising last_update_id.
    const writer = new ProjectionWriter(stack.redis);
    let id = 1000;
    let flushes = 0;
    let writing = true;
    const flushLoop = (async () => {
      while (writing) {
        id++;
        await writer
          .write([{ symbol: SYM, ob: { set: { last_update_id: String(id), ts_us: String(Date.now() * 1000), status: 'live', bid1_p: `${id}.5` }, del: [] } }])
          .catch(() => undefined);
        flushes++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    cleanups.push(async () => {
      writing = false;
      await flushLoop;
    });
    await waitFor('a live ob', async () => (await stack.redis.hget(k.ob, 'status')) === 'live', 10_000);

    const doc = restDoc(stack, relay.url);
    const leaseMs = leaseOf(doc);
    await killMidReanchor(stack, relay, await spawnRest(stack.lakeDir, doc));

    const pttl = await stack.redis.pttl(k.flag);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(leaseMs);

    // After the aggregator's next flush, and for as long as the dead owner's flag lasts, ob is not `live`.
    const after = flushes;
    await waitFor('a flush after the kill', () => flushes >= after + 2, 10_000, 10);
    const statuses = new Map<string, number>();
    let samples = 0;
    while ((await stack.redis.exists(k.flag)) === 1) {
      const st = (await stack.redis.hget(k.ob, 'status')) ?? 'absent';
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
      samples++;
      await new Promise((r) => setTimeout(r, 100));
      if (samples > (leaseMs + 60_000) / 100) break; // a flag that never expires fails below, not by a hang
    }
    expect(await stack.redis.exists(k.flag)).toBe(0);
    expect(statuses.get('live') ?? 0).toBe(0);

    // The lease gone, the aggregator's writes go through again.
    const idAfter = id;
    await waitFor('live again', async () => {
      const ob = await stack.redis.hgetall(k.ob);
      return ob.status === 'live' && Number(ob.last_update_id) > idAfter;
    }, 10_000);
    console.log(`kill mid re-anchor: flag PTTL ${pttl} ms after the kill (lease ${leaseMs} ms), ${samples} samples while held: ${JSON.stringify(Object.fromEntries(statuses))}`);
  }, 180_000);

  it('restarted at once, the REST mode re-anchors as soon as the dead holder\'s lease runs out', async () => {
    const stack = await startStack({ symbols: [SYM] });
    cleanups.push(() => stack.stop());
    const relay = await stallingRelay(stack.sim.restUrl);
    cleanups.push(() => relay.close());
    const k = symbolKeys(SYM);
    await killMidReanchor(stack, relay, await spawnRest(stack.lakeDir, restDoc(stack, relay.url)));
    expect(await stack.redis.exists(k.flag)).toBe(1);

    // The new process (venue answering now) picks up the same request and meets the dead holder's flag.
    const restarted = await spawnRest(stack.lakeDir, restDoc(stack, stack.sim.restUrl));
    const done = await waitFor('a re-anchor by the restarted process', async () => {
      const e = await stack.redis.xrevrange(REANCHOR_DONE_STREAM, '+', '-', 'COUNT', 1);
      return e[0]?.[1][e[0][1].indexOf('last_update_id') + 1];
    }, 60_000, 100).catch((err: unknown) => {
      throw new Error(`${String(err)}; restarted REST process stderr: ${restarted.stderr().slice(-2000)}`);
    });
    const ob = await stack.redis.hgetall(k.ob);
    expect(ob.last_update_id).toBe(done);
    expect(ob.status).toBe('live');
    expect(obMismatches(ob, await truthBook(stack.sim.restUrl, SYM, Number(done)))).toEqual([]);
  }, 180_000);
});
