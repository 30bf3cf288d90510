import { Counter, Histogram, type Registry } from 'prom-client';

/** The REST mode's Prometheus metrics (names from the ingestor seed). */
export interface RestIngestMetrics {
  apiCalls: Counter<'endpoint' | 'status'>;
  apiLatency: Histogram<'endpoint'>;
  gapsDetected: Counter<'symbol' | 'criterion'>;
  reanchors: Counter<'result'>;
  reanchorDuration: Histogram<'result'>;
  s3FilesWritten: Counter<'dataset'>;
  s3WriteErrors: Counter<'dataset'>;
  pollCycles: Counter<'result'>;
  futureEventTimes: Counter<'symbol' | 'clock'>;
  staleBooksMarked: Counter<'symbol'>;
}

export function createRestIngestMetrics(registry: Registry): RestIngestMetrics {
  return {
    apiCalls: new Counter({
      name: 'ingestor_rest_api_calls_total',
      help: 'Binance REST calls made, by endpoint and HTTP status (0 = no answer)',
      labelNames: ['endpoint', 'status'],
      registers: [registry],
    }),
    apiLatency: new Histogram({
      name: 'ingestor_rest_api_latency_seconds',
      help: 'Binance REST call latency',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    gapsDetected: new Counter({
      name: 'ingestor_rest_gaps_detected_total',
      help: 'Gaps in the hot path detected, by symbol and criterion (sequence, time, volume)',
      labelNames: ['symbol', 'criterion'],
      registers: [registry],
    }),
    reanchors: new Counter({
      name: 'ingestor_rest_reanchors_total',
      help: 'Atomic re-anchor attempts by result (ok, failed, skipped, rate_limited)',
      labelNames: ['result'],
      registers: [registry],
    }),
    reanchorDuration: new Histogram({
      name: 'ingestor_rest_reanchor_duration_seconds',
      help: 'Atomic re-anchor duration, flag set to swap done (or failure cleaned up)',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    s3FilesWritten: new Counter({
      name: 'ingestor_rest_s3_files_written_total',
      help: 'Bronze lake files written (S3 or local folder), by dataset',
      labelNames: ['dataset'],
      registers: [registry],
    }),
    s3WriteErrors: new Counter({
      name: 'ingestor_rest_s3_write_errors_total',
      help: 'Bronze lake writes that failed, by dataset',
      labelNames: ['dataset'],
      registers: [registry],
    }),
    pollCycles: new Counter({
      name: 'ingestor_rest_poll_cycles_total',
      help: 'Poll cycles run, by result (ok, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    futureEventTimes: new Counter({
      name: 'ingestor_rest_future_event_times_total',
      help: 'Hot-path event times (ob ts_us, tr last_ts_us) seen beyond the venue clock plus the allowed skew, by clock',
      labelNames: ['symbol', 'clock'],
      registers: [registry],
    }),
    staleBooksMarked: new Counter({
      name: 'ingestor_rest_stale_books_marked_total',
      help: 'Times a live ob:{SYM} older than processing.stale_after_seconds was marked status=stale (its aggregator is not writing it)',
      labelNames: ['symbol'],
      registers: [registry],
    }),
  };
}

/** Dataset of a bronze key (`bronze/agg_trades/symbol=…`), for the files-written label. */
export function datasetOfKey(key: string): string {
  const m = /(?:^|\/)(agg_trades|klines_1m|depth_snapshots)\//.exec(key);
  return m ? m[1] : 'other';
}
