import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { Command } from 'ioredis';
import { RedisCheckpointStore } from '../../../src/kinesis/redis-checkpoints.js';
import { resolveConfig } from '../../../src/ops/config.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { createRestIngestService } from '../../../src/services/ingest-rest.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import type { Service } from '../../../src/services/service.js';
import { startSimulator } from '../../../src/sim/index.js';
import { uniqueSuffix } from '../../support/servers.js';
import { obMismatches, truthBookOrNull } from '../../support/truth-book.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { appendDeadLetters, readDeadLetters } from '../../../src/redis/dead-letter.js';
import { keySlot, REANCHOR_DONE_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { markObStaleIfOld } from '../../../src/redis/ob-staleness.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AtomicReanchor, type ReanchorResult } from '../../../src/redis/reanchor.js';
import { readMinuteStats, readReanchorDone, readReanchorRequests, requestReanchor } from '../../../src/redis/streams.js';
import { connectCluster, startTestCluster, symbolSlot, symbolsOnDistinctMasters, type EmbeddedRedisCluster } from '../../support/redis-cluster.js';
import { assertOneGeneration, generationState, sleep } from './helpers.js';

/**
 * A real Redis Cluster: 3 masters with one replica each, one redis-server process per node. Symbols are
 * chosen so that each master serves one; the last test SIGKILLs a master and its replica takes over.
 */
let cluster: EmbeddedRedisCluster;
let writer: RedisClient;
let reader: RedisClient;
/** symbol → address of the master serving it at start. */
let placed: [string, string][];

beforeAll(async () => {
  cluster = await startTestCluster();
  [writer, reader] = await Promise.all([connectCluster(cluster), connectCluster(cluster)]);
  placed = await symbolsOnDistinctMasters(cluster, 'CLU');
});

afterAll(async () => {
  writer?.disconnect();
  reader?.disconnect();
  await cluster?.stop();
});

interface Sent {
  name: string;
  keys: string[];
  /** The pipeline / MULTI the command was queued in (undefined: sent alone). */
  group: object | undefined;
}

/** Records every command the client sends (name, keys, pipeline), passing it on unchanged. */
function recordCommands(client: RedisClient): { sent: Sent[]; stop(): void } {
  const sent: Sent[] = [];
  const c = client as unknown as { sendCommand: (cmd: Command, stream?: unknown, node?: object) => unknown };
  const orig = c.sendCommand;
  c.sendCommand = function (this: unknown, cmd: Command, stream?: unknown, node?: object) {
    sent.push({ name: cmd.name.toLowerCase(), keys: cmd.getKeys().map(String), group: node });
    return orig.call(this, cmd, stream, node);
  };
  return { sent, stop: () => (c.sendCommand = orig) };
}

describe('Redis Cluster, 3 masters + replicas', () => {
  it('computes the slot of a key as the cluster does', async () => {
    const node = new Redis(cluster.nodes[0].port, '127.0.0.1');
    try {
      const keys = fc.sample(
        fc.oneof(
          fc.string({ minLength: 0, maxLength: 30 }),
          fc.tuple(fc.string({ maxLength: 5 }), fc.stringMatching(/^[A-Z0-9]{1,12}$/), fc.string({ maxLength: 5 })).map(([a, s, b]) => `${a}{${s}}${b}`),
          fc.stringMatching(/^[A-Z0-9]{1,20}$/).map((s) => symbolKeys(s, { cluster: true }).tr5sNew),
        ),
        300,
      );
      keys.push('{}x', 'a{}{b}', '{{a}}', 'ob:{BTCUSDT}', 'π{€}');
      const pipe = node.pipeline();
      for (const k of keys) pipe.call('CLUSTER', 'KEYSLOT', k);
      const server = ((await pipe.exec()) ?? []).map(([err, v]) => (err ? err.message : Number(v)));
      expect(keys.map(keySlot)).toEqual(server);
    } finally {
      node.disconnect();
    }
  });

  it('every script and MULTI of the writers and readers touches one slot; per-symbol keys carry the hash tag', async () => {
    const symbols = placed.map(([s]) => s);
    const rec = recordCommands(writer);
    try {
      const pw = new ProjectionWriter(writer, { cluster: true });
      const st = generationState(1);
      const r = await pw.write(symbols.map((s) => ({ symbol: s, ob: { set: st.ob, del: [] }, tr1s: st.tr1s, tr5s: st.tr5s, feat: st.feat, minutes: [{ minuteStartMs: 60_000, count: 2, volume: '0.5' }] })));
      expect(Object.values(r.obOutcome)).toEqual(symbols.map(() => 'written'));

      const ra = new AtomicReanchor(writer, { cluster: true, minIntervalMs: 0, leaseMs: 1000 });
      const ok = await ra.run(symbols[0], async () => {
        await sleep(500); // long enough for a lease renewal to be sent
        return generationState(2);
      });
      expect(ok.status).toBe('ok');
      const failed = await ra.run(symbols[1], async () => {
        throw new Error('venue down');
      });
      expect(failed).toMatchObject({ status: 'failed', cleanedUp: true });

      expect(await markObStaleIfOld(writer, symbols[2], Date.now(), 1, { cluster: true })).toBe(false);
      expect(await readMinuteStats(writer, symbols[2], [60_000], { cluster: true })).toEqual([expect.objectContaining({ minuteStartMs: 60_000, count: 2, volume: '0.5' })]);
      await requestReanchor(writer, symbols[2], 'sequence_gap');
      expect((await readReanchorRequests(writer, '0', 0)).map((q) => q.symbol)).toContain(symbols[2]);
      const done = await readReanchorDone(writer, '0', 0);
      expect(done.find((d) => d.symbol === symbols[0])?.snapshot).toEqual(generationState(2).snapshot);
      await appendDeadLetters(writer, [{ stream: 's', shard: 'shardId-0', sequence: '1', reason: 'bad', data: '', ts: 1 }, { stream: 's', shard: 'shardId-0', sequence: '2', reason: 'bad', data: '', ts: 2 }]);
      expect(await readDeadLetters(writer, 10)).toHaveLength(2);
      const cp = new RedisCheckpointStore(writer);
      await cp.save('stream-a', 'shardId-000000000000', '49590338271490256608559692538361571095921575989136588898');
      expect(await cp.load('stream-a', 'shardId-000000000000')).toBe('49590338271490256608559692538361571095921575989136588898');
    } finally {
      rec.stop();
    }

    const scripts = rec.sent.filter((c) => c.name === 'eval' || c.name === 'evalsha');
    const names = new Set(scripts.map((c) => c.keys.length));
    expect(scripts.length).toBeGreaterThanOrEqual(8);
    expect(names.size).toBeGreaterThan(1);
    for (const c of scripts) expect(new Set(c.keys.map(keySlot)), `${c.name} ${c.keys.join(' ')}`).toHaveProperty('size', 1);

    const groups = new Map<object, Sent[]>();
    for (const c of rec.sent) if (c.group) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
    const multis = [...groups.values()].filter((g) => g.some((c) => c.name === 'multi'));
    // The projection batch writes each symbol with one script (book, windows, features together).
    for (const s of symbols) {
      const own = scripts.filter((c) => c.keys.includes(`ob:{${s}}`) && c.keys.includes(`tr:{${s}}:1s`));
      expect(own.length, s).toBeGreaterThanOrEqual(1);
    }
    for (const g of multis) {
      const keys = g.flatMap((c) => c.keys);
      expect(new Set(keys.map(keySlot)), keys.join(' ')).toHaveProperty('size', 1);
    }

    for (const c of rec.sent) {
      for (const k of c.keys) {
        const named = symbols.find((s) => k.includes(s));
        if (named) expect(k, `${c.name} ${k}`).toContain(`{${named}}`);
      }
    }
  });

  it('projects and swaps symbols on three masters; readers never see a mixed state', async () => {
    const symbols = placed.map(([s]) => `${s}`);
    expect(new Set(placed.map(([, m]) => m)).size).toBe(3);
    const pw = new ProjectionWriter(writer, { cluster: true });
    const ra = new AtomicReanchor(writer, { cluster: true, minIntervalMs: 0 });
    let gen = 100;
    let stop = false;
    let reads = 0;
    const write = async (): Promise<void> => {
      const st = generationState(++gen);
      await pw.write(symbols.map((s) => ({ symbol: s, ob: { set: st.ob, del: [] }, tr1s: st.tr1s, tr5s: st.tr5s, feat: st.feat })));
    };
    await write();
    const readLoop = (async () => {
      while (!stop) {
        for (const s of symbols) {
          const k = symbolKeys(s, { cluster: true });
          const [ob, tr1s, tr5s, feat] = await Promise.all([reader.hgetall(k.ob), reader.hgetall(k.tr1s), reader.hgetall(k.tr5s), reader.hgetall(k.feat)]);
          assertOneGeneration(k.ob, ob);
          assertOneGeneration(k.tr1s, tr1s);
          assertOneGeneration(k.tr5s, tr5s);
          assertOneGeneration(k.feat, feat);
          reads++;
        }
      }
    })();
    const outcomes: ReanchorResult['status'][] = [];
    // At least 15 rounds, and on until the reader has checked enough states in between (a fast machine
    // finishes 15 rounds before the reader's first few reads).
    for (let i = 0; i < 15 || (reads < 30 && i < 2000); i++) {
      await write();
      const g = ++gen;
      const rs = await Promise.all(symbols.map((s) => ra.run(s, async () => generationState(g))));
      outcomes.push(...rs.map((r) => r.status));
      await write();
    }
    stop = true;
    await readLoop;
    expect(outcomes.every((o) => o === 'ok')).toBe(true);
    expect(reads).toBeGreaterThan(10);
    const final = generationState(gen);
    for (const s of symbols) {
      const k = symbolKeys(s, { cluster: true });
      expect(await reader.hgetall(k.ob)).toEqual(final.ob);
      expect(await reader.exists(k.flag, k.obNew, k.tr1sNew, k.tr5sNew, k.featNew)).toBe(0);
    }
    expect(await reader.xlen(REANCHOR_DONE_STREAM)).toBeGreaterThanOrEqual(45);
  });

  it('a master is SIGKILLed while writes and swaps continue: its replica takes over, writes resume, the books end equal to the reference', async () => {
    const symbols = placed.map(([s]) => s);
    const victimSymbol = placed[0][0];
    const slot = symbolSlot(victimSymbol);
    const victimMaster = await cluster.masterOf(slot);
    const victim = cluster.nodes.find((n) => n.address === victimMaster);
    if (!victim) throw new Error(`no process for ${victimMaster}`);

    const pw = new ProjectionWriter(writer, { cluster: true });
    const ra = new AtomicReanchor(writer, { cluster: true, minIntervalMs: 0, leaseMs: 3000, cleanupTimeoutMs: 20_000 });
    let gen = 10_000; // one counter for projection and swaps: every new state has a higher last_update_id
    let stop = false;
    let killedAt = 0;
    const refusedAt: number[] = [];
    const resumedAt: number[] = [];
    const written = new Map<string, number>();
    const failures: string[] = [];
    let mixed: unknown;

    const writeLoop = (symbol: string) =>
      (async () => {
        let failing = false;
        while (!stop) {
          const g = ++gen;
          const st = generationState(g);
          try {
            const r = await pw.write([{ symbol, ob: { set: st.ob, del: [] }, tr1s: st.tr1s, tr5s: st.tr5s, feat: st.feat }]);
            if (r.obOutcome[symbol] === 'written') written.set(symbol, (written.get(symbol) ?? 0) + 1);
            if (failing && symbol === victimSymbol) resumedAt.push(Date.now());
            failing = false;
          } catch (err) {
            if (!failing && symbol === victimSymbol && killedAt > 0) refusedAt.push(Date.now());
            failing = true;
            failures.push((err as Error).message);
            await sleep(20);
          }
        }
      })();
    const writers = symbols.map(writeLoop);
    const swapOutcomes: { status: string; afterKill: boolean; symbol: string }[] = [];
    const swapLoop = (async () => {
      while (!stop) {
        for (const s of symbols) {
          const g = ++gen;
          const r = await ra.run(s, async () => generationState(g));
          swapOutcomes.push({ status: r.status, afterKill: killedAt > 0, symbol: s });
        }
        await sleep(50);
      }
    })();
    const readLoop = (async () => {
      while (!stop) {
        for (const s of symbols) {
          // Judged from the symbol's first acknowledged write on: before it the key may not exist yet.
          if (!written.has(s)) {
            await sleep(5);
            continue;
          }
          const k = symbolKeys(s, { cluster: true });
          let hashes: Record<string, string>[];
          try {
            hashes = await Promise.all([reader.hgetall(k.ob), reader.hgetall(k.tr1s), reader.hgetall(k.tr5s), reader.hgetall(k.feat)]);
          } catch {
            await sleep(20); // unavailable during the fail-over; only what is read is judged
            continue;
          }
          try {
            [k.ob, k.tr1s, k.tr5s, k.feat].forEach((key, i) => assertOneGeneration(key, hashes[i]));
          } catch (err) {
            mixed ??= err;
          }
        }
      }
    })();

    const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    try {
      await waitFor('writes on every master', () => symbols.every((s) => (written.get(s) ?? 0) >= 5));
      // Replication is asynchronous: a replica still in its first sync would be promoted without the keys.
      // What is judged is the fail-over of a replica that had the books, so wait until it acknowledges them.
      const [vHost, vPort] = [victim.address.slice(0, victim.address.lastIndexOf(':')), Number(victim.address.slice(victim.address.lastIndexOf(':') + 1))];
      const direct = new Redis(vPort, vHost, { lazyConnect: true });
      await direct.connect();
      expect(Number(await direct.call('WAIT', '1', '10000'))).toBeGreaterThanOrEqual(1);
      direct.disconnect();
      killedAt = Date.now();
      await victim.kill('SIGKILL');
      await waitFor('the replica promoted', async () => (await cluster.masterOf(slot).catch(() => victimMaster)) !== victimMaster);
      const promotedAt = Date.now();
      const before = written.get(victimSymbol) ?? 0;
      await waitFor('writes resumed on the promoted replica', () => (written.get(victimSymbol) ?? 0) >= before + 10);
      await waitFor('a swap after the fail-over', () => swapOutcomes.some((o) => o.afterKill && o.symbol === victimSymbol && o.status === 'ok') && resumedAt.length > 0);
      const newMaster = await cluster.masterOf(slot);
      console.info(
        `fail-over: master ${victimMaster} killed; replica ${newMaster} serves slot ${slot} after ${promotedAt - killedAt} ms; ` +
          `writes refused ${refusedAt[0] ? refusedAt[0] - killedAt : 0} ms after the kill, resumed after ${resumedAt[0] - killedAt} ms; ` +
          `${failures.length} failed batches, swaps ${JSON.stringify(countBy(swapOutcomes.filter((o) => o.afterKill).map((o) => o.status)))} after the kill`,
      );
      expect(newMaster).not.toBe(victimMaster);
    } finally {
      stop = true;
      await Promise.all([...writers, readLoop, swapLoop]);
    }
    expect(mixed).toBeUndefined();
    expect(failures.every((m) => /unavailable|closed|CLUSTERDOWN|timed out|refresh slots|isn't ready|TRYAGAIN|MOVED|redirections|writeable/i.test(m)), failures.join('\n')).toBe(true);

    // Writers stopped: one more write each (the reference state), then every book is exactly it.
    // A write refused while a flag was held leaves status=resyncing: the reference says live, as the aggregator's does.
    const g = ++gen;
    const ref = generationState(g);
    const refOb = { ...ref.ob, status: 'live' };
    const last = await pw.write(symbols.map((s) => ({ symbol: s, ob: { set: refOb, del: [] }, tr1s: ref.tr1s, tr5s: ref.tr5s, feat: ref.feat })));
    expect(Object.values(last.obOutcome)).toEqual(symbols.map(() => 'written'));
    for (const s of symbols) {
      const k = symbolKeys(s, { cluster: true });
      expect(await reader.hgetall(k.ob)).toEqual(refOb);
      expect(await reader.hgetall(k.tr1s)).toEqual(ref.tr1s);
      expect(await reader.hgetall(k.feat)).toEqual(ref.feat);
      // Nothing half-swapped: the flag released, and staging keys all present (an attempt cut off) or all gone.
      expect(await reader.exists(k.flag)).toBe(0);
      const staging = await reader.exists(k.obNew, k.tr1sNew, k.tr5sNew, k.featNew);
      expect([0, 4]).toContain(staging);
    }
  }, 90_000);

  it('the services on the cluster: sim → SBE ingest → Kinesis → aggregator → cluster, REST re-anchors; a master fails over and every live book stays the venue book', async () => {
    // Real symbols (the simulator knows only those) on three different masters.
    const symbols = ['BTCUSDT', 'ETHUSDT', 'DOGEUSDT'];
    const slots = symbols.map(symbolSlot);
    expect(new Set(await Promise.all(slots.map((sl) => cluster.masterOf(sl)))).size).toBe(3);
    const stops: (() => Promise<unknown>)[] = [];
    const lakeDir = mkdtempSync(join(tmpdir(), 'btcpipe-cluster-lake-'));
    stops.push(async () => rmSync(lakeDir, { recursive: true, force: true }));
    try {
      const sim = await startSimulator({ symbols, seed: 31, rate: 60, weightLimitPerMinute: 1_000_000 });
      stops.push(() => sim.stop());
      const stream = `cluster-events-${uniqueSuffix()}`;
      const common = {
        binance: { sbe_ws_url: sim.wsUrl, rest_base_url: sim.restUrl, api_key: 'test-key-cluster-01', symbols, rate_limit_requests_per_minute: 100_000 },
        aws: {
          region: 'us-east-1',
          endpoint_url: inject('kinesisEndpoint'),
          kinesis: { streams: { trade: stream, bestbidask: stream, depth: stream }, create_streams: true, consumer_config: { shard_iterator_type: 'TRIM_HORIZON', poll_interval_ms: 20 } },
        },
        redis: { cluster: true, cluster_nodes: cluster.seeds, socket_timeout_seconds: 2 },
        processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1 },
        scheduler: { poll_interval_seconds: 5, reanchor_min_interval_seconds: 1 },
        lake: { backend: 'folder', root: lakeDir },
        health: { port: 0, host: '127.0.0.1' },
        metrics: { prometheus_port: 0 },
        logging: { level: 'error' },
      };
      const logger = createLogger({ service: 'cluster-stack', level: 'error' });
      const start = async (svc: Service | Promise<Service>): Promise<void> => {
        const s = await svc;
        await s.start();
        stops.push(() => s.stop());
      };
      await start(createSbeIngestService(resolveConfig(common, 'test', { mode: 'sbe', env: {} }), logger));
      await start(createAggregatorService(resolveConfig(common, 'test', { mode: 'aggregator', env: {} }), logger));
      await start(createRestIngestService(resolveConfig(common, 'test', { mode: 'rest', env: {} }), logger));

      const keys = symbols.map((s) => symbolKeys(s, { cluster: true }));
      const t0 = Date.now();
      const waitFor = async (what: string, cond: () => Promise<boolean>, ms: number): Promise<void> => {
        const deadline = Date.now() + ms;
        while (!(await cond().catch(() => false))) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await sleep(100);
        }
      };
      await waitFor('every book live', async () => (await Promise.all(keys.map((k) => reader.hget(k.ob, 'status')))).every((st) => st === 'live'), 60_000);

      // A reader's view: every live sample must be the venue's book at the sample's own last_update_id.
      let sampling = true;
      let compared = 0;
      const wrong: string[] = [];
      const sampler = (async () => {
        while (sampling) {
          for (const [i, k] of keys.entries()) {
            const ob = await reader.hgetall(k.ob).catch(() => undefined);
            if (!ob || ob.status !== 'live') continue;
            const truth = await truthBookOrNull(sim.restUrl, symbols[i], Number(ob.last_update_id)).catch(() => null);
            if (!truth) continue;
            compared++;
            const d = obMismatches(ob, truth);
            if (d.length > 0) wrong.push(`${symbols[i]}@${ob.last_update_id}: ${d.join('; ')}`);
          }
          await sleep(50);
        }
      })();

      const liveFirstAt = Date.now();
      await waitFor('live samples compared before the fail-over', async () => compared >= 5, 60_000);

      // The victim: a symbol whose master still has a live replica (an earlier test may have used one up).
      const t = await cluster.topology();
      const liveAddr = new Set(cluster.nodes.filter((n) => n.alive()).map((n) => n.address));
      const i = (await Promise.all(slots.map((sl) => cluster.masterOf(sl)))).findIndex((m) =>
        t.nodes.some((n) => n.role === 'replica' && n.masterAddress === m && liveAddr.has(n.address)),
      );
      expect(i).toBeGreaterThanOrEqual(0);
      const victimMaster = await cluster.masterOf(slots[i]);
      const before = Number(await reader.hget(keys[i].ob, 'last_update_id'));
      const killedAt = Date.now();
      await cluster.nodes.find((n) => n.address === victimMaster)?.kill('SIGKILL');
      await waitFor('the replica promoted', async () => (await cluster.masterOf(slots[i])) !== victimMaster, 30_000);
      const promotedAt = Date.now();
      await waitFor(`${symbols[i]} live again past ${before}`, async () => {
        const ob = await reader.hgetall(keys[i].ob);
        return ob.status === 'live' && Number(ob.last_update_id) > before;
      }, 30_000);
      const liveAt = Date.now();
      const comparedBefore = compared;
      await waitFor('every book live', async () => (await Promise.all(keys.map((k) => reader.hget(k.ob, 'status')))).every((st) => st === 'live'), 30_000);
      await waitFor('live samples compared after the fail-over', async () => compared >= comparedBefore + 5, 60_000);
      sampling = false;
      await sampler;
      console.info(
        `services on the cluster: every book live after ${liveFirstAt - t0} ms; ${symbols[i]}'s master killed at +${killedAt - t0} ms; ` +
          `promoted after ${promotedAt - killedAt} ms, ob live and newer after ${liveAt - killedAt} ms; ${compared} live samples compared to the venue, ` +
          `done at +${Date.now() - t0} ms`,
      );
      expect(wrong).toEqual([]);
      for (const [j, k] of keys.entries()) {
        const ob = await reader.hgetall(k.ob);
        const truth = await truthBookOrNull(sim.restUrl, symbols[j], Number(ob.last_update_id));
        expect(truth && obMismatches(ob, truth)).toEqual([]);
      }
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    }
  }, 150_000);
});

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
