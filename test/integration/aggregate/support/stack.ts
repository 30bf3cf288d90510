/** Config and ground-truth helpers for the aggregator integration tests. */
import { resolveConfig, type BtcpipeConfig } from '../../../../src/ops/config.js';
import type { StreamNames } from './pipe.js';

export function aggregatorConfig(o: {
  redisPort: number;
  kinesisEndpoint: string;
  streams: StreamNames;
  symbols: string[];
  initialPosition?: 'LATEST' | 'TRIM_HORIZON';
}): BtcpipeConfig {
  return resolveConfig(
    {
      binance: { symbols: o.symbols },
      aws: {
        region: 'us-east-1',
        endpoint_url: o.kinesisEndpoint,
        kinesis: {
          streams: o.streams,
          consumer_config: { shard_iterator_type: o.initialPosition ?? 'LATEST', max_records_per_poll: 1000, poll_interval_ms: 20 },
        },
      },
      redis: { host: '127.0.0.1', port: o.redisPort, socket_timeout_seconds: 2 },
      processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1 },
      health: { port: 0, host: '127.0.0.1' },
      metrics: { enable_prometheus: true, prometheus_port: 0 },
      logging: { level: 'warn' },
    },
    'test',
    { mode: 'aggregator', env: {} },
  );
}

export { obMismatches, type TruthBook } from '../../../support/truth-book.js';
export { truthBookOrNull as truthBook } from '../../../support/truth-book.js';

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
