/** The aggregator's Prometheus metrics (names from the seed, plus book status and end-to-end latency). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PipelineHooks } from './aggregate-pipeline.js';

export interface AggregatorMetrics {
  recordsProcessed: Counter<'stream'>;
  kinesisErrors: Counter<'stream' | 'phase'>;
  redisOperations: Counter<'result'>;
  redisLatency: Histogram;
  featureUpdates: Counter<'symbol'>;
  featureDuration: Histogram;
  reanchorOperations: Counter<'result'>;
  reanchorRequests: Counter<'reason'>;
  reanchorDuration: Histogram;
  bookStatus: Gauge<'symbol'>;
  endToEnd: Histogram;
  decodeErrors: Counter;
  deadLetters: Counter<'reason' | 'stream'>;
  writeQuarantined: Counter<'part'>;
  /** The pipeline hooks that feed these metrics. */
  hooks: PipelineHooks;
}

export function createAggregatorMetrics(registry: Registry): AggregatorMetrics {
  const registers = [registry];
  const recordsProcessed = new Counter({
    name: 'aggregator_kinesis_records_processed_total',
    help: 'Kinesis user records (de-aggregated events) processed, by stream',
    labelNames: ['stream'] as const,
    registers,
  });
  const kinesisErrors = new Counter({
    name: 'aggregator_kinesis_errors_total',
    help: 'Kinesis consumer errors by stream and phase (discover, iterator, poll, handler, checkpoint)',
    labelNames: ['stream', 'phase'] as const,
    registers,
  });
  const redisOperations = new Counter({
    name: 'aggregator_redis_operations_total',
    help: 'Redis projection writes (one MULTI per batch), by result',
    labelNames: ['result'] as const,
    registers,
  });
  const redisLatency = new Histogram({
    name: 'aggregator_redis_write_duration_seconds',
    help: 'Duration of one projection write (one round trip)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
    registers,
  });
  const featureUpdates = new Counter({
    name: 'aggregator_feature_updates_total',
    help: 'Feature vectors written to feat:{SYM}',
    labelNames: ['symbol'] as const,
    registers,
  });
  const featureDuration = new Histogram({
    name: 'aggregator_feature_computation_duration_seconds',
    help: 'Time to compute one feature vector',
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02],
    registers,
  });
  const reanchorOperations = new Counter({
    name: 'aggregator_reanchor_operations_total',
    help: 'Re-anchor snapshots handled: ok (book live again), gap (buffered diffs did not connect), stale, expired, timeout',
    labelNames: ['result'] as const,
    registers,
  });
  const reanchorRequests = new Counter({
    name: 'aggregator_reanchor_requests_total',
    help: 'Re-anchor requests sent on reanchor:requests, by reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const reanchorDuration = new Histogram({
    name: 'aggregator_reanchor_duration_seconds',
    help: 'From the first re-anchor request of an episode to the book being live again',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers,
  });
  const bookStatus = new Gauge({
    name: 'aggregator_book_status',
    help: 'Order book status per symbol: 1 live, 0 resyncing',
    labelNames: ['symbol'] as const,
    registers,
  });
  const endToEnd = new Histogram({
    name: 'aggregator_end_to_end_latency_seconds',
    help: 'Frame received by the ingestor (recv_ts_us) to the Redis write containing the event returning',
    buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 5],
    registers,
  });
  const decodeErrors = new Counter({
    name: 'aggregator_record_decode_errors_total',
    help: 'Kinesis user records that were not valid normalized events (skipped)',
    registers,
  });
  const deadLetters = new Counter({
    name: 'aggregator_dead_letter_records_total',
    help: 'Records rejected and put in the deadletter:records stream, by reason (malformed, invalid, future) and stream',
    labelNames: ['reason', 'stream'] as const,
    registers,
  });
  const writeQuarantined = new Counter({
    name: 'aggregator_redis_write_quarantined_total',
    help: 'Parts of projection writes Redis refused for good (non-retryable), dropped instead of retried, by part',
    labelNames: ['part'] as const,
    registers,
  });
  const hooks: PipelineHooks = {
    onEndToEnd: (secs) => {
      for (const s of secs) endToEnd.observe(s);
    },
    onFeatures: (symbol, sec) => {
      featureUpdates.inc({ symbol });
      featureDuration.observe(sec);
    },
    onReanchorRequest: (_symbol, reason) => reanchorRequests.inc({ reason }),
    onReanchorOutcome: (_symbol, outcome, duration) => {
      reanchorOperations.inc({ result: outcome });
      if (duration !== undefined) reanchorDuration.observe(duration);
    },
    onBookStatus: (symbol, live) => bookStatus.set({ symbol }, live ? 1 : 0),
    onDeadLetter: (reason, stream) => deadLetters.inc({ reason, stream }),
    onWriteQuarantined: (_symbol, part) => writeQuarantined.inc({ part }),
  };
  return {
    recordsProcessed,
    kinesisErrors,
    redisOperations,
    redisLatency,
    featureUpdates,
    featureDuration,
    reanchorOperations,
    reanchorRequests,
    reanchorDuration,
    bookStatus,
    endToEnd,
    decodeErrors,
    deadLetters,
    writeQuarantined,
    hooks,
  };
}
