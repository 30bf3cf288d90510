import type { SbeStreamStats } from '../binance/sbe-stream-client.js';
import type { KinesisProducerStats } from '../kinesis/producer.js';
import { worstStatus, type HealthReport, type HealthStatus } from '../ops/health.js';
import type { IngestPipelineStats } from './ingest-sbe-pipeline.js';

/**
 * The SBE ingestor's /health document (the seed's shape) from its components' stats. Pure.
 *
 * Overall status:
 * - unhealthy: the WebSocket client is stopped (the service is not running), or the Kinesis buffer is
 *   full enough that events are being dropped (≥ 90 % of max_buffer_events);
 * - degraded: reconnect attempts exhausted (degraded mode), not connected, connected but silent for longer
 *   than the watchdog, or the Kinesis producer failing (events are buffered and retried meanwhile);
 * - healthy otherwise.
 */
export interface SbeHealthInput {
  service: string;
  ws: SbeStreamStats;
  producer: KinesisProducerStats;
  decoder: IngestPipelineStats;
  watchdogMs: number;
  maxBufferEvents: number;
}

export function buildSbeHealth(i: SbeHealthInput): HealthReport {
  const statuses: HealthStatus[] = [];
  const ws = i.ws;
  if (ws.status === 'stopped') statuses.push('unhealthy');
  else if (ws.status !== 'connected') statuses.push('degraded');
  else if (ws.last_message_age_ms !== null && ws.last_message_age_ms > i.watchdogMs) statuses.push('degraded');
  const p = i.producer;
  if (p.buffer_size >= 0.9 * i.maxBufferEvents) statuses.push('unhealthy');
  else if (p.status !== 'healthy') statuses.push('degraded');
  return {
    status: worstStatus(statuses),
    service: i.service,
    components: {
      sbe_websocket: {
        status: ws.status,
        last_message_age_ms: ws.last_message_age_ms,
        messages_per_second: ws.messages_per_second,
        reconnect_count: ws.reconnect_count,
      },
      kinesis_producer: {
        status: p.status,
        success_rate: p.success_rate,
        avg_latency_ms: p.avg_latency_ms,
        buffer_size: p.buffer_size,
      },
      sbe_decoder: {
        status: 'loaded',
        decode_errors: i.decoder.decode_errors,
        messages_decoded: i.decoder.messages_decoded,
        avg_decode_time_us: i.decoder.avg_decode_time_us,
      },
    },
  };
}
