/**
 * EventBridge schedule → Lambda: one REST-mode poll cycle per invocation, the SAME RestIngestRuntime.runCycle
 * the in-process service runs. The runtime (REST client with its weight budget, Redis connection, lake
 * store, gap detector state such as klines awaiting the volume check) lives in module scope and is reused
 * across warm invocations.
 *
 * Sequence criterion without a long-running listener: each invocation first drains `reanchor:requests`
 * (non-blocking) from the last id it handled; a cold start reads the requests of the last two poll
 * intervals. Re-anchors started by an invocation are awaited before it returns (a frozen Lambda would
 * otherwise leave the flag held until its TTL).
 *
 * Config: CONFIG_FILE (YAML, mode rest) or the defaults plus the usual environment overrides
 * (REDIS_HOST, REDIS_PORT, AWS_ENDPOINT_URL_S3, BINANCE_API_KEY …).
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { Registry } from 'prom-client';
import { loadConfig, resolveConfig, type BtcpipeConfig } from '../ops/config.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { readReanchorRequests } from '../redis/streams.js';
import { streamIdAfter } from '../services/gap-request-listener.js';
import { RestIngestRuntime, type CycleReport } from '../services/ingest-rest-runtime.js';

export interface ScheduledResult {
  cid: string;
  ok: boolean;
  durationMs: number;
  requestsHandled: number;
  symbols: CycleReport['symbols'];
}

interface Warm {
  runtime: RestIngestRuntime;
  logger: Logger;
  config: BtcpipeConfig;
  lastRequestId: string;
}

let warm: Promise<Warm> | undefined;

function configFromEnv(env: NodeJS.ProcessEnv): BtcpipeConfig {
  return env.CONFIG_FILE ? loadConfig(env.CONFIG_FILE, { mode: 'rest', env }) : resolveConfig({}, 'environment', { mode: 'rest', env });
}

async function init(config: BtcpipeConfig): Promise<Warm> {
  const logger = createLogger({ service: config.service_name, level: config.logging.level });
  const runtime = new RestIngestRuntime({ config, logger, registry: new Registry() });
  await runtime.connect(10_000);
  const lookbackMs = 2 * config.scheduler.poll_interval_seconds * 1000;
  return { runtime, logger, config, lastRequestId: streamIdAfter(Date.now() - lookbackMs) };
}

/** The handler factory: tests pass a config; the exported `handler` reads it from the environment. */
export function createScheduledHandler(getConfig: () => BtcpipeConfig = () => configFromEnv(process.env)) {
  return async (event: ScheduledEvent, _context?: Context): Promise<ScheduledResult> => {
    warm ??= init(getConfig()).catch((err: unknown) => {
      warm = undefined; // the next invocation retries a failed cold start
      throw err;
    });
    const w = await warm;
    const log = w.logger.child({ event_id: event.id, event_time: event.time });
    let handled = 0;
    try {
      const reqs = await readReanchorRequests(w.runtime.redis, w.lastRequestId, 0, 1000);
      if (reqs.length > 0) {
        w.lastRequestId = reqs[reqs.length - 1].id;
        handled = reqs.length;
        w.runtime.onRequests(reqs);
      }
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 're-anchor requests not read this invocation');
    }
    const report = await w.runtime.runCycle({ timeCheck: true, awaitReanchors: true });
    return { cid: report.cid, ok: report.ok, durationMs: Math.round(report.durationMs), requestsHandled: handled, symbols: report.symbols };
  };
}

export const handler = createScheduledHandler();

/** Close the module-scope runtime (tests; a Lambda process simply ends). */
export async function disposeScheduledHandler(): Promise<void> {
  const w = warm;
  warm = undefined;
  if (w) await (await w).runtime.close();
}
