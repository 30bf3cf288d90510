import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';

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
