/**
 * `btcpipe aggregate`: one Kinesis consumer per distinct stream name (by default one stream carries every
 * event type; with one stream per type, MergedStreamsIntake orders them by event time) → AggregatorPipeline
 * → Redis hot state, with Redis checkpoints saved only after the batch's projection write succeeded, the
 * `reanchor:done` follower, and a timer that keeps features (and re-anchor requests) from going stale when
 * no batch arrives. Wiring only: the processing lives in aggregate-pipeline.ts (shared with Lambda).
 * With consumer_config.leases several aggregator processes share the stream's shards: a LeaseCoordinator
 * decides which shards this process reads, and every write of a symbol carries the epoch of the lease its
 * records came under (refused in Redis once a newer owner wrote the symbol).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { redisFromConfig } from './redis-from-config.js';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { BtcpipeConfig } from '../ops/config.js';
import { correlationId, type Logger } from '../ops/logger.js';
import { createRegistry } from '../ops/metrics.js';
import { worstStatus, type HealthReport, type HealthStatus } from '../ops/health.js';
import { createKinesisClient } from '../kinesis/client.js';
import { ensureStreams } from '../kinesis/embedded.js';
import { KinesisStreamConsumer, type ConsumedRecord } from '../kinesis/consumer.js';
import { RedisCheckpointStore } from '../kinesis/redis-checkpoints.js';
import { LeaseCoordinator } from '../kinesis/lease-coordinator.js';
import { RateMeter } from '../kinesis/rate-meter.js';
import { Counter, Gauge } from 'prom-client';
import { waitForRedisReady, type RedisClient } from '../redis/connect.js';
import { ProjectionWriter } from '../redis/projection.js';
import type { Service } from './service.js';
import { AggregatorPipeline, type PipelineHooks } from './aggregate-pipeline.js';
import { createAggregatorMetrics } from './aggregate-metrics.js';
import { lastReanchorDoneId, ReanchorDoneListener } from './aggregate-reanchor.js';
import { MergedStreamsIntake } from './aggregate-merge.js';
import { batchLogger } from './aggregate-log.js';
import { withDirectCalls } from '../kinesis/direct-calls.js';
import { PredictionServer } from './aggregate-predict.js';
import { loadModelFile } from '../model/model-file.js';

type StreamKey = 'trade' | 'depth' | 'bestbidask';
const STREAM_KEYS: readonly StreamKey[] = ['trade', 'depth', 'bestbidask'];

/** The distinct stream names of a config, in trade, depth, bestbidask order. */
export function distinctStreams(streams: Record<StreamKey, string>): string[] {
  return [...new Set(STREAM_KEYS.map((k) => streams[k]))];
}
const HEALTH_NAMES: Record<StreamKey, string> = { trade: 'trade_stream', depth: 'depth_stream', bestbidask: 'bestbidask_stream' };
/** A book resyncing longer than this makes the service degraded (a short resync is normal operation). */
const RESYNC_DEGRADED_MS = 30_000;

export class AggregatorStartError extends Error {
  override readonly name = 'AggregatorStartError';
}

