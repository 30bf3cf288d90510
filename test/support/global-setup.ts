import type { TestProject } from 'vitest/node';
import { startEmbeddedKinesis, type EmbeddedKinesis } from '../../src/kinesis/embedded.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    kinesisEndpoint: string;
  }
}

let redis: EmbeddedRedis | undefined;
let kinesis: EmbeddedKinesis | undefined;

/**
 * One redis-server and one kinesis-local for the whole run, on free loopback ports. Tests isolate
 * themselves with their own symbols / stream names (see test/support/servers.ts), or start a private
 * redis-server when they need to kill it.
 */
export async function setup(project: TestProject): Promise<void> {
  const [r, k] = await Promise.all([startEmbeddedRedis(), startEmbeddedKinesis()]);
  redis = r;
  kinesis = k;
  project.provide('redisUrl', r.url);
  project.provide('kinesisEndpoint', k.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.all([redis?.stop(), kinesis?.stop()]);
}
