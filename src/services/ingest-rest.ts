/**
 * `btcpipe ingest --mode rest`: the reliability path . Wiring only:
 *  - the poll cycle (RestIngestRuntime.runCycle) every scheduler.poll_interval_seconds, first at start,
 *    never overlapping itself (the next cycle is planned when one ends);
 *  - the sequence criterion: aggregator requests on `reanchor:requests`, read with XREAD BLOCK on a
 *    separate connection and acted on at once;
 *  - the time criterion on its own timer every time_gap_seconds / 2 (a 5 s stall must not wait a minute);
 *  - every 250 ms, a live ob:{SYM} older than processing.stale_after_seconds is marked stale (a dead
 *    aggregator cannot say so itself).
 */
import { redisFromConfig } from './redis-from-config.js';
import type { Registry } from 'prom-client';
import type { BtcpipeConfig } from '../ops/config.js';
import type { HealthReport } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import { createRegistry } from '../ops/metrics.js';
import { waitForRedisReady, type RedisClient } from '../redis/connect.js';
import type { Service } from './service.js';
import { GapRequestListener } from './gap-request-listener.js';
import { RestIngestRuntime } from './ingest-rest-runtime.js';

/** How long start() waits for Redis before giving up. */
const REDIS_START_TIMEOUT_MS = 15_000;

export interface RestIngestService extends Service {
  /** The runtime (tests and the Lambda handler share its cycle). */
  readonly runtime: RestIngestRuntime;
  /** Resolves after the next poll cycle completes (tests). */
  nextCycle(): Promise<void>;
}

/** How often live books are checked for staleness (one small script per symbol). */
const STALE_CHECK_MS = 250;

export function createRestIngestService(config: BtcpipeConfig, logger: Logger): RestIngestService {
  const registry: Registry = createRegistry(config.service_name);
  const runtime = new RestIngestRuntime({ config, logger, registry });
  const pollMs = config.scheduler.poll_interval_seconds * 1000;
  const timeCheckMs = Math.max(250, (config.scheduler.time_gap_seconds * 1000) / 2);
  let blocking: RedisClient | undefined;
  let listener: GapRequestListener | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let timeTimer: NodeJS.Timeout | undefined;
  let staleTimer: NodeJS.Timeout | undefined;
  let staleCheck: Promise<unknown> | undefined;
  let cycle: Promise<void> | undefined;
  let timeCheck: Promise<void> | undefined;
  let running = false;
  let stopping: Promise<void> | undefined;
  let waiters: (() => void)[] = [];

  const runCycle = (): void => {
    if (!running) return;
    const startedAt = Date.now();
    cycle = runtime
      .runCycle({ timeCheck: false })
      .then(
        () => undefined,
        (err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'poll cycle crashed'),
      )
      .finally(() => {
        cycle = undefined;
        const w = waiters;
        waiters = [];
        for (const f of w) f();
        if (running) pollTimer = setTimeout(runCycle, Math.max(0, startedAt + pollMs - Date.now()));
      });
  };

  const runTimeCheck = (): void => {
    if (!running || timeCheck) return;
    timeCheck = runtime.runTimeChecks().finally(() => {
      timeCheck = undefined;
    });
  };

  const runStaleCheck = (): void => {
    if (!running || staleCheck) return;
    staleCheck = runtime.markStaleBooks().finally(() => {
      staleCheck = undefined;
    });
  };

  return {
    name: config.service_name,
    registry,
    runtime,

    async start() {
      if (running) return;
      await runtime.connect(REDIS_START_TIMEOUT_MS);
      blocking = redisFromConfig(config, {
        blocking: true,
        connectionName: 'btcpipe-ingest-rest-requests',
        onError: () => undefined,
      });
      await waitForRedisReady(blocking, REDIS_START_TIMEOUT_MS);
      listener = new GapRequestListener({ redis: blocking, logger, onRequests: (reqs) => runtime.onRequests(reqs) });
      running = true;
      listener.start();
      timeTimer = setInterval(runTimeCheck, timeCheckMs);
      staleTimer = setInterval(runStaleCheck, STALE_CHECK_MS);
      runCycle();
      logger.info(
        { symbols: config.binance.symbols, poll_interval_s: config.scheduler.poll_interval_seconds, lake: runtime.writer.stats().store },
        'REST ingestor running',
      );
    },

    stop() {
      return (stopping ??= (async () => {
        running = false;
        if (pollTimer) clearTimeout(pollTimer);
        if (timeTimer) clearInterval(timeTimer);
        if (staleTimer) clearInterval(staleTimer);
        const w = waiters;
        waiters = [];
        for (const f of w) f();
        await listener?.stop();
        await Promise.allSettled([cycle, timeCheck, staleCheck]);
        await runtime.close();
        if (blocking) {
          try {
            await blocking.quit();
          } catch {
            blocking.disconnect();
          }
        }
      })());
    },

    nextCycle() {
      return new Promise<void>((resolve) => {
        if (!running) return resolve();
        waiters.push(resolve);
      });
    },

    health(): HealthReport {
      return runtime.health();
    },

    stats() {
      return { service: config.service_name, running, requests: listener?.stats() ?? null, ...runtime.stats() };
    },
  };
}
