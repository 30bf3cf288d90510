/**
 * AWS Lambda handler for Kinesis events: the same processing as the aggregator service
 * (AggregatorPipeline), with its state in module scope so it survives warm invocations. A cold start
 * has no book, so it asks for a re-anchor exactly like a freshly started aggregator; `reanchor:done` is
 * read without blocking at the start of each invocation.
 *
 * Config: CONFIG_FILE (a YAML config, mode aggregator) or the defaults plus REDIS_HOST / REDIS_PORT.
 * Failure: when the batch cannot be written to Redis, every record is reported in batchItemFailures
 * (partial batch response, "ReportBatchItemFailures") so Lambda retries from the first one; re-applying
 * records already applied is idempotent in the core.
 *
 * One stream only: Lambda runs one instance per shard, so with one stream per event type each instance would
 * hold a partial view of a symbol (the depth instance the book, the trade instance the windows) and each
 * would write ob, tr and feat: a frozen book served `live` between real ones, tr alternating with zeros.
 * With every type on one stream keyed by symbol, a symbol's whole history reaches one instance in order.
 * A config naming several streams is therefore refused at cold start (LambdaConfigError), and so is a
 * record from a stream other than the configured one.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { loadConfig, resolveConfig, type BtcpipeConfig } from '../ops/config.js';
import { correlationId, createLogger, type Logger } from '../ops/logger.js';
import { deaggregateRecordData } from '../kinesis/deaggregate.js';
import { waitForRedisReady, type RedisClient } from '../redis/connect.js';
import { ProjectionWriter } from '../redis/projection.js';
import { readReanchorDone } from '../redis/streams.js';
import { AggregatorPipeline, type PipelineRecord } from '../services/aggregate-pipeline.js';
import { lastReanchorDoneId } from '../services/aggregate-reanchor.js';
import { aggregatorRedis } from '../services/aggregate.js';

interface WarmState {
  config: BtcpipeConfig;
  logger: Logger;
  redis: RedisClient;
  pipeline: AggregatorPipeline;
  doneId: string;
  invocations: number;
  stream: string;
}

let warm: Promise<WarmState> | undefined;

/** The handler's config: CONFIG_FILE when set, else the defaults with the environment overrides. */
export function lambdaConfig(env: NodeJS.ProcessEnv = process.env): BtcpipeConfig {
  return env.CONFIG_FILE
    ? loadConfig(env.CONFIG_FILE, { mode: 'aggregator', env })
    : resolveConfig({}, 'environment', { mode: 'aggregator', env });
}

export class LambdaConfigError extends Error {
  override readonly name = 'LambdaConfigError';
}

/** The one stream the handler consumes; throws LambdaConfigError when the config names several. */
export function lambdaStream(config: BtcpipeConfig): string {
  const s = config.aws.kinesis.streams;
  const names = [...new Set([s.trade, s.depth, s.bestbidask])];
  if (names.length !== 1) {
    throw new LambdaConfigError(
      `the Lambda aggregator needs every event type on one stream, but aws.kinesis.streams names ${names.join(', ')}: ` +
        'each Lambda instance would hold a partial state and overwrite the others (set trade, depth and bestbidask to one name)',
    );
  }
  return names[0];
}

/** The stream name of an event source ARN (arn:aws:kinesis:region:account:stream/NAME). */
function streamOfArn(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const i = arn.lastIndexOf(':stream/');
  return i < 0 ? undefined : arn.slice(i + ':stream/'.length);
}

