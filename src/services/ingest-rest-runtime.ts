/**
 * Everything the REST mode owns, built from config, and its poll cycle. The in-process service
 * (ingest-rest.ts) and the EventBridge Lambda handler (src/lambda/scheduled-handler.ts) run the SAME
 * `runCycle()`; the service adds the blocking request listener and timers around it.
 *
 * One poll cycle, per symbol: archive aggregate trades from the last archived id up to now, archive the
 * closed 1m klines (and queue them for the volume check), check the volume and time criteria, and request
 * a re-anchor for each new gap. Each step fails alone (logged with the cycle's correlation id).
 *
 * Venue clock: the time criterion compares hot-path event times (venue µs) with the VENUE's clock,
 * estimated once per cycle from GET /api/v3/time (offset = serverTime − midpoint of the call); while that
 * call fails the last offset is kept (0 = local clock before the first success).
 */
import { redisFromConfig } from './redis-from-config.js';
import type { Registry } from 'prom-client';
import { BinanceRestClient, type KlinesQuery } from '../binance/rest-client.js';
import { RateLimitedError } from '../binance/rest-errors.js';
import { volumeGapNeedsReanchor } from '../core/gap-rules.js';
import { AggTradeGapError, AggTradesArchiver } from '../lake/agg-trades-archiver.js';
import { RedisCursorStore } from '../lake/cursor-store.js';
import { DepthSnapshotArchiver } from '../lake/depth-snapshot-archiver.js';
import { KlinesArchiver } from '../lake/klines-archiver.js';
import { LakeWriter } from '../lake/lake-writer.js';
import { createParquetEncoder, type ParquetEncoder } from '../lake/parquet-encoder.js';
import type { BtcpipeConfig } from '../ops/config.js';
import { worstStatus, type HealthReport, type HealthStatus } from '../ops/health.js';
import { markObStaleIfOld } from '../redis/ob-staleness.js';
import { correlationId, scrubSecret, type Logger } from '../ops/logger.js';
import { waitForRedisReady, type RedisClient } from '../redis/connect.js';
import { AtomicReanchor } from '../redis/reanchor.js';
import type { ReanchorRequest } from '../redis/streams.js';
import { GapDetector } from './gap-detector.js';
import { createLakeStore, type LakeStore } from './ingest-rest-lake.js';
import { createRestIngestMetrics, datasetOfKey, type RestIngestMetrics } from './ingest-rest-metrics.js';
import { ReanchorCoordinator } from './ingest-rest-reanchor.js';

export interface CycleOptions {
  /** Also run the time criterion (the in-process service runs it on its own faster timer). Default true. */
  timeCheck?: boolean;
  /** Wait for the re-anchors this cycle started (Lambda: the process freezes after returning). Default false. */
  awaitReanchors?: boolean;
}

export interface CycleReport {
  cid: string;
  durationMs: number;
  ok: boolean;
  symbols: Record<
    string,
    { aggTrades?: number; lastAggId?: number; klines?: number; volumeChecked?: number; gaps: string[]; errors: string[] }
  >;
}

export interface RestIngestRuntimeOptions {
  config: BtcpipeConfig;
  logger: Logger;
  registry: Registry;
}

export class RestIngestRuntime {
  readonly client: BinanceRestClient;
  readonly redis: RedisClient;
  readonly metrics: RestIngestMetrics;
  readonly detector: GapDetector;
  readonly reanchors: ReanchorCoordinator;
  readonly writer: LakeWriter;
  private readonly lake: LakeStore;
  /** Parquet encoding off the event loop, so a re-anchor never waits behind a lake file. */
  private readonly encoder: ParquetEncoder = createParquetEncoder();
  private readonly aggArchiver: AggTradesArchiver;
  private readonly klinesArchiver: KlinesArchiver;
  private readonly config: BtcpipeConfig;
  private readonly logger: Logger;
  private clockOffsetMs = 0;
  private clockSyncedAt: number | undefined;
  private cycles = 0;
  private cycleErrors = 0;
  private lastCycle: CycleReport | undefined;
  private closed = false;

