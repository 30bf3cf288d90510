/**
 * The whole local pipeline in this process, every part on a free loopback port: a private redis-server, the
 * simulator, the SBE ingestor, the REST ingestor (gap detection + re-anchor), the aggregator (each with its
 * /health server, as `btcpipe up` runs them) and the dashboard reading them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { resolveConfig } from '../../../src/ops/config.js';
import { createLogger } from '../../../src/ops/logger.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { startDashboard, type Dashboard } from '../../../src/services/dashboard.js';
import { createRestIngestService } from '../../../src/services/ingest-rest.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import { runService, type RunningService } from '../../../src/services/service.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';

export interface DashboardStack {
  sim: Simulator;
  redisServer: EmbeddedRedis;
  dashboard: Dashboard;
  url: string;
  stop(): Promise<void>;
}

export async function startDashboardStack(o: { kinesisEndpoint: string; symbols: string[]; seed?: number; rate?: number; pollMs?: number }): Promise<DashboardStack> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    while (stops.length) await stops.pop()?.().catch(() => undefined);
  };
  try {
    const [sim, redisServer] = await Promise.all([
      // Full-depth snapshots weigh 250: lift the venue's limit so re-anchors are never refused.
      startSimulator({ symbols: o.symbols, seed: o.seed ?? 5, rate: o.rate ?? 60, weightLimitPerMinute: 1_000_000 }),
      startEmbeddedRedis(),
    ]);
    stops.push(() => Promise.allSettled([sim.stop(), redisServer.stop()]));
    const lakeDir = mkdtempSync(join(tmpdir(), 'btcpipe-dashboard-lake-'));
    stops.push(async () => rmSync(lakeDir, { recursive: true, force: true }));
    const sfx = Math.random().toString(16).slice(2, 10);
    const doc = {
      binance: { sbe_ws_url: sim.wsUrl, rest_base_url: sim.restUrl, api_key: 'test-key-dashboard-01', symbols: o.symbols, rate_limit_requests_per_minute: 100_000 },
      aws: {
        region: 'us-east-1',
        endpoint_url: o.kinesisEndpoint,
        kinesis: {
          streams: { trade: `dash-trade-${sfx}`, bestbidask: `dash-bba-${sfx}`, depth: `dash-depth-${sfx}` },
          create_streams: true,
          consumer_config: { shard_iterator_type: 'TRIM_HORIZON', max_records_per_poll: 1000, poll_interval_ms: 50 },
        },
      },
      redis: { host: '127.0.0.1', port: redisServer.port, socket_timeout_seconds: 2 },
      processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1 },
      scheduler: { poll_interval_seconds: 2, reanchor_min_interval_seconds: 1 },
      lake: { backend: 'folder', root: lakeDir },
      health: { port: 0, host: '127.0.0.1' },
      metrics: { enable_prometheus: false, prometheus_port: 0 },
      logging: { level: 'error' },
    };
    const logger = createLogger({ service: 'dashboard-stack', level: 'error' });
    const services: Record<string, string> = {};
    const run = async (name: string, mode: 'sbe' | 'rest' | 'aggregator'): Promise<RunningService> => {
      const config = resolveConfig(doc, 'test', { mode, env: {} });
      const service =
        mode === 'sbe' ? createSbeIngestService(config, logger) : mode === 'rest' ? createRestIngestService(config, logger) : createAggregatorService(config, logger);
      const running = await runService(service, config, logger);
      stops.push(() => running.stop());
      services[name] = `http://127.0.0.1:${running.health.port}`;
      return running;
    };
    await run('ingest-sbe', 'sbe');
    await run('aggregator', 'aggregator');
    await run('ingest-rest', 'rest');
    const reader = new Redis({ host: '127.0.0.1', port: redisServer.port, maxRetriesPerRequest: 1 });
    reader.on('error', () => undefined);
    stops.push(async () => reader.disconnect());
    const dashboard = await startDashboard({
      port: 0,
      redis: reader,
      symbols: o.symbols,
      services,
      links: { 'simulator stats': `${sim.restUrl}/sim/stats` },
      keyOf: (s) => ({ ob: `ob:${s}`, tr1s: `tr:${s}:1s`, tr5s: `tr:${s}:5s`, feat: `feat:${s}` }),
      pollMs: o.pollMs,
    });
    stops.push(() => dashboard.close());
    return { sim, redisServer, dashboard, url: `http://127.0.0.1:${dashboard.port}/`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