async function coldStart(): Promise<WarmState> {
  const config = lambdaConfig();
  const stream = lambdaStream(config);
  const logger = createLogger({ service: `${config.service_name}-lambda`, level: config.logging.level });
  const redis = aggregatorRedis(config, { logger });
  try {
    await waitForRedisReady(redis, Math.max(2000, config.redis.socket_connect_timeout_seconds * 3000));
    const pipeline = new AggregatorPipeline({
      redis,
      writer: new ProjectionWriter(redis, { cluster: config.redis.cluster, logger }),
      cluster: config.redis.cluster,
      depth: config.processing.order_book_levels,
      featureIntervalMs: config.processing.feature_update_interval_seconds * 1000,
      reanchorRequestIntervalMs: config.processing.reanchor_request_interval_seconds * 1000,
      maxBufferedDiffs: config.processing.max_buffered_diffs,
      maxEventTimeSkewMs: config.processing.max_event_time_skew_seconds * 1000,
      staleAfterMs: config.processing.stale_after_seconds * 1000,
      logger,
    });
    const doneId = await lastReanchorDoneId(redis);
    logger.info({ redis: `${config.redis.host}:${config.redis.port}` }, 'lambda cold start');
    return { config, logger, redis, pipeline, doneId, invocations: 0, stream };
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}

function allFailed(event: KinesisStreamEvent): KinesisStreamBatchResponse {
  return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
}

export const handler = async (event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> => {
  let w: WarmState;
  try {
    warm ??= coldStart();
    w = await warm;
  } catch (err) {
    warm = undefined; // the next invocation tries again
    const log = createLogger({ service: 'bitcoin-aggregator-lambda' });
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'lambda start-up failed; batch will be retried');
    return allFailed(event);
  }
  w.invocations++;
  const log = w.logger.child({ cid: context?.awsRequestId ?? correlationId() });

  try {
    for (const done of await readReanchorDone(w.redis, w.doneId, 0)) {
      w.doneId = done.id;
      w.pipeline.applyReanchorDone(done, log);
    }
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'reading reanchor:done failed');
  }

  const payloads: PipelineRecord[] = [];
  let corrupt = 0;
  let foreign = 0;
  for (const r of event.Records) {
    const from = streamOfArn(r.eventSourceARN);
    if (from !== undefined && from !== w.stream) {
      // Applying another stream's events would rebuild the partial states this handler refuses to keep.
      foreign++;
      continue;
    }
    try {
      for (const data of deaggregateRecordData(Buffer.from(r.kinesis.data, 'base64'))) {
        payloads.push({ data, stream: w.stream, shardId: r.eventID?.split(':')[0], sequenceNumber: r.kinesis.sequenceNumber });
      }
    } catch (err) {
      // A corrupt aggregated record never decodes: retrying it would block the shard forever.
      corrupt++;
      log.warn({ sequence: r.kinesis.sequenceNumber, err: err instanceof Error ? err.message : String(err) }, 'corrupt Kinesis record skipped');
    }
  }
  if (foreign > 0) {
    log.error({ alert: 'LAMBDA_WRONG_STREAM', records: foreign, configured: w.stream }, 'records from a stream other than the configured one were ignored');
  }
  try {
    const { applied, invalid } = await w.pipeline.ingestRecords(payloads, log);
    await w.pipeline.flush();
    log.debug({ records: event.Records.length, events: payloads.length, applied, invalid, corrupt }, 'lambda batch applied');
    return { batchItemFailures: [] };
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err), records: event.Records.length }, 'lambda batch not written; reporting failures for retry');
    return allFailed(event);
  }
};

/** Snapshot of the warm state (tests, diagnostics); undefined before the first invocation. */
export async function lambdaWarmState(): Promise<{ invocations: number; symbols: ReturnType<AggregatorPipeline['symbols']>; counters: ReturnType<AggregatorPipeline['counters']> } | undefined> {
  if (!warm) return undefined;
  const w = await warm.catch(() => undefined);
  return w && { invocations: w.invocations, symbols: w.pipeline.symbols(), counters: w.pipeline.counters() };
}

/** Drop the warm state and close its connection (the next invocation is a cold start). */
export async function disposeLambdaState(): Promise<void> {
  const w = await warm?.catch(() => undefined);
  warm = undefined;
  if (w) {
    await w.pipeline.idle();
    await w.redis.quit().catch(() => w.redis.disconnect());
  }
}
