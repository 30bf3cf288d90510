import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisUnavailableError, scrubCredentials } from './errors.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionConfig {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: boolean;
  /** A command without reply within this time rejects (config redis.socket_timeout_seconds). */
  socketTimeoutMs: number;
  connectTimeoutMs: number;
  cluster?: boolean;
  /** Cluster seed nodes ("host:port"); the client learns the rest of the topology from any one of them. */
  clusterNodes?: readonly string[];
  /** redis://[user:pass@]host:port[/db] or rediss://…; host/port/db/password fields win when also given. */
  url?: string;
  /**
   * A connection for blocking reads (XREAD BLOCK): no per-command timeout (it would cut the block short);
   * instead ioredis' blocking-command guard rejects a read that outlives its BLOCK by socketTimeoutMs.
   */
  blocking?: boolean;
  /** Upper bound of the reconnect backoff (default 2000 ms). */
  maxReconnectDelayMs?: number;
  connectionName?: string;
  /**
   * Connection-level errors (refused, reset). Without a listener ioredis prints each one to stderr; commands
   * fail with typed errors anyway, so the default swallows them and services pass a logging callback.
   */
  onError?: (err: Error) => void;
}

/** Exponential reconnect backoff with jitter, capped; never gives up (a service outlives a Redis restart). */
export function reconnectDelay(attempt: number, capMs = 2000): number {
  const base = Math.min(capMs, 50 * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

interface Endpoint {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  tls: boolean;
}

function endpointOf(cfg: RedisConnectionConfig): Endpoint {
  const ep: Endpoint = { host: '127.0.0.1', port: 6379, tls: false };
  if (cfg.url) {
    let u: URL;
    try {
      u = new URL(cfg.url);
    } catch {
      throw new RedisUnavailableError(`invalid Redis URL ${scrubCredentials(cfg.url)}`);
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
      throw new RedisUnavailableError(`unsupported Redis URL scheme ${u.protocol}`);
    }
    ep.host = u.hostname || ep.host;
    ep.port = u.port ? Number(u.port) : 6379;
    ep.tls = u.protocol === 'rediss:';
    if (u.username) ep.username = decodeURIComponent(u.username);
    if (u.password) ep.password = decodeURIComponent(u.password);
    const db = u.pathname.replace(/^\//, '');
    if (db) ep.db = Number(db);
  }
  if (cfg.host) ep.host = cfg.host;
  if (cfg.port) ep.port = cfg.port;
  if (cfg.db !== undefined) ep.db = cfg.db;
  if (cfg.username) ep.username = cfg.username;
  if (cfg.password) ep.password = cfg.password;
  if (cfg.tls !== undefined) ep.tls = ep.tls || cfg.tls;
  return ep;
}

/**
 * Create an ioredis client (or Cluster client with `cluster: true`).
 *
 * Failure policy, chosen so that a Redis outage never piles up memory or replays stale writes:
 * - `enableOfflineQueue: false`: while disconnected a command rejects at once (RedisUnavailableError once
 *   mapped by toRedisError); callers retry their next batch. Call `waitForRedisReady` before first use.
 * - `maxRetriesPerRequest: 1`: commands in flight when the socket drops fail after one reconnect attempt.
 * - `commandTimeout = socketTimeoutMs` (non-blocking connections): a hung server (SIGSTOP, CLIENT PAUSE)
 *   cannot stall a caller forever.
 * - reconnect: capped exponential backoff with jitter, forever.
 */
export function createRedis(cfg: RedisConnectionConfig): RedisClient {
  const ep = endpointOf(cfg);
  const cap = cfg.maxReconnectDelayMs ?? 2000;
  const common: RedisOptions = {
    username: ep.username,
    password: ep.password,
    db: ep.db,
    connectTimeout: cfg.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times: number) => reconnectDelay(times, cap),
    connectionName: cfg.connectionName,
    ...(ep.tls ? { tls: {} } : {}),
    ...(cfg.blocking
      ? { blockingTimeout: Math.max(1, cfg.socketTimeoutMs), blockingTimeoutGrace: cfg.socketTimeoutMs }
      : { commandTimeout: cfg.socketTimeoutMs }),
  };
  const onError = (err: Error): void => cfg.onError?.(new RedisUnavailableError(scrubCredentials(err.message)));
  if (!cfg.cluster) return new Redis(ep.port, ep.host, common).on('error', onError);
  const { db: _db, ...redisOptions } = common;
  const clusterOpts: ClusterOptions = {
    redisOptions,
    enableOfflineQueue: false,
    maxRedirections: 16,
    clusterRetryStrategy: (times: number) => reconnectDelay(times, cap),
    slotsRefreshTimeout: cfg.connectTimeoutMs,
    // A master that stops answering is noticed by its own connection closing; re-reading the slot map
    // every few seconds also finds a promoted replica when the old master's socket just hangs.
    slotsRefreshInterval: 2000,
    // ElastiCache's TLS certificates name the host, not the IP a DNS lookup would put in the slot map.
    ...(ep.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
  };
  const seeds = cfg.clusterNodes && cfg.clusterNodes.length > 0 ? cfg.clusterNodes.map(parseNode) : [{ host: ep.host, port: ep.port }];
  return new Cluster(seeds, clusterOpts).on('error', onError);
}

/** "host:port" → { host, port } (config validation already checked the shape). */
export function parseNode(node: string): { host: string; port: number } {
  const i = node.lastIndexOf(':');
  const port = Number(node.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RedisUnavailableError(`invalid Redis Cluster node ${JSON.stringify(node)}: expected host:port`);
  }
  return { host: node.slice(0, i), port };
}

/** Resolve once the client is ready; reject with RedisUnavailableError after timeoutMs. */
export function waitForRedisReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new RedisUnavailableError(`Redis not ready within ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}