  constructor(o: RestIngestRuntimeOptions) {
    const { config, logger } = o;
    this.config = config;
    this.logger = logger;
    this.metrics = createRestIngestMetrics(o.registry);
    const b = config.binance;
    this.client = new BinanceRestClient({
      baseUrl: b.rest_base_url,
      apiKey: b.api_key,
      rateLimitRequestsPerMinute: b.rate_limit_requests_per_minute,
      limitFromExchangeInfo: b.weight_limit_from_exchange_info,
      timeoutMs: b.request_timeout_ms,
      onCall: (info) => {
        this.metrics.apiCalls.inc({ endpoint: info.endpoint, status: String(info.status) });
        this.metrics.apiLatency.observe({ endpoint: info.endpoint }, info.latencyMs / 1000);
      },
    });
    this.redis = redisFromConfig(config, {
      connectionName: 'btcpipe-ingest-rest',
      onError: () => undefined, // commands fail with typed errors; the listener and cycle log outages once
    });
    this.lake = createLakeStore(config);
    this.writer = new LakeWriter(this.lake.store, {
      onWrite: (info) => {
        const dataset = datasetOfKey(info.key);
        if (info.error) this.metrics.s3WriteErrors.inc({ dataset });
        else this.metrics.s3FilesWritten.inc({ dataset });
      },
    });
    const cursors = new RedisCursorStore(this.redis);
    const encoder = this.encoder;
    const lookbackMs = config.scheduler.backfill_start_minutes * 60_000;
    this.aggArchiver = new AggTradesArchiver({
      client: this.client,
      writer: this.writer,
      cursors,
      encoder,
      bronzePrefix: this.lake.bronzePrefix,
      initialLookbackMs: lookbackMs,
    });
    this.detector = new GapDetector({
      criteria: config.scheduler.gap_criteria,
      timeGapMs: config.scheduler.time_gap_seconds * 1000,
      // One skew bound for every service: the aggregator drops such events, this side does not trust such clocks.
      maxEventSkewMs: config.processing.max_event_time_skew_seconds * 1000,
      cluster: config.redis.cluster,
      metrics: this.metrics,
      logger,
    });
    // The archiver's klines double as the volume check's venue side: no second request for them.
    const klinesTee = {
      klines: async (q: KlinesQuery) => {
        const rows = await this.client.klines(q);
        this.detector.addKlines(q.symbol, rows, Date.now());
        return rows;
      },
    };
    this.klinesArchiver = new KlinesArchiver({
      client: klinesTee,
      writer: this.writer,
      cursors,
      encoder,
      bronzePrefix: this.lake.bronzePrefix,
      initialLookbackMs: Math.max(lookbackMs, 60_000),
    });
    const reanchor = new AtomicReanchor(this.redis, {
      cluster: config.redis.cluster,
      minIntervalMs: config.scheduler.reanchor_min_interval_seconds * 1000,
      leaseMs: config.scheduler.reanchor_lease_seconds * 1000,
      fetchTimeoutMs: Math.max(5_000, b.request_timeout_ms * 3),
      cleanupTimeoutMs: 30_000,
      logger,
      onOutcome: (info) => {
        this.metrics.reanchors.inc({ result: info.status });
        if (info.status === 'ok' || info.status === 'failed') {
          this.metrics.reanchorDuration.observe({ result: info.status }, info.durationMs / 1000);
        }
      },
    });
    this.reanchors = new ReanchorCoordinator({
      reanchor,
      client: this.client,
      depthLimit: config.scheduler.depth_snapshot_limit,
      obLevels: config.processing.order_book_levels,
      depthArchiver: new DepthSnapshotArchiver(this.writer, { bronzePrefix: this.lake.bronzePrefix, encoder }),
      logger,
    });
  }

  get symbols(): readonly string[] {
    return this.config.binance.symbols;
  }

  /** Venue time now (ms), from the last /api/v3/time offset. */
  venueNowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  async connect(timeoutMs: number): Promise<void> {
    await waitForRedisReady(this.redis, timeoutMs);
  }

