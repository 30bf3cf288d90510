import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfig } from '../../../src/ops/config.js';

const base = (leases: Record<string, unknown>): Record<string, unknown> => ({
  aws: { kinesis: { consumer_config: { leases } } },
});

describe('consumer_config.leases', () => {
  it('is off by default with KCL-like timings (failover within 13 s)', () => {
    const c = resolveConfig({}, 'test', { mode: 'aggregator', env: {} });
    expect(c.aws.kinesis.consumer_config.leases).toEqual({ enabled: false, duration_ms: 10_000, renew_interval_ms: 3000, take_interval_ms: 3000, shard_sync_interval_ms: 10_000 });
  });

  it('refuses a renewal interval above half the lease and a worker id that cannot be a key part', () => {
    expect(() => resolveConfig(base({ duration_ms: 4000, renew_interval_ms: 3000 }), 'test', { mode: 'aggregator', env: {} })).toThrow(/renew_interval_ms/);
    expect(() => resolveConfig(base({ worker_id: 'a b' }), 'test', { mode: 'aggregator', env: {} })).toThrow(/worker_id/);
  });

  it('BTCPIPE_AGGREGATOR_LEASES turns it on, and config/aggregator.yaml documents every key', () => {
    expect(resolveConfig({}, 'test', { mode: 'aggregator', env: { BTCPIPE_AGGREGATOR_LEASES: 'true' } }).aws.kinesis.consumer_config.leases.enabled).toBe(true);
    expect(() => resolveConfig({}, 'test', { mode: 'aggregator', env: { BTCPIPE_AGGREGATOR_LEASES: 'yes' } })).toThrow(ConfigError);
    const file = loadConfig('config/aggregator.yaml', { mode: 'aggregator', env: {} }).aws.kinesis.consumer_config.leases;
    expect(file).toMatchObject({ enabled: false, duration_ms: 10_000 });
    expect(loadConfig('config/aggregator.yaml', { mode: 'aggregator', env: { BTCPIPE_AGGREGATOR_LEASES: 'true' } }).aws.kinesis.consumer_config.leases.enabled).toBe(true);
  });
});
