import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConnectionStatus } from '../binance/sbe-stream-client.js';
import type { FrameStream } from './ingest-sbe-pipeline.js';

/**
 * The SBE ingestor's Prometheus metrics (names from the seed, plus the few the brief adds).
 *
 * ingestor_sbe_connection_status: 1 = connected, 0 = connecting / not connected, -1 = degraded (the
 * reconnect attempts are exhausted; still retrying at the backoff cap). Stopped reads 0.
 * ingestor_kinesis_records_sent_total counts user records (events) acknowledged by Kinesis; with KPL
 * aggregation many of them share one Kinesis record (ingestor_kinesis_aggregated_records_sent_total).
 */
export interface SbeIngestMetrics {
  decodeDuration: Histogram<string>;
  decodeErrors: Counter<'code'>;
  recordsSent: Counter<'stream'>;
  aggregatedRecordsSent: Counter<'stream'>;
  sequenceGaps: Counter<'symbol' | 'stream'>;
  duplicates: Counter<'symbol' | 'stream'>;
  dropped: Counter<'stream' | 'reason'>;
  reconnects: Counter<string>;
  rotations: Counter<string>;
  watchdogTimeouts: Counter<string>;
  degradedEntered: Counter<string>;
  bufferSize: Gauge<string>;
}

const FRAME_STREAMS: readonly FrameStream[] = ['trade', 'bestBidAsk', 'depth', 'depth20'];

export function connectionStatusValue(status: ConnectionStatus): number {
  if (status === 'connected') return 1;
  if (status === 'degraded') return -1;
  return 0;
}

export function createSbeIngestMetrics(
  registry: Registry,
  read: {
    connectionStatus(): ConnectionStatus;
    bufferSize(): number;
    heldEvents(): number;
    /** Messages decoded so far per venue stream (monotonic), read at scrape time. */
    messagesByStream(): Readonly<Record<FrameStream, number>>;
  },
): SbeIngestMetrics {
  const registers = [registry];
  // Counted by the pipeline and brought in at scrape time: the hot path does no metric work per message.
  const counted: Record<FrameStream, number> = { trade: 0, bestBidAsk: 0, depth: 0, depth20: 0 };
  new Counter({
    name: 'ingestor_sbe_messages_total',
    help: 'SBE binary messages decoded, by venue stream (trade, bestBidAsk, depth, depth20)',
    labelNames: ['stream'] as const,
    registers,
    collect() {
      const now = read.messagesByStream();
      for (const stream of FRAME_STREAMS) {
        const delta = now[stream] - counted[stream];
        if (delta > 0) {
          this.inc({ stream }, delta);
          counted[stream] = now[stream];
        }
      }
    },
  });
  new Gauge({
    name: 'ingestor_sbe_connection_status',
    help: 'SBE WebSocket: 1 connected, 0 connecting or not connected, -1 degraded (reconnect attempts exhausted)',
    registers,
    collect() {
      this.set(connectionStatusValue(read.connectionStatus()));
    },
  });
  const bufferSize = new Gauge({
    name: 'ingestor_kinesis_buffer_events',
    help: 'Events buffered or in flight in the Kinesis producer',
    registers,
    collect() {
      this.set(read.bufferSize());
    },
  });
  new Gauge({
    name: 'ingestor_sbe_held_events',
    help: 'Events of a connection running ahead during a rotation, held until the sequence reaches them',
    registers,
    collect() {
      this.set(read.heldEvents());
    },
  });
  return {
    decodeDuration: new Histogram({
      name: 'ingestor_sbe_decode_duration_seconds',
      help: 'SBE decode + normalize time per message (one message in 64 is timed)',
      buckets: [2.5e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2.5e-5, 1e-4, 1e-3, 1e-2],
      registers,
    }),
    decodeErrors: new Counter({
      name: 'ingestor_sbe_decode_errors_total',
      help: 'Binary frames that failed to decode, by SbeDecodeError code',
      labelNames: ['code'] as const,
      registers,
    }),
    recordsSent: new Counter({
      name: 'ingestor_kinesis_records_sent_total',
      help: 'Events (user records) acknowledged by Kinesis, by stream',
      labelNames: ['stream'] as const,
      registers,
    }),
    aggregatedRecordsSent: new Counter({
      name: 'ingestor_kinesis_aggregated_records_sent_total',
      help: 'Kinesis records (KPL aggregates when aggregation is on) acknowledged, by stream',
      labelNames: ['stream'] as const,
      registers,
    }),
    sequenceGaps: new Counter({
      name: 'ingestor_sbe_sequence_gaps_total',
      help: 'Sequence gaps detected (one gap = one run of missing trade ids or depth update ids)',
      labelNames: ['symbol', 'stream'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'ingestor_sbe_duplicates_dropped_total',
      help: 'Events dropped as already seen (rotation overlap, venue duplicates)',
      labelNames: ['symbol', 'stream'] as const,
      registers,
    }),
    dropped: new Counter({
      name: 'ingestor_kinesis_dropped_total',
      help: 'Events never delivered to Kinesis: buffer_full (bounded buffer), rejected (oversized / invalid), closed (unsent at shutdown)',
      labelNames: ['stream', 'reason'] as const,
      registers,
    }),
    reconnects: new Counter({
      name: 'ingestor_sbe_reconnects_total',
      help: 'SBE WebSocket reconnects (the connection closed or a connection attempt failed)',
      registers,
    }),
    rotations: new Counter({
      name: 'ingestor_sbe_rotations_total',
      help: 'Overlapping connection rotations (age limit or serverShutdown)',
      registers,
    }),
    watchdogTimeouts: new Counter({
      name: 'ingestor_sbe_watchdog_timeouts_total',
      help: 'Connections closed because no frame arrived within watchdog_timeout_seconds',
      registers,
    }),
    degradedEntered: new Counter({
      name: 'ingestor_sbe_degraded_total',
      help: 'Times the ingestor entered degraded mode (alert SBE_RECONNECTION_FAILED)',
      registers,
    }),
    bufferSize,
  };
}