  /** Sequence criterion: aggregator requests (each a gap unless a cold start) → re-anchor. */
  onRequests(reqs: readonly ReanchorRequest[]): void {
    const receivedMs = Date.now();
    for (const req of reqs) {
      if (!this.symbols.includes(req.symbol)) {
        this.logger.debug({ symbol: req.symbol, reason: req.reason }, 're-anchor request for a symbol this service does not handle');
        continue;
      }
      const cid = correlationId();
      const log = this.logger.child({ cid });
      const gap = this.config.scheduler.gap_detection_enabled && this.detector.onSequenceRequest(req.symbol, req.reason, log);
      log.info({ symbol: req.symbol, reason: req.reason, request_id: req.id, counted_as_gap: gap }, 're-anchor requested by the aggregator');
      // A cold start ('no-book') needs the snapshot whatever the gap settings say.
      if (this.config.scheduler.reanchor_enabled) this.reanchors.request(req.symbol, req.reason, receivedMs, cid);
    }
  }

  /**
   * Mark every live book whose newest event is older than processing.stale_after_seconds `stale` (status
   * only): the aggregator marks its own books, but a dead aggregator cannot, and a frozen book must not stay
   * `live` until the time criterion fires. The service calls this every 250 ms. Never throws.
   */
  async markStaleBooks(): Promise<number> {
    const afterMs = this.config.processing.stale_after_seconds * 1000;
    if (afterMs <= 0) return 0;
    let marked = 0;
    for (const symbol of this.symbols) {
      try {
        if (await markObStaleIfOld(this.redis, symbol, this.venueNowMs(), afterMs, { cluster: this.config.redis.cluster })) {
          marked++;
          this.metrics.staleBooksMarked.inc({ symbol });
          this.logger.warn({ symbol, stale_after_s: afterMs / 1000 }, 'ob:{SYM} live but not updated: marked stale (is the aggregator running?)');
        }
      } catch (err) {
        this.logger.debug({ symbol, err: errMessage(err) }, 'stale-book check failed');
      }
    }
    return marked;
  }

  /** Time criterion for every symbol (the service calls this every time_gap_seconds / 2). */
  async runTimeChecks(cid = correlationId()): Promise<void> {
    const s = this.config.scheduler;
    if (!s.gap_detection_enabled || !s.gap_criteria.time) return;
    const log = this.logger.child({ cid });
    for (const symbol of this.symbols) {
      try {
        const t = await this.detector.checkTime(this.redis, symbol, this.venueNowMs(), log);
        if (t.transition === 'entered' && s.reanchor_enabled) this.reanchors.request(symbol, 'time_gap', Date.now(), cid);
      } catch (err) {
        log.warn({ symbol, err: errMessage(err) }, 'time check failed');
      }
    }
  }

