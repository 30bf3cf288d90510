/**
 * A throw-away Redis Cluster on loopback: N masters (+ replicas each), one `redis-server --cluster-enabled`
 * process per node, joined by `redis-cli --cluster create`. For the integration tests (a real fail-over
 * needs real processes), `btcpipe bench redis` and `btcpipe up --redis-cluster`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForPort } from '../ops/free-port.js';
import { hasRedisServer, RedisServerMissingError } from './embedded.js';

export interface ClusterNodeProcess {
  port: number;
  /** "127.0.0.1:port", as the cluster announces it. */
  address: string;
  pid: number;
  /** Whether the process still runs (false after kill()). */
  alive(): boolean;
  /** Send a signal (SIGKILL = a crashed master); resolves when the process has exited, for fatal signals. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ClusterTopology {
  /** address → role and, for masters, the slot ranges owned; replicas name their master's address. */
  nodes: { address: string; id: string; role: 'master' | 'replica'; slots: [number, number][]; masterAddress?: string; failed: boolean }[];
}

export interface EmbeddedRedisCluster {
  nodes: ClusterNodeProcess[];
  /** Seed nodes for a client ("127.0.0.1:port" of every node). */
  seeds: string[];
  /** The current view of one reachable node (CLUSTER NODES parsed). */
  topology(): Promise<ClusterTopology>;
  /** The address of the master serving `slot` now, per the cluster's own view. */
  masterOf(slot: number): Promise<string>;
  /** Resolves once every slot is served by a reachable master and cluster_state is ok on every live node. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export class RedisClusterStartError extends Error {
  override readonly name = 'RedisClusterStartError';
}

export interface StartClusterOptions {
  masters?: number;
  /** Replicas per master (default 1: a master can fail over). */
  replicas?: number;
  /** cluster-node-timeout: how long a node may be silent before it is suspected failed (default 1000 ms). */
  nodeTimeoutMs?: number;
  /** How long start-up may take (default 30 s). */
  timeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start the cluster; every process is stopped again and the data dir removed if start-up fails. */
export async function startEmbeddedRedisCluster(opts: StartClusterOptions = {}): Promise<EmbeddedRedisCluster> {
  if (!hasRedisServer()) {
    throw new RedisServerMissingError('redis-server is not installed; install it with `apt-get install -y redis-server`');
  }
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 1;
  if (masters < 3) throw new RedisClusterStartError('redis-cli --cluster create needs at least 3 masters');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'btcpipe-redis-cluster-'));
  const procs: { child: ChildProcess; port: number; exited: boolean }[] = [];
  const nodes: ClusterNodeProcess[] = [];

  const stopAll = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exited) return resolve();
            p.child.once('exit', () => resolve());
            p.child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const total = masters * (1 + replicas);
    for (let i = 0; i < total; i++) {
      // The bus port is chosen explicitly: port + 10000 (the default) can be past 65535 or taken.
      const [port, busPort] = [await freePort(), await freePort()];
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--save', '', '--appendonly', 'no',
          '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'),
          '--cluster-port', String(busPort), '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1000),
          // A replica may always be promoted, however long its master was away: the data here is throw-away.
          '--cluster-replica-validity-factor', '0',
          // Replicas sync at once (the default waits 5 s for more replicas to share one transfer).
          '--repl-diskless-sync-delay', '0',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const p = { child, port, exited: false };
      child.once('exit', () => {
        p.exited = true;
      });
      procs.push(p);
      nodes.push({
        port,
        address: `127.0.0.1:${port}`,
        pid: child.pid ?? -1,
        alive: () => !p.exited,
        kill: (signal: NodeJS.Signals = 'SIGKILL') =>
          new Promise<void>((resolve) => {
            if (p.exited) return resolve();
            if (signal === 'SIGKILL' || signal === 'SIGTERM') child.once('exit', () => resolve());
            child.kill(signal);
            if (signal !== 'SIGKILL' && signal !== 'SIGTERM') resolve();
          }),
      });
    }
    await Promise.all(nodes.map((n) => waitForPort(n.port, '127.0.0.1', 10_000)));
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: timeoutMs },
    );
    if (created.status !== 0) {
      throw new RedisClusterStartError(`redis-cli --cluster create failed (${created.status}): ${(created.stdout + created.stderr).slice(-800)}`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  const live = (): ClusterNodeProcess[] => nodes.filter((n) => n.alive());

  const withNode = async <T>(fn: (r: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const n of live()) {
      const r = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 1000, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return await fn(r);
      } catch (err) {
        last = err;
      } finally {
        r.disconnect();
      }
    }
    throw new RedisClusterStartError(`no cluster node answered: ${last instanceof Error ? last.message : String(last)}`);
  };

  const topology = (): Promise<ClusterTopology> =>
    withNode(async (r) => parseClusterNodes(String(await r.call('CLUSTER', 'NODES'))));

  const masterOf = async (slot: number): Promise<string> => {
    const t = await topology();
    const m = t.nodes.find((n) => n.role === 'master' && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!m) throw new RedisClusterStartError(`no master serves slot ${slot}`);
    return m.address;
  };

  const waitHealthy = async (ms = timeoutMs): Promise<void> => {
    const deadline = Date.now() + ms;
    let why = '';
    for (;;) {
      try {
        why = await unhealthyReason(live());
        if (why === '') return;
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new RedisClusterStartError(`cluster not healthy within ${ms} ms: ${why}`);
      await sleep(100);
    }
  };

  try {
    await waitHealthy();
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { nodes, seeds: nodes.map((n) => n.address), topology, masterOf, waitHealthy, stop: stopAll };
}

/**
 * '' when every live node says cluster_state:ok, every slot has a live master, and every replica of a live
 * master has its replication link up (so a fail-over has data to promote); otherwise what is missing.
 */
async function unhealthyReason(live: ClusterNodeProcess[]): Promise<string> {
  const liveAddr = new Set(live.map((n) => n.address));
  for (const n of live) {
    const r = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 1000, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const info = String(await r.call('CLUSTER', 'INFO'));
      if (!info.includes('cluster_state:ok')) return `${n.address}: cluster_state not ok`;
      const t = parseClusterNodes(String(await r.call('CLUSTER', 'NODES')));
      let covered = 0;
      for (const m of t.nodes) {
        if (m.role !== 'master' || m.failed || !liveAddr.has(m.address)) continue;
        for (const [a, b] of m.slots) covered += b - a + 1;
      }
      if (covered !== 16384) return `${n.address} sees ${covered}/16384 slots on live masters`;
      const me = t.nodes.find((x) => x.address === n.address);
      if (me?.role === 'replica' && me.masterAddress && liveAddr.has(me.masterAddress)) {
        const repl = String(await r.info('replication'));
        if (!repl.includes('master_link_status:up')) return `${n.address}: replication link to ${me.masterAddress} not up`;
      }
    } finally {
      r.disconnect();
    }
  }
  return '';
}

/** Parse CLUSTER NODES ("id addr:port@bus flags master ping pong epoch link slots…"). */
export function parseClusterNodes(text: string): ClusterTopology {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const rows = lines.map((l) => l.split(' '));
  const addrOfId = new Map(rows.map((f) => [f[0], f[1].split('@')[0]]));
  return {
    nodes: rows.map((f) => {
      const flags = f[2].split(',');
      const slots: [number, number][] = [];
      for (const s of f.slice(8)) {
        if (s.startsWith('[')) continue; // a slot being migrated
        const [a, b] = s.split('-').map(Number);
        slots.push([a, b ?? a]);
      }
      return {
        id: f[0],
        address: f[1].split('@')[0],
        role: flags.includes('master') ? ('master' as const) : ('replica' as const),
        slots,
        masterAddress: f[3] !== '-' ? addrOfId.get(f[3]) : undefined,
        failed: flags.includes('fail') || flags.includes('fail?') || flags.includes('noaddr'),
      };
    }),
  };
}
