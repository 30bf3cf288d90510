/**
 * `btcpipe ingest --mode sbe`: the hot path. Binance SBE WebSocket (SbeStreamClient) → ids read + sequence
 * merge across rotating connections (SbeIngestPipeline) → Kinesis, one stream per event type, partition key = symbol
 * (KinesisProducer); each user record is the venue's SBE message in its envelope (aws.kinesis.record_format
 * sbe, the default) or one event's JSON (json). Wiring only: every rule lives in the modules it composes.
 *
 *   const service = createSbeIngestService(config, logger);   // config.mode === 'sbe'
 *   await runService(service, config, logger);                // /health, /stats, /metrics
 */
import { performance } from 'node:perf_hooks';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Registry } from 'prom-client';
import { SbeStreamClient, type SbeStreamType, type StreamLogger } from '../binance/sbe-stream-client.js';
import { ensureStreams } from '../kinesis/embedded.js';
import { createKinesisClient } from '../kinesis/client.js';
import { withDirectCalls } from '../kinesis/direct-calls.js';
import { describeError } from '../kinesis/errors.js';
import { KinesisProducer, type AckInfo } from '../kinesis/producer.js';
import { ConfigError, type BtcpipeConfig } from '../ops/config.js';
import type { HealthReport } from '../ops/health.js';
import { correlationId, scrubSecret, type Logger } from '../ops/logger.js';
import { createRegistry } from '../ops/metrics.js';
import type { Service } from './service.js';
import { buildSbeHealth } from './ingest-sbe-health.js';
import { createSbeIngestMetrics, type SbeIngestMetrics } from './ingest-sbe-metrics.js';
import { SbeIngestPipeline, type KinesisStreamNames } from './ingest-sbe-pipeline.js';
import { PutLatencyWindow } from './ingest-sbe-put-latency.js';

export interface SbeIngestDeps {
  /** Use this Kinesis client instead of one built from config.aws (not destroyed by stop()). */
  kinesisClient?: KinesisClient;
  /** Called for every acknowledged PutRecords (the bench measures frame → ack latency with it). */
  onAck?: (info: AckInfo) => void;
  /** Rotation overlap and handshake timeout of the WebSocket client (tests shorten them). */
  rotationOverlapMs?: number;
  handshakeTimeoutMs?: number;
  /** How long start() waits for the first connection outcome. Default 10 s. */
  startWaitMs?: number;
}

