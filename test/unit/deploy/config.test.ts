import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { connectionGroups, loadDeployConfig, resolveDeployConfig, streamNames } from '../../../deploy/lib/config.js';

describe('deploy config', () => {
  it('deploy/deploy.yaml states the defaults', () => {
    expect(loadDeployConfig('deploy/deploy.yaml')).toEqual(resolveDeployConfig({}, 'defaults'));
  });

  it('defaults: one events stream, services, one connection group with every symbol', () => {
    const c = resolveDeployConfig({ symbols: ['BTCUSDT', 'ETHUSDT'] }, 'x');
    expect(streamNames(c)).toEqual({ trade: 'market-sbe-events', bestbidask: 'market-sbe-events', depth: 'market-sbe-events' });
    expect(connectionGroups(c)).toEqual([['BTCUSDT', 'ETHUSDT']]);
    expect(c.aggregator.run_as).toBe('service');
    expect(c.ingest_rest.run_as).toBe('service');
    expect(c.kinesis.capacity).toBe('on-demand');
  });

  it('per-type layout names three streams', () => {
    const c = resolveDeployConfig({ kinesis: { layout: 'per-type' } }, 'x');
    expect(streamNames(c)).toEqual({ trade: 'market-sbe-trade', bestbidask: 'market-sbe-bestbidask', depth: 'market-sbe-depth' });
  });

  it.each([
    [{ kinesis: { layuot: 'single' } }, /kinesis: unknown key\(s\) "layuot"/],
    [{ symbols: ['btcusdt'] }, /symbols\[0\]: a Binance symbol/],
    [{ kinesis: { capacity: 'burst' } }, /kinesis\.capacity/],
    [{ symbols: ['BTCUSDT'], ingest_sbe: { connection_groups: [['ETHUSDT']] } }, /ETHUSDT is not in symbols/],
    [{ symbols: ['BTCUSDT', 'ETHUSDT'], ingest_sbe: { connection_groups: [['BTCUSDT'], ['BTCUSDT', 'ETHUSDT']] } }, /BTCUSDT is already in group 0/],
    [{ symbols: ['BTCUSDT', 'ETHUSDT'], ingest_sbe: { connection_groups: [['BTCUSDT']] } }, /ETHUSDT is in no group/],
    [{ aggregator: { run_as: 'lambda' }, kinesis: { layout: 'per-type' } }, /lambda needs kinesis\.layout single/],
    [{ kinesis: { layout: 'per-type', stream_names: { trade: 'a', bestbidask: 'a', depth: 'b' } } }, /three different names/],
    [{ network: { nat_gateways: 2, eip_allocation_ids: ['eipalloc-0abc'] } }, /1 given for 2 NAT gateway/],
    [{ aggregator: { cpu: 1024, memory_mib: 1024 } }, /aggregator: memory 1024 MiB does not go with cpu 1024/],
    [{ ingest_sbe: { cpu: 300 } }, /ingest_sbe: cpu 300 is not a Fargate size/],
    [{ log_retention_days: 10 }, /log_retention_days: one of CloudWatch Logs retention periods/],
    [{ lake: { glacier_after_days: 100, infrequent_access_after_days: 120 } }, /glacier_after_days: must come after/],
  ])('refuses %j with a message naming the key', (doc, message) => {
    expect(() => resolveDeployConfig(doc, 'deploy.yaml')).toThrow(message);
  });

  it('the shipped file parses as YAML without unknown keys', () => {
    const doc = parseYaml(readFileSync('deploy/deploy.yaml', 'utf8')) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['kinesis', 'ingest_sbe', 'aggregator', 'redis', 'lake', 'alarms']));
  });
});
