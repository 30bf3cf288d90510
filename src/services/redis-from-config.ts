import type { BtcpipeConfig } from '../ops/config.js';
import { createRedis, type RedisClient } from '../redis/index.js';

/** A Redis connection as the `redis` section of the config describes it (one place for every service). */
export function redisFromConfig(
  config: BtcpipeConfig,
  opts: { connectionName: string; blocking?: boolean; onError?: (err: Error) => void },
): RedisClient {
  const r = config.redis;
  return createRedis({
    host: r.host,
    port: r.port,
    db: r.db,
    password: r.password,
    tls: r.tls,
    cluster: r.cluster,
    clusterNodes: r.cluster_nodes,
    socketTimeoutMs: r.socket_timeout_seconds * 1000,
    connectTimeoutMs: r.socket_connect_timeout_seconds * 1000,
    blocking: opts.blocking,
    connectionName: opts.connectionName,
    onError: opts.onError ?? (() => undefined),
  });
}