export class SbeIngestStartError extends Error {
  override readonly name = 'SbeIngestStartError';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * A Kinesis client from config.aws. Credentials come from the SDK's default chain, except for an
 * emulator on loopback with no credentials configured, which gets dummy ones (kinesis-local accepts any).
 */
export function kinesisClientFromConfig(config: BtcpipeConfig, env: NodeJS.ProcessEnv = process.env): KinesisClient {
  const endpoint = config.aws.endpoint_url;
  const local = endpoint !== undefined && LOOPBACK.has(new URL(endpoint).hostname) && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE;
  // PutRecord (the producer's call of one record) skips the SDK's per-call machinery: see direct-calls.ts.
  return withDirectCalls(
    createKinesisClient({
      region: config.aws.region,
      endpoint,
      credentials: local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    }),
  );
}

/** A StreamLogger that removes the API key from everything it logs (library errors can echo headers). */
function scrubbingLogger(logger: Logger, secret: string): StreamLogger {
  const clean = (obj: object): object => JSON.parse(scrubSecret(JSON.stringify(obj), secret)) as object;
  return {
    info: (obj, msg) => logger.info(clean(obj), scrubSecret(msg, secret)),
    warn: (obj, msg) => logger.warn(clean(obj), scrubSecret(msg, secret)),
    error: (obj, msg) => logger.error(clean(obj), scrubSecret(msg, secret)),
  };
}

class SbeIngestService implements Service {
  readonly name: string;
  readonly registry: Registry;
  private readonly log: Logger;
  private readonly apiKey: string;
  private readonly kinesis: KinesisClient;
  private readonly ownsKinesis: boolean;
  private readonly streams: KinesisStreamNames;
  private readonly producer: KinesisProducer;
  private readonly pipeline: SbeIngestPipeline;
  private readonly client: SbeStreamClient;
  private readonly metrics: SbeIngestMetrics;
  private readonly putLatency = new PutLatencyWindow();
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: BtcpipeConfig,
    logger: Logger,
    private readonly deps: SbeIngestDeps,
  ) {
    const apiKey = config.binance.api_key;
    if (!apiKey) {
      throw new ConfigError(`invalid config ${config.source}:\n  binance.api_key: required in sbe mode (set BINANCE_API_KEY)`);
    }
    this.apiKey = apiKey;
    this.name = config.service_name;
    this.log = logger.child({ component: 'ingest-sbe' });
    this.registry = createRegistry(config.service_name);
    const k = config.aws.kinesis;
    this.streams = { ...k.streams };
    this.kinesis = deps.kinesisClient ?? kinesisClientFromConfig(config);
    this.ownsKinesis = deps.kinesisClient === undefined;

    this.producer = new KinesisProducer({
      client: this.kinesis,
      streams: this.subscribedStreams(),
      createStreams: k.create_streams,
      batchSize: k.batch_size,
      lingerMs: k.flush_interval_seconds * 1000,
      aggregate: k.aggregation,
      compression: k.compression,
      maxBufferedEvents: k.max_buffer_events,
      maxBufferedBytes: k.max_buffer_bytes,
      hooks: {
        onAck: (a) => this.onAck(a),
        onDrop: ({ stream, count, reason }) => {
          this.metrics.dropped.inc({ stream, reason }, count);
          this.log.warn({ cid: correlationId(), stream, count, reason }, 'events dropped before reaching Kinesis');
        },
        onError: ({ stream, error, failedRecords, throttled }) => {
          const down = this.producer.stats().status === 'down';
          this.log[down ? 'error' : 'warn'](
            { cid: correlationId(), stream, failed_records: failedRecords, throttled, error: scrubSecret(error, this.apiKey) },
            'Kinesis PutRecords failed; retrying with backoff',
          );
        },
      },
    });

    this.pipeline = new SbeIngestPipeline({
      streams: this.streams,
      recordFormat: k.record_format,
      sink: (stream, ev) => this.producer.putEvent(stream, ev),
      sinkRecord: (stream, partitionKey, record) => this.producer.putData(stream, partitionKey, record),
      hooks: {
        onDecodeSample: (seconds) => this.metrics.decodeDuration.observe(seconds),
        onDecodeError: (err) => {
          this.metrics.decodeErrors.inc({ code: err.code });
          this.log.warn({ code: err.code, err: err.message }, 'SBE frame failed to decode; skipped');
        },
        onGap: (g) => {
          this.metrics.sequenceGaps.inc({ symbol: g.symbol, stream: g.stream });
          this.log.warn({ symbol: g.symbol, stream: g.stream, expected: g.expected, got: g.got, missing: g.missing }, 'sequence gap');
        },
        onDuplicate: (symbol, stream) => this.metrics.duplicates.inc({ symbol, stream }),
        onSinkError: (err, ev) => {
          this.log.error({ symbol: ev.symbol, type: ev.type, err: describeError(err) }, 'event refused by the Kinesis producer');
        },
      },
    });

    const b = config.binance;
    this.client = new SbeStreamClient({
      baseUrl: b.sbe_ws_url,
      apiKey,
      symbols: b.symbols,
      streamTypes: b.stream_types as SbeStreamType[],
      onFrame: (frame, recvTsUs, connectionId) => this.pipeline.onFrame(frame, recvTsUs, connectionId),
      onConnectionClose: (connectionId) => this.pipeline.onConnectionClosed(connectionId),
      watchdogMs: b.watchdog_timeout_seconds * 1000,
      backoffBaseMs: b.reconnect_interval_seconds * 1000,
      backoffCapMs: b.reconnect_max_interval_seconds * 1000,
      maxReconnectAttempts: b.max_reconnect_attempts,
      maxConnectionAgeMs: b.max_connection_age_seconds * 1000,
      ...(deps.rotationOverlapMs !== undefined ? { rotationOverlapMs: deps.rotationOverlapMs } : {}),
      ...(deps.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: deps.handshakeTimeoutMs } : {}),
      logger: scrubbingLogger(this.log, apiKey),
    });
    this.metrics = createSbeIngestMetrics(this.registry, {
      connectionStatus: () => this.client.status(),
      bufferSize: () => this.producer.stats().buffer_size,
      heldEvents: () => this.pipeline.sequence.heldEvents(),
      messagesByStream: () => this.pipeline.messagesByStream(),
    });
    this.client.on('disconnected', () => this.metrics.reconnects.inc());
    this.client.on('rotated', () => this.metrics.rotations.inc());
    this.client.on('watchdog', () => this.metrics.watchdogTimeouts.inc());
    this.client.on('degraded', () => this.metrics.degradedEntered.inc());
  }

  /** Kinesis streams of the subscribed event types. */
  private subscribedStreams(): string[] {
    const out = new Set<string>();
    for (const t of this.config.binance.stream_types) {
      out.add(t === 'trade' ? this.streams.trade : t === 'bestBidAsk' ? this.streams.bestbidask : this.streams.depth);
    }
    return [...out];
  }

  private onAck(a: AckInfo): void {
    const sentAt = a.ackedAt - a.callMs;
    for (const t of a.enqueuedAt) this.putLatency.add(a.ackedAt, sentAt - t, a.callMs);
    this.metrics.recordsSent.inc({ stream: a.stream }, a.events);
    this.metrics.aggregatedRecordsSent.inc({ stream: a.stream }, a.records);
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ cid: correlationId(), stream: a.stream, events: a.events, records: a.records, call_ms: Math.round(a.callMs * 100) / 100 }, 'batch acknowledged');
    }
    this.deps.onAck?.(a);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const k = this.config.aws.kinesis;
    if (k.create_streams) {
      const wanted = this.subscribedStreams().map((name) => ({ name, shards: k.shard_count }));
      try {
        await ensureStreams(this.kinesis, wanted);
      } catch (err) {
        throw new SbeIngestStartError(`cannot create the Kinesis streams ${wanted.map((w) => w.name).join(', ')} at ${this.config.aws.endpoint_url ?? 'the default AWS endpoint'}: ${describeError(err)}`);
      }
    }
    await this.producer.start();
    this.client.start();
    await this.firstOutcome(this.deps.startWaitMs ?? 10_000);
    this.log.info({ url: this.client.url, status: this.client.status(), streams: this.subscribedStreams() }, 'SBE ingestor running');
  }

  /** Wait until the first connection delivers or fails, so start() means "working" (or visibly not). */
  private firstOutcome(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('status', onStatus);
        this.client.off('disconnected', done);
        resolve();
      };
      const onStatus = (s: string): void => {
        if (s === 'connected' || s === 'degraded') done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.client.on('status', onStatus);
      this.client.on('disconnected', done);
    });
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await this.client.stop();
      const { unsent } = await this.producer.close(5_000);
      if (this.ownsKinesis) this.kinesis.destroy();
      this.log[unsent > 0 ? 'warn' : 'info']({ unsent }, 'SBE ingestor stopped');
    })());
  }

  health(): HealthReport {
    return buildSbeHealth({
      service: this.name,
      ws: this.client.stats(),
      producer: this.producer.stats(),
      decoder: this.pipeline.stats(),
      watchdogMs: this.config.binance.watchdog_timeout_seconds * 1000,
      maxBufferEvents: this.config.aws.kinesis.max_buffer_events,
    });
  }

  stats(): Record<string, unknown> {
    const ws = this.client.stats();
    const decoder = this.pipeline.stats();
    return {
      service: this.name,
      sbe_stats: { url: this.client.url, ...ws, ...decoder },
      sequence: {
        positions: this.pipeline.positions(),
        gaps_total: decoder.gaps,
        missing_ids_total: decoder.missing_ids,
        duplicates_dropped: decoder.duplicates_dropped,
        recent_gaps: this.pipeline.recentGaps(),
      },
      kinesis: { streams: this.streams, record_format: this.config.aws.kinesis.record_format, ...this.producer.stats() },
      /** Per event over the last few seconds: put → PutRecords sent, and the call (sent → acknowledged). */
      kinesis_put_latency: this.putLatency.report(performance.now()),
    };
  }
}

export function createSbeIngestService(config: BtcpipeConfig, logger: Logger, deps: SbeIngestDeps = {}): Service {
  return new SbeIngestService(config, logger, deps);
}
