import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/ops/config.js';

const redisOf = (redis: Record<string, unknown>, env: Record<string, string> = {}) =>
  resolveConfig({ mode: 'aggregator', redis }, 'x.yaml', { env }).redis;

describe('redis.cluster config', () => {
  it('is off by default, with no seed nodes', () => {
    expect(redisOf({})).toMatchObject({ cluster: false, cluster_nodes: [] });
  });

  it('seeds the cluster client from host:port unless cluster_nodes are given', () => {
    expect(redisOf({ cluster: true, host: 'cfg.example', port: 6380 })).toMatchObject({ cluster: true, cluster_nodes: ['cfg.example:6380'] });
    expect(redisOf({ cluster: true, cluster_nodes: ['10.0.1.5:6379', 'r2.internal:7000'] }).cluster_nodes).toEqual(['10.0.1.5:6379', 'r2.internal:7000']);
  });

  it('takes the switch and the seed list from ${ENV} (the list as one comma-separated value)', () => {
    const r = redisOf({ cluster: '${RC:-false}', cluster_nodes: '${RN}' }, { RC: 'true', RN: '127.0.0.1:7001, 127.0.0.1:7002' });
    expect(r).toMatchObject({ cluster: true, cluster_nodes: ['127.0.0.1:7001', '127.0.0.1:7002'] });
    expect(redisOf({ cluster: '${RC:-false}' })).toMatchObject({ cluster: false });
  });

  it('REDIS_CLUSTER / REDIS_CLUSTER_NODES override the file, like REDIS_HOST', () => {
    expect(redisOf({}, { REDIS_CLUSTER: 'true', REDIS_CLUSTER_NODES: '127.0.0.1:7001,127.0.0.1:7002' })).toMatchObject({
      cluster: true,
      cluster_nodes: ['127.0.0.1:7001', '127.0.0.1:7002'],
    });
    expect(redisOf({ cluster: true }, { REDIS_CLUSTER: 'false' }).cluster).toBe(false);
    expect(() => redisOf({}, { REDIS_CLUSTER: 'yes' })).toThrow(/REDIS_CLUSTER must be true or false, got "yes"/);
  });

  it('still reads the older cluster_mode spelling', () => {
    expect(redisOf({ cluster_mode: true })).toMatchObject({ cluster: true });
  });

  it.each([
    [{ cluster: true, cluster_nodes: ['localhost'] }, /redis\.cluster_nodes\[0\]: expected host:port/],
    [{ cluster: true, cluster_nodes: ['h:70000'] }, /redis\.cluster_nodes\[0\]: port 70000 out of range/],
    [{ cluster: true, cluster_nodes: [] }, /redis\.cluster_nodes/],
    [{ cluster_nodes: ['h:1'] }, /redis\.cluster_nodes: seed nodes are only read with redis\.cluster: true/],
    [{ cluster: true, db: 2 }, /redis\.db: Redis Cluster has database 0 only/],
    [{ cluster: true, cluster_mode: false }, /redis\.cluster_mode: contradicts redis\.cluster/],
    [{ cluster: 'yes' }, /redis\.cluster: Expected boolean/],
  ])('names the key of a bad value: %j', (redis, msg) => {
    expect(() => redisOf(redis)).toThrow(msg);
  });

  it('config/aws.yaml runs against a cluster (ElastiCache cluster mode) unless REDIS_CLUSTER says otherwise', () => {
    expect(loadConfig('config/aws.yaml', { mode: 'aggregator', env: { REDIS_HOST: 'cfg.cache.amazonaws.com' } }).redis).toMatchObject({
      cluster: true,
      tls: true,
      cluster_nodes: ['cfg.cache.amazonaws.com:6379'],
    });
    expect(loadConfig('config/aws.yaml', { mode: 'aggregator', env: { REDIS_CLUSTER: 'false' } }).redis.cluster).toBe(false);
  });
});
