import type { Registry } from 'prom-client';
import type { BtcpipeConfig } from '../ops/config.js';
import { startHealthServer, type HealthReport, type HealthServer } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import { startMetricsServer, type MetricsServer } from '../ops/metrics.js';

/** What every long-running service (ingest sbe, ingest rest, aggregator) exposes to the runner. */
export interface Service {
  readonly name: string;
  readonly registry: Registry;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): HealthReport | Promise<HealthReport>;
  stats(): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface RunningService {
  service: Service;
  health: HealthServer;
  metrics?: MetricsServer;
  stop(): Promise<void>;
}

/** Start a service with its /health + /stats server and (if enabled) its Prometheus port. */
export async function runService(service: Service, config: BtcpipeConfig, logger: Logger): Promise<RunningService> {
  await service.start();
  let health: HealthServer | undefined;
  let metrics: MetricsServer | undefined;
  try {
    health = await startHealthServer(service, config.health.port, config.health.host);
    if (config.metrics.enable_prometheus) {
      metrics = await startMetricsServer(service.registry, config.metrics.prometheus_port, config.health.host);
    }
  } catch (err) {
    await health?.close();
    await service.stop();
    throw err;
  }
  logger.info(
    { health_port: health.port, metrics_port: metrics?.port, config: config.source },
    `${service.name} started`,
  );
  let stopping: Promise<void> | undefined;
  const h = health;
  return {
    service,
    health: h,
    metrics,
    stop: () =>
      (stopping ??= (async () => {
        await Promise.allSettled([h.close(), metrics?.close()]);
        await service.stop();
        logger.info({}, `${service.name} stopped`);
      })()),
  };
}

/** Stop cleanly on SIGINT/SIGTERM; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) process.exit(130);
    signalled = true;
    logger.info({ signal: sig }, 'stopping');
    stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
