import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, redactConfig, resolveConfig } from '../../src/ops/config.js';

describe('config', () => {
  it('loads every shipped config file for its mode', () => {
    const env = { BINANCE_API_KEY: 'k' };
    expect(loadConfig('config/sbe.yaml', { env }).health.port).toBe(8080);
    expect(loadConfig('config/rest.yaml', { env }).metrics.prometheus_port).toBe(9092);
    expect(loadConfig('config/aggregator.yaml', { env }).aws.kinesis.consumer_config.max_records_per_poll).toBe(1000);
    for (const mode of ['sbe', 'rest', 'aggregator'] as const) {
      const c = loadConfig('config/local.yaml', { mode, env: {} });
      expect(c.mode).toBe(mode);
      expect(c.aws.endpoint_url).toBe('http://127.0.0.1:4568');
    }
    expect(loadConfig('config/local.yaml', { mode: 'aggregator', env: {} }).health.port).toBe(8082);
  });

  it('names an unknown key', () => {
    expect(() => resolveConfig({ mode: 'aggregator', redis: { prot: 1 } }, 'x.yaml')).toThrow(/redis: unknown key\(s\) "prot"/);
  });

  it('names a bad value', () => {
    expect(() => resolveConfig({ mode: 'aggregator', redis: { port: 'abc' } }, 'x.yaml', { env: {} })).toThrow(/redis\.port/);
    expect(() => resolveConfig({ mode: 'aggregator', binance: { symbols: ['btc-usdt'] } }, 'x.yaml', { env: {} })).toThrow(
      /binance\.symbols\[0\]/,
    );
  });

  it('requires the API key in sbe mode and says which variable is missing', () => {
    expect(() => loadConfig('config/sbe.yaml', { env: {} })).toThrow(/binance\.api_key.*BINANCE_API_KEY/s);
  });

  it('interpolates environment variables with defaults and keeps numbers numeric', () => {
    const c = resolveConfig(
      { mode: 'aggregator', redis: { host: '${RH:-h1}', port: '${RP}' } },
      'x.yaml',
      { env: { RP: '6390' } },
    );
    expect(c.redis.host).toBe('h1');
    expect(c.redis.port).toBe(6390);
  });

  it('rejects a missing file and bad YAML clearly', () => {
    expect(() => loadConfig('/nonexistent.yaml', { mode: 'sbe' })).toThrow(ConfigError);
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'a: [1, 2');
    expect(() => loadConfig(join(dir, 'bad.yaml'), { mode: 'sbe' })).toThrow(/not valid YAML/);
  });

  it('requires a mode', () => {
    expect(() => resolveConfig({}, 'x.yaml', { env: {} })).toThrow(/mode: not set/);
  });

  it('masks secrets', () => {
    const c = resolveConfig({ mode: 'sbe', binance: { api_key: 'secret-key-123' } }, 'x', { env: {} });
    expect(JSON.stringify(redactConfig(c))).not.toContain('secret-key-123');
  });
});
