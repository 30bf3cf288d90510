import { createRedis, waitForRedisReady, type RedisClient } from '../../src/redis/connect.js';
import { startEmbeddedRedisCluster, type EmbeddedRedisCluster, type StartClusterOptions } from '../../src/redis/embedded-cluster.js';
import { keySlot, symbolKeys } from '../../src/redis/keys.js';

export type { EmbeddedRedisCluster };

/**
 * A private 3-master Redis Cluster (one replica each, so a master can fail over) on loopback ports, data in a
 * temp dir; call `stop()` in afterAll. A test file that needs a cluster starts one: killing its nodes must not
 * disturb other files.
 */
export function startTestCluster(opts: StartClusterOptions = {}): Promise<EmbeddedRedisCluster> {
  return startEmbeddedRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 2000, ...opts });
}

/** A Cluster client seeded with every node, ready. */
export async function connectCluster(cluster: EmbeddedRedisCluster, opts: { blocking?: boolean } = {}): Promise<RedisClient> {
  const r = createRedis({ cluster: true, clusterNodes: cluster.seeds, socketTimeoutMs: 2000, connectTimeoutMs: 2000, blocking: opts.blocking });
  await waitForRedisReady(r, 10_000);
  return r;
}

/** The slot every key of `symbol` lives in (cluster key names). */
export function symbolSlot(symbol: string): number {
  return keySlot(symbolKeys(symbol, { cluster: true }).ob);
}

/**
 * One symbol per master: names `${base}0`, `${base}1`, … taken in order until each master serves one of them.
 * Returns [symbol, master address] pairs, one per master.
 */
export async function symbolsOnDistinctMasters(cluster: EmbeddedRedisCluster, base: string): Promise<[string, string][]> {
  const t = await cluster.topology();
  // A node just made a replica can still look like a slot-less master in another node's gossip for a moment:
  // only masters that serve slots count.
  const masters = t.nodes.filter((n) => n.role === 'master' && !n.failed && n.slots.length > 0);
  const out = new Map<string, string>();
  for (let i = 0; out.size < masters.length && i < 10_000; i++) {
    const symbol = `${base}${i}`;
    const slot = symbolSlot(symbol);
    const m = masters.find((n) => n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (m && !out.has(m.address)) out.set(m.address, symbol);
  }
  if (out.size < masters.length) throw new Error(`no symbol named ${base}N for every master`);
  return [...out].map(([address, symbol]) => [symbol, address]);
}