/** Kinesis client from config; emulator endpoints without AWS credentials in the environment get dummy ones. */
export function aggregatorKinesisClient(config: BtcpipeConfig, env: NodeJS.ProcessEnv = process.env): KinesisClient {
  const endpoint = config.aws.endpoint_url;
  const dummy = endpoint !== undefined && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE;
  return createKinesisClient({
    region: config.aws.region,
    endpoint,
    ...(dummy ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export function aggregatorRedis(config: BtcpipeConfig, opts: { blocking?: boolean; logger?: Logger } = {}): RedisClient {
  let lastLogged = 0;
  return redisFromConfig(config, {
    blocking: opts.blocking,
    connectionName: opts.blocking ? 'btcpipe-aggregator-reanchor' : 'btcpipe-aggregator',
    onError: (err) => {
      // Connection errors repeat on every reconnect attempt: one line per 10 s is enough.
      if (Date.now() - lastLogged > 10_000) {
        lastLogged = Date.now();
        opts.logger?.warn({ err: err.message, blocking: opts.blocking ?? false }, 'redis connection error');
      }
    },
  });
}

/** Optional extras for benches and tests (the CLI passes none). */
export interface AggregatorDeps {
  /** Called alongside the metrics, e.g. to collect exact end-to-end latencies. */
  hooks?: PipelineHooks;
  /** After a batch's projection write succeeded: Kinesis arrival times of its records and when GetRecords
   *  returned them (latency split: transport vs our processing). */
  onBatchWritten?(info: { stream: string; arrivalMs: readonly number[]; receivedMs: number; writtenAtMs: number }): void;
}

export function createAggregatorService(config: BtcpipeConfig, logger: Logger, deps: AggregatorDeps = {}): Service {
  const registry = createRegistry(config.service_name);
  const metrics = createAggregatorMetrics(registry);
  const hooks = combineHooks(metrics.hooks, deps.hooks);
  const p = config.processing;
  const streams = config.aws.kinesis.streams;
  const cc = config.aws.kinesis.consumer_config;

  let redis: RedisClient | undefined;
  let blocking: RedisClient | undefined;
  let writer: ProjectionWriter | undefined;
  let pipeline: AggregatorPipeline | undefined;
  let listener: ReanchorDoneListener | undefined;
  let kinesis: KinesisClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  const streamNames = distinctStreams(streams);
  /** Consumers by stream name (one per distinct name). */
  const consumers = new Map<string, KinesisStreamConsumer>();
  let intake: MergedStreamsIntake | undefined;
  const writeRate = new RateMeter(10);
  let started = false;
  let stopping: Promise<void> | undefined;
  /** Serves processing.model_file as pred:{SYM}; created once (its metrics live in the registry for good). */
  let predictor: PredictionServer | undefined;

  const leaseCfg = cc.leases;
  /** Shard leases: one coordinator per stream (one stream only, see start()). */
  const coordinators = new Map<string, LeaseCoordinator>();
  /** The lease epoch each symbol's writes carry (partition key = symbol), and the symbols seen per shard. */
  const symbolEpoch = new Map<string, number>();
  const shardSymbols = new Map<string, Set<string>>();
  const leaseEvents = new Counter({
    name: 'aggregator_shard_lease_events_total',
    help: 'Shard lease events of this worker: taken, lost (renewal refused or not confirmed in time), handed_over, finished, stopped',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'aggregator_shard_leases_held',
    help: 'Shard leases this worker holds now (leases on)',
    registers: [registry],
    collect() {
      let n = 0;
      for (const c of coordinators.values()) n += c.readable().length;
      this.set(n);
    },
  });
  const fencedWrites = new Counter({
    name: 'aggregator_fenced_symbol_writes_total',
    help: 'Symbol writes refused because another worker holds their shard now (lease fence)',
    registers: [registry],
  });
  const workerId = leaseCfg.worker_id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9._:@-]/g, '-').slice(-128);

  const noteLeasedBatch = (shardId: string, epoch: number, batch: readonly ConsumedRecord[]): void => {
    let syms = shardSymbols.get(shardId);
    if (!syms) shardSymbols.set(shardId, (syms = new Set()));
    for (const r of batch) {
      symbolEpoch.set(r.partitionKey, epoch);
      syms.add(r.partitionKey);
    }
  };

  /** A shard lease was lost or handed over: its symbols are another worker's now. */
  const dropShard = (shardId: string, epoch: number): void => {
    const syms = shardSymbols.get(shardId);
    if (!syms) return;
    for (const sym of syms) {
      if (symbolEpoch.get(sym) !== epoch) continue;
      symbolEpoch.delete(sym);
      pipeline?.forgetSymbol(sym);
    }
    shardSymbols.delete(shardId);
  };

  const handle = async (stream: string, batch: ConsumedRecord[], millisBehindLatest: number, shardId?: string, leaseEpoch?: number): Promise<void> => {
    const pl = pipeline as AggregatorPipeline;
    if (leaseEpoch !== undefined && shardId !== undefined) noteLeasedBatch(shardId, leaseEpoch, batch);
    const log = batchLogger(logger, stream);
    const records = batch.map((r) => ({ data: r.data, stream, shardId: r.shardId, sequenceNumber: r.sequenceNumber }));
    let invalid: number;
    if (intake) {
      ({ invalid } = await intake.ingest(stream, records, millisBehindLatest === 0, log));
    } else {
      ({ invalid } = await pl.ingestRecords(records, log));
      // Resolves only once a write containing this batch succeeded: the consumer checkpoints after it.
      await pl.flush();
    }
    if (invalid > 0) metrics.decodeErrors.inc(invalid);
    if (deps.onBatchWritten && batch.length > 0) {
      deps.onBatchWritten({ stream, arrivalMs: batch.map((r) => r.arrivalMs), receivedMs: batch[0].receivedMs, writtenAtMs: Date.now() });
    }
    metrics.recordsProcessed.inc({ stream }, batch.length);
    if (logger.isLevelEnabled('debug')) log.debug({ records: batch.length }, 'batch applied');
  };

  const tick = (): void => {
    const pl = pipeline;
    if (!pl) return;
    pl.markFeaturesDue();
    void pl
      .sendReanchorRequests()
      .then(() => (pl.hasDirty ? pl.flush() : undefined))
      .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'timer flush failed; retried'));
  };

  async function start(): Promise<void> {
    if (started) return;
    if (leaseCfg.enabled && streamNames.length > 1) {
      // A symbol's events would come through leases of different streams, held by different workers, and
      // each would fence the other's writes.
      throw new AggregatorStartError(
        `aggregator: consumer_config.leases needs every event type in one stream; got ${streamNames.join(', ')}`,
      );
    }
    started = true;
    stopping = undefined;
    if (p.model_file && !predictor) {
      try {
        const model = await loadModelFile(p.model_file);
        predictor = new PredictionServer({ model, source: p.model_file, cluster: config.redis.cluster, registry, logger });
        logger.info({ model_id: model.model_id, model_file: p.model_file, symbol: model.symbol }, 'serving predictions as pred:{SYM}');
      } catch (err) {
        started = false;
        throw new AggregatorStartError(`aggregator: processing.model_file: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    redis = aggregatorRedis(config, { logger });
    blocking = aggregatorRedis(config, { blocking: true, logger });
    const readyMs = Math.max(5000, config.redis.socket_connect_timeout_seconds * 5000);
    try {
      await Promise.all([waitForRedisReady(redis, readyMs), waitForRedisReady(blocking, readyMs)]);
    } catch (err) {
      redis.disconnect();
      blocking.disconnect();
      started = false;
      throw new AggregatorStartError(`aggregator: Redis ${config.redis.host}:${config.redis.port} not reachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    writer = new ProjectionWriter(redis, {
      cluster: config.redis.cluster,
      logger,
      ...(leaseCfg.enabled ? { fencing: { epochOf: (s: string) => symbolEpoch.get(s) } } : {}),
      onBatch: ({ latencyMs, ok, fenced }) => {
        metrics.redisOperations.inc({ result: ok ? 'ok' : 'error' });
        if (fenced) fencedWrites.inc(fenced);
        if (ok) {
          metrics.redisLatency.observe(latencyMs / 1000);
          writeRate.add(1);
        }
      },
    });
    pipeline = new AggregatorPipeline({
      redis,
      writer,
      cluster: config.redis.cluster,
      depth: p.order_book_levels,
      featureIntervalMs: p.feature_update_interval_seconds * 1000,
      reanchorRequestIntervalMs: p.reanchor_request_interval_seconds * 1000,
      maxBufferedDiffs: p.max_buffered_diffs,
      maxEventTimeSkewMs: p.max_event_time_skew_seconds * 1000,
      staleAfterMs: p.stale_after_seconds * 1000,
      logger,
      hooks: predictor ? combineHooks(hooks, predictor.hooks) : hooks,
    });
    predictor?.attach(redis);
    const pl = pipeline;
    listener = new ReanchorDoneListener({
      redis: blocking,
      startId: await lastReanchorDoneId(redis),
      logger,
      onDone: async (entry) => {
        // No `symbol` binding: the applied line names it, and a request this sends may be another symbol's.
        const log = logger.child({ cid: correlationId() });
        const outcome = pl.applyReanchorDone(entry, log);
        if (outcome === 'unknown_symbol') return;
        await pl.sendReanchorRequests(log);
        await pl.flush();
      },
    });
    listener.start();

    // GetRecords is the hot call: sent directly (same endpoint, credentials and signature; see the module).
    kinesis = withDirectCalls(aggregatorKinesisClient(config));
    if (config.aws.kinesis.create_streams) {
      await ensureStreams(kinesis, streamNames).catch((err: unknown) =>
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not create Kinesis streams; consumers keep retrying'),
      );
    }
    const checkpoints = new RedisCheckpointStore(redis);
    intake =
      streamNames.length > 1
        ? new MergedStreamsIntake({
            pipeline: pl,
            streams: streamNames,
            idleGraceMs: cc.watermark_idle_ms,
            maxHoldMs: cc.watermark_max_hold_ms,
            logger,
            // Empty polls at the tip move no batch through. A stream whose consumer is failing holds nothing
            // back (its events are late either way; the others go on).
            caughtUp: (name) => {
              const st = consumers.get(name)?.stats();
              return st === undefined || st.lag_seconds === 0 || st.status === 'error';
            },
          })
        : undefined;
    for (const name of streamNames) {
      const coordinator = leaseCfg.enabled
        ? new LeaseCoordinator({
            redis,
            kinesis,
            stream: name,
            workerId,
            timing: {
              durationMs: leaseCfg.duration_ms,
              renewIntervalMs: leaseCfg.renew_interval_ms,
              takeIntervalMs: leaseCfg.take_interval_ms,
              safetyMarginMs: Math.min(1000, Math.floor(leaseCfg.duration_ms / 10)),
            },
            initialPosition: cc.shard_iterator_type,
            shardSyncIntervalMs: leaseCfg.shard_sync_interval_ms,
            logger,
            hooks: {
              onAcquired: () => leaseEvents.inc({ event: 'taken' }),
              onReleased: (shardId, epoch, reason) => {
                leaseEvents.inc({ event: reason });
                // A finished parent's symbols continue in its children; whoever reads those raises the fence.
                if (reason === 'lost' || reason === 'handed_over') dropShard(shardId, epoch);
              },
            },
          })
        : undefined;
      if (coordinator) coordinators.set(name, coordinator);
      const c = new KinesisStreamConsumer({
        client: kinesis,
        stream: name,
        handler: (batch, ctx) => handle(name, batch, ctx.millisBehindLatest, ctx.shardId, ctx.leaseEpoch),
        checkpoints,
        ...(coordinator ? { leases: coordinator } : {}),
        initialPosition: cc.shard_iterator_type,
        pollIntervalMs: cc.poll_interval_ms,
        maxRecordsPerPoll: cc.max_records_per_poll,
        logger,
        hooks: { onError: ({ phase }) => metrics.kinesisErrors.inc({ stream: name, phase }) },
      });
      consumers.set(name, c);
    }
    // One stream failing to start (e.g. missing) is retried inside its consumer; the others run regardless.
    await Promise.all([...consumers.values()].map((c) => c.start()));
    await Promise.all([...coordinators.values()].map((c) => c.start()));
    if (leaseCfg.enabled) logger.info({ worker_id: workerId, lease_ms: leaseCfg.duration_ms }, 'aggregator sharing shards by lease');
    // Often enough that a book going stale says so within a quarter second of crossing the threshold.
    const period = Math.max(50, Math.min(250, (p.feature_update_interval_seconds * 1000) / 2));
    timer = setInterval(tick, period);
    logger.info({ streams, redis: `${config.redis.host}:${config.redis.port}` }, 'aggregator consuming');
  }

  function stop(): Promise<void> {
    if (!started) return stopping ?? Promise.resolve();
    started = false;
    stopping = (async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      // Held batches must settle before their consumers can stop.
      const stopping = Promise.allSettled([...consumers.values()].map((c) => c.stop()));
      await intake?.close();
      await stopping;
      await intake?.idle();
      const l = listener?.stop();
      blocking?.disconnect();
      await l;
      await pipeline?.idle();
      // A last attempt so features/ob written by the timer are current; failures are harmless here.
      if (pipeline?.hasDirty) await pipeline.flush().catch(() => undefined);
      // Released only now: the readers stopped and their last checkpoints are in the leases.
      await Promise.allSettled([...coordinators.values()].map((c) => c.stop()));
      coordinators.clear();
      symbolEpoch.clear();
      shardSymbols.clear();
      await predictor?.idle();
      predictor?.attach(undefined);
      consumers.clear();
      intake = undefined;
      kinesis?.destroy();
      if (redis) await redis.quit().catch(() => redis?.disconnect());
      redis = blocking = undefined;
      listener = undefined;
    })();
    return stopping;
  }

  function consumerHealth(): Record<string, unknown> {
    // The design notes' shape: one entry per event type's stream (several entries share one consumer when
    // the types share a stream).
    const out: Record<string, unknown> = {};
    for (const key of STREAM_KEYS) {
      const s = consumers.get(streams[key])?.stats();
      out[HEALTH_NAMES[key]] = s
        ? { stream: streams[key], status: s.status, records_per_second: s.records_per_second, lag_seconds: s.lag_seconds, last_processed: s.last_processed }
        : { stream: streams[key], status: 'stopped', records_per_second: 0, lag_seconds: 0, last_processed: null };
    }
    return out;
  }

  function health(): HealthReport {
    const statuses: HealthStatus[] = [];
    const consumersH = consumerHealth();
    const cs = [...consumers.values()].map((c) => c.stats().status);
    if (!started) statuses.push('unhealthy');
    if (cs.length > 0 && cs.every((s) => s === 'error')) statuses.push('unhealthy');
    else if (cs.includes('error')) statuses.push('degraded');

    const redisReady = redis?.status === 'ready';
    if (started && !redisReady) statuses.push('unhealthy');
    const ws = writer?.stats();
    const wrate = writeRate.perSecond();
    const redisH = {
      status: redisReady ? 'connected' : 'disconnected',
      // ioredis multiplexes one socket for commands (plus one for the blocking reader): 2 of the pool.
      connection_pool_usage: Math.round((2 / config.redis.connection_pool_size) * 1000) / 1000,
      connections: 2,
      operations_per_second: Math.round(wrate * 10) / 10,
      avg_latency_ms: ws ? Math.round(ws.avgLatencyMs * 1000) / 1000 : 0,
      last_latency_ms: ws ? Math.round(ws.lastLatencyMs * 1000) / 1000 : 0,
      errors: ws?.errors ?? 0,
    };

    const fa = pipeline?.featureActivity() ?? { perMinute: 0, lastMs: 0 };
    const symbols = pipeline?.symbols() ?? [];
    const featStale = fa.lastMs > 0 && Date.now() - fa.lastMs > 3 * p.feature_update_interval_seconds * 1000;
    if (featStale) statuses.push('degraded');
    const completeness = symbols.length ? symbols.reduce((a, s) => a + s.feature_completeness, 0) / symbols.length : 0;
    const featureH = {
      status: fa.lastMs === 0 ? 'waiting' : featStale ? 'stale' : 'active',
      last_feature_update: fa.lastMs ? new Date(fa.lastMs).toISOString() : null,
      features_per_minute: fa.perMinute,
      feature_completeness: Math.round(completeness * 1000) / 1000,
    };

    const counters = pipeline?.counters();
    const outcomes = counters?.reanchor_outcomes ?? {};
    const finished = (outcomes.ok ?? 0) + (outcomes.gap ?? 0) + (outcomes.expired ?? 0) + (outcomes.timeout ?? 0);
    const active = pipeline?.activeReanchors() ?? 0;
    const last = pipeline?.lastReanchorMs() ?? 0;
    const reanchorH = {
      status: active > 0 ? 'reanchoring' : 'ready',
      active_reanchors: active,
      last_reanchor: last ? new Date(last).toISOString() : null,
      reanchor_success_rate: finished ? Math.round(((outcomes.ok ?? 0) / finished) * 1000) / 1000 : 1,
    };

    const books: Record<string, unknown> = {};
    for (const s of symbols) {
      books[s.symbol] = { status: s.status, last_update_id: s.last_update_id, buffered: s.buffered };
      if (s.resyncing_since && Date.now() - Date.parse(s.resyncing_since) > RESYNC_DEGRADED_MS) statuses.push('degraded');
    }
    return {
      status: worstStatus(statuses),
      service: config.service_name,
      components: {
        kinesis_consumers: consumersH,
        redis_cluster: redisH,
        feature_pipeline: featureH,
        reanchor_system: reanchorH,
        books,
        ...(predictor ? { predictor: predictor.health() } : {}),
      },
    };
  }

  function stats(): Record<string, unknown> {
    return {
      service: config.service_name,
      running: started,
      consumers: Object.fromEntries([...consumers].map(([name, c]) => [name, c.stats()])),
      stream_merge: intake ? intake.stats() : null,
      leases: coordinators.size > 0 ? Object.fromEntries([...coordinators].map(([name, c]) => [name, c.stats()])) : null,
      redis: { status: redis?.status ?? 'closed', projection: writer?.stats() ?? null },
      pipeline: pipeline?.counters() ?? null,
      reanchor_done_position: listener?.position ?? null,
      reanchor_done_read_errors: listener?.errorCount ?? 0,
      symbols: pipeline?.symbols() ?? [],
      predictions: predictor?.stats() ?? null,
      memory: { rss_bytes: process.memoryUsage().rss },
    };
  }

  return { name: config.service_name, registry, start, stop, health, stats };
}

/** Both sets of hooks, each called for every observation (a hook added to PipelineHooks is forwarded too). */
function combineHooks(a: PipelineHooks, b: PipelineHooks | undefined): PipelineHooks {
  if (!b) return a;
  const out: Record<string, (...args: never[]) => void> = {};
  const names = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof PipelineHooks>;
  for (const name of names) {
    const fa = a[name] as ((...args: unknown[]) => void) | undefined;
    const fb = b[name] as ((...args: unknown[]) => void) | undefined;
    out[name] = (...args: unknown[]) => {
      fa?.(...args);
      fb?.(...args);
    };
  }
  return out as PipelineHooks;
}
