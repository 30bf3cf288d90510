import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createRedis, waitForRedisReady, type RedisClient } from '../../src/redis/connect.js';

/** The shared redis-server started by global-setup. */
export function sharedRedisUrl(): string {
  return inject('redisUrl');
}

/** The shared kinesis-local endpoint started by global-setup. */
export function sharedKinesisEndpoint(): string {
  return inject('kinesisEndpoint');
}

/** A unique name suffix so tests sharing servers never see each other's keys or streams. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** A unique upper-case symbol, e.g. BTCUSDTX3F9A. */
export function uniqueSymbol(base = 'BTCUSDT'): string {
  return `${base}X${randomBytes(3).toString('hex').toUpperCase()}`;
}

/** A command connection to the shared redis-server, ready. */
export async function connectSharedRedis(): Promise<RedisClient> {
  const redis = createRedis({ url: sharedRedisUrl(), socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
  return redis;
}

/** Close a test's connection (quit, or drop it when the server is gone). */
export async function closeRedis(redis: RedisClient | undefined): Promise<void> {
  await redis?.quit().catch(() => redis.disconnect());
}