  async runCycle(opts: CycleOptions = {}): Promise<CycleReport> {
    const cid = correlationId();
    const log = this.logger.child({ cid });
    const started = performance.now();
    const report: CycleReport = { cid, durationMs: 0, ok: true, symbols: {} };
    await this.syncClock(log);
    const s = this.config.scheduler;
    for (const symbol of this.symbols) {
      const out: CycleReport['symbols'][string] = { gaps: [], errors: [] };
      report.symbols[symbol] = out;
      const fail = (step: string, err: unknown): void => {
        out.errors.push(`${step}: ${errMessage(err)}`);
        const level = err instanceof RateLimitedError ? 'warn' : 'error';
        log[level]({ symbol, step, err: errMessage(err), ...(err instanceof AggTradeGapError ? { alert: 'VENUE_AGG_ID_GAP' } : {}) }, `${step} failed`);
      };
      try {
        const r = await this.aggArchiver.poll(symbol);
        out.aggTrades = r.count;
        out.lastAggId = r.lastId;
        this.detector.setLastSequenceId(symbol, r.lastId ?? (await this.aggArchiver.resumePoint(symbol)));
        if (r.truncated) log.info({ symbol, count: r.count }, 'aggTrades backfill continues next cycle');
      } catch (err) {
        fail('aggTrades archive', err);
      }
      try {
        const r = await this.klinesArchiver.poll(symbol);
        out.klines = r.count;
        if (r.missingMinutes > 0) log.warn({ symbol, missing_minutes: r.missingMinutes }, 'venue has no kline for some minutes');
      } catch (err) {
        fail('klines archive', err);
      }
      if (!s.gap_detection_enabled) continue;
      if (s.gap_criteria.volume) {
        try {
          const v = await this.detector.checkVolume(this.redis, symbol, this.venueNowMs(), log);
          out.volumeChecked = v.checked.length;
          const newest = v.mismatches[v.mismatches.length - 1];
          if (newest) out.gaps.push(`volume:${new Date(newest.minuteStartMs).toISOString()}`);
          if (newest && s.reanchor_enabled && volumeGapNeedsReanchor(newest.minuteStartMs, this.reanchors.lastSuccessFetchStartMs(symbol))) {
            this.reanchors.request(symbol, 'volume_gap', Date.now(), cid);
          }
        } catch (err) {
          fail('volume check', err);
        }
      }
      if (opts.timeCheck ?? true) {
        try {
          const t = await this.detector.checkTime(this.redis, symbol, this.venueNowMs(), log);
          if (t.transition === 'entered') {
            out.gaps.push('time');
            if (s.reanchor_enabled) this.reanchors.request(symbol, 'time_gap', Date.now(), cid);
          }
        } catch (err) {
          fail('time check', err);
        }
      }
    }
    if (opts.awaitReanchors) await this.reanchors.idle();
    report.durationMs = performance.now() - started;
    report.ok = Object.values(report.symbols).every((x) => x.errors.length === 0);
    this.cycles++;
    if (!report.ok) this.cycleErrors++;
    this.metrics.pollCycles.inc({ result: report.ok ? 'ok' : 'error' });
    this.lastCycle = report;
    log.info({ duration_ms: Math.round(report.durationMs), ok: report.ok, symbols: report.symbols }, 'poll cycle done');
    return report;
  }

  health(): HealthReport {
    const c = this.client.stats();
    const restStatus: HealthStatus = c.status === 'healthy' ? 'healthy' : c.status === 'banned' ? 'unhealthy' : 'degraded';
    const w = this.writer.stats();
    const redisUp = this.redis.status === 'ready';
    const enabled = this.config.scheduler.gap_detection_enabled;
    return {
      status: worstStatus([restStatus, w.status, redisUp ? 'healthy' : 'degraded']),
      service: this.config.service_name,
      components: {
        binance_rest: {
          status: c.status,
          last_call_latency_ms: c.last_call_latency_ms,
          rate_limit_remaining: c.rate_limit_remaining,
          error_rate: Math.round(c.error_rate * 1000) / 1000,
        },
        gap_detector: this.detector.health(enabled),
        s3_writer: {
          status: w.status,
          files_written_today: w.files_written_today,
          avg_write_latency_ms: w.avg_write_latency_ms,
          write_errors: w.write_errors,
        },
        redis: { status: redisUp ? 'connected' : 'disconnected' },
      },
    };
  }

  stats(): Record<string, unknown> {
    return {
      binance_rest: this.client.stats(),
      clock: {
        venue_offset_ms: Math.round(this.clockOffsetMs),
        synced_at: this.clockSyncedAt === undefined ? null : new Date(this.clockSyncedAt).toISOString(),
      },
      gap_detection: this.detector.stats(),
      reanchor: this.reanchors.stats(),
      lake: this.writer.stats(),
      poll: { cycles: this.cycles, cycles_with_errors: this.cycleErrors, last: this.lastCycle ?? null },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reanchors.stop();
    await this.client.close();
    await this.encoder.close();
    this.lake.close();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private async syncClock(log: Logger): Promise<void> {
    const t0 = Date.now();
    try {
      const server = await this.client.time();
      const t1 = Date.now();
      this.clockOffsetMs = server - (t0 + t1) / 2;
      this.clockSyncedAt = t1;
    } catch (err) {
      log.warn({ err: scrubSecret(errMessage(err), this.config.binance.api_key) }, 'venue clock not synced; keeping the last offset');
    }
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
