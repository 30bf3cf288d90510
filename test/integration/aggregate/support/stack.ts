/** Config and ground-truth helpers for the aggregator integration tests. */
import { resolveConfig, type BtcpipeConfig } from '../../../../src/ops/config.js';
import type { StreamNames } from './pipe.js';

export function aggregatorConfig(o: {
  redisPort: number;
  kinesisEndpoint: string;
  streams: StreamNames;
  symbols: string[];
  initialPosition?: 'LATEST' | 'TRIM_HORIZON';
  /** More consumer_config keys (e.g. the watermark bounds). */
  consumer?: Record<string, unknown>;
  /** processing keys over the defaults below. */
  processing?: Record<string, unknown>;
  prometheus?: boolean;
}): BtcpipeConfig {
  return resolveConfig(
    {
      binance: { symbols: o.symbols },
      aws: {
        region: 'us-east-1',
        endpoint_url: o.kinesisEndpoint,
        kinesis: {
          streams: o.streams,
          consumer_config: { shard_iterator_type: o.initialPosition ?? 'LATEST', max_records_per_poll: 1000, poll_interval_ms: 20, ...o.consumer },
        },
      },
      redis: { host: '127.0.0.1', port: o.redisPort, socket_timeout_seconds: 2 },
      processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1, ...o.processing },
      health: { port: 0, host: '127.0.0.1' },
      metrics: { enable_prometheus: o.prometheus ?? true, prometheus_port: 0 },
      logging: { level: 'warn' },
    },
    'test',
    { mode: 'aggregator', env: {} },
  );
}

export { obMismatches, type TruthBook } from '../../../support/truth-book.js';
export { truthBookOrNull as truthBook } from '../../../support/truth-book.js';

export { waitFor } from '../../../support/wait-for.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
