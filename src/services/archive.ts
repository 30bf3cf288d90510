/**
 * `btcpipe archive`: the whole Kinesis stream into the lake. Its own consumer per distinct stream, with its
 * own checkpoints (`lake:archive:checkpoint:<stream>`, stored only once the rows before them are in lake
 * files), so it never moves the aggregator's; events sequence-checked per symbol and stream, holes reported
 * (metric, log, health, `stream_holes`) and trade holes filled from `/api/v3/trades`; the re-anchor snapshots
 * the online state used followed on `reanchor:done`. A process of its own: a slow lake or a long catch-up never
 * delays the hot path or a re-anchor.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { BinanceRestClient } from '../binance/rest-client.js';
import { ensureStreams } from '../kinesis/embedded.js';
import { KinesisStreamConsumer, type ConsumedRecord } from '../kinesis/consumer.js';
import { LakeCheckpointStore } from '../lake/archive-checkpoints.js';
import { LakeWriter } from '../lake/lake-writer.js';
import { createParquetEncoder, type ParquetEncoder } from '../lake/parquet-encoder.js';
import { ReanchorArchiver } from '../lake/reanchor-archiver.js';
import { StreamArchiver, type StreamHole, type TradeFiller } from '../lake/stream-archiver.js';
import type { RecordMeta } from '../lake/stream-rows.js';
import type { MarketEvent } from '../core/events.js';
import type { BtcpipeConfig } from '../ops/config.js';
import { worstStatus, type HealthReport, type HealthStatus } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import { createRegistry } from '../ops/metrics.js';
import { waitForRedisReady, type RedisClient } from '../redis/connect.js';
import { EventRecordError } from './aggregate-decode.js';
import { aggregatorKinesisClient, distinctStreams } from './aggregate.js';
import { decodeArchiveRecord } from './archive-decode.js';
import { createArchiveMetrics } from './archive-metrics.js';
import { createLakeStore, type LakeStore } from './ingest-rest-lake.js';
import { redisFromConfig } from './redis-from-config.js';
import type { Service } from './service.js';
import { ServedFeatureArchiver } from '../dataset/served-archive.js';

/** A hole not filled within this long keeps the service degraded (someone should look at the lake). */
const OPEN_HOLE_DEGRADED_MS = 10 * 60_000;
const DECODE_LOGS_PER_BATCH = 3;
/** User records decoded and buffered together (bounds the events alive at once while catching up). */
const DECODE_SLICE_RECORDS = 2000;

export class ArchiveStartError extends Error {
  override readonly name = 'ArchiveStartError';
}

/** Trades with ids in [fromId, toId] among the venue's most recent 1,000 (what /api/v3/trades serves). */
export function restTradeFiller(client: Pick<BinanceRestClient, 'trades'>): TradeFiller {
  return async (symbol, fromId, toId) => {
    const trades = await client.trades(symbol, 1000);
    return trades
      .filter((t) => t.id >= fromId && t.id <= toId)
      .map((t) => ({ id: t.id, price: t.price, qty: t.qty, timeMs: t.time, isBuyerMaker: t.isBuyerMaker }));
  };
}

/** Records of one batch → the archiver's items; bad records are counted and logged, never archived. */
export function batchItems(
  batch: readonly ConsumedRecord[],
  maxEventTsUs: number,
  onError: (r: ConsumedRecord, err: EventRecordError) => void,
): Array<{ ev: MarketEvent; meta: RecordMeta }> {
  const items: Array<{ ev: MarketEvent; meta: RecordMeta }> = [];
  for (const r of batch) {
    let rec;
    try {
      rec = decodeArchiveRecord(r.data, { maxEventTsUs });
    } catch (err) {
      if (!(err instanceof EventRecordError)) throw err;
      onError(r, err);
      continue;
    }
    rec.events.forEach((ev, i) => {
      items.push({
        ev,
        meta: {
          arrivalMs: r.arrivalMs,
          shardId: r.shardId,
          sequenceNumber: r.sequenceNumber,
          subSequenceNumber: r.subSequenceNumber,
          recvTsUs: rec.recvTsUs,
          // One SBE message may carry several trades: its bytes go with the first.
          sbe: i === 0 && rec.sbe ? new Uint8Array(rec.sbe) : undefined,
        },
      });
    });
  }
  return items;
}

export function createArchiveService(config: BtcpipeConfig, logger: Logger): Service {
  const registry = createRegistry(config.service_name);
  const m = createArchiveMetrics(registry);
  const a = config.lake.archive;
  const cc = config.aws.kinesis.consumer_config;
  const streamNames = distinctStreams(config.aws.kinesis.streams);
  const skewUs = config.processing.max_event_time_skew_seconds * 1_000_000;

  let redis: RedisClient | undefined;
  let kinesis: KinesisClient | undefined;
  let lake: LakeStore | undefined;
  let encoder: ParquetEncoder | undefined;
  let rest: BinanceRestClient | undefined;
  let writer: LakeWriter | undefined;
  let archiver: StreamArchiver | undefined;
  let checkpoints: LakeCheckpointStore | undefined;
  let reanchors: ReanchorArchiver | undefined;
  /** The aggregator's served-feature log (feat:log:{SYM}) into features_served, on the re-anchor timer. */
  let served: ServedFeatureArchiver | undefined;
  const consumers = new Map<string, KinesisStreamConsumer>();
  let flushTimer: NodeJS.Timeout | undefined;
  let reanchorTimer: NodeJS.Timeout | undefined;
  let reanchorPoll: Promise<void> | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;
  let lastFlushError: string | null = null;

  const commitIfDrained = async (): Promise<void> => {
    if (archiver?.drained && checkpoints) await checkpoints.commit();
  };

  const handle = async (stream: string, batch: ConsumedRecord[]): Promise<void> => {
    const arch = archiver as StreamArchiver;
    let logged = 0;
    const onError = (r: ConsumedRecord, err: EventRecordError): void => {
      m.decodeErrors.inc({ code: err.code });
      if (logged++ < DECODE_LOGS_PER_BATCH) {
        logger.warn({ stream, shard: r.shardId, seq: r.sequenceNumber, err: err.message }, 'record not archived: not a valid event');
      }
    };
    // A poll while catching up returns ~77,000 user records (1,000 KPL records); decoded all at once they took
    // more memory than the archiver's buffers. Decoded a slice at a time, only one slice's events exist at once.
    for (let i = 0; i < batch.length; i += DECODE_SLICE_RECORDS) {
      await arch.ingest(batchItems(batch.slice(i, i + DECODE_SLICE_RECORDS), Date.now() * 1000 + skewUs, onError));
    }
    m.records.inc({ stream }, batch.length);
    m.buffered.set(arch.bufferedRows);
  };

  const onHole = (h: StreamHole): void => {
    m.holes.inc({ stream: h.stream, status: h.status });
    m.holeIds.inc({ stream: h.stream }, h.missing);
    if (h.filled > 0) m.filled.inc(h.filled);
    const log = h.status === 'filled' ? logger.info.bind(logger) : logger.warn.bind(logger);
    log(
      { alert: h.status === 'filled' ? undefined : 'LAKE_HOLE', symbol: h.symbol, stream: h.stream, expected: h.expected, got: h.got, missing: h.missing, filled: h.filled, fill_error: h.fillError },
      h.status === 'filled' ? 'stream hole filled from the REST API' : 'stream hole: ids missing from the lake',
    );
  };

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    stopping = undefined;
    redis = redisFromConfig(config, { connectionName: 'btcpipe-archive' });
    try {
      await waitForRedisReady(redis, Math.max(5000, config.redis.socket_connect_timeout_seconds * 5000));
    } catch (err) {
      redis.disconnect();
      started = false;
      throw new ArchiveStartError(`archive: Redis ${config.redis.host}:${config.redis.port} not reachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    lake = createLakeStore(config);
    encoder = createParquetEncoder();
    const enc = encoder;
    writer = new LakeWriter(lake.store, {
      onWrite: (info) => {
        if (info.error) m.writeErrors.inc();
      },
    });
    const b = config.binance;
    rest = new BinanceRestClient({
      baseUrl: b.rest_base_url,
      apiKey: b.api_key,
      rateLimitRequestsPerMinute: b.rate_limit_requests_per_minute,
      limitFromExchangeInfo: b.weight_limit_from_exchange_info,
      timeoutMs: b.request_timeout_ms,
    });
    archiver = new StreamArchiver({
      writer,
      encode: (columns) => enc.streamColumns(columns),
      maxBufferedBytes: a.max_buffered_mib * 1024 * 1024,
      bronzePrefix: lake.bronzePrefix,
      fill: a.fill_trade_holes ? restTradeFiller(rest) : undefined,
      maxRowsPerFile: a.max_rows_per_file,
      maxBufferedRows: a.max_buffered_rows,
      flushIntervalMs: a.flush_interval_seconds * 1000,
      hooks: {
        onEvent: (d) => m.events.inc({ dataset: d }),
        onDuplicate: (d) => m.duplicates.inc({ dataset: d }),
        onAlreadyArchived: (d, n) => m.alreadyArchived.inc({ dataset: d }, n),
        onBadRow: (d, err) => {
          m.badRows.inc({ dataset: d });
          logger.error({ dataset: d, err: err.message }, 'event not archived: its row does not fit the dataset');
        },
        onHole,
        onFile: (f) => {
          m.files.inc({ dataset: f.dataset });
          m.rows.inc({ dataset: f.dataset }, f.rows);
          m.bytes.inc({ dataset: f.dataset }, f.bytes);
        },
        onFlush: (f) => {
          m.flushSeconds.observe(f.seconds);
          logger.debug(f, 'lake flush');
        },
      },
    });
    const arch = archiver;
    checkpoints = new LakeCheckpointStore(redis, () => arch.drained);
    reanchors = new ReanchorArchiver({
      redis,
      writer,
      encoder: enc,
      bronzePrefix: lake.bronzePrefix,
      graceMs: a.reanchor_grace_seconds * 1000,
      onArchived: (r) => {
        m.reanchors.inc({ snapshot: r.snapshotFile ? 'in_lake' : 'expired' });
        if (!r.snapshotFile) logger.warn({ alert: 'LAKE_HOLE', symbol: r.symbol, entry: r.entryId }, 're-anchor snapshot expired before it reached the lake');
      },
    });

    kinesis = aggregatorKinesisClient(config);
    if (config.aws.kinesis.create_streams) {
      await ensureStreams(kinesis, streamNames).catch((err: unknown) =>
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not create Kinesis streams; consumers keep retrying'),
      );
    }
    for (const name of streamNames) {
      consumers.set(
        name,
        new KinesisStreamConsumer({
          client: kinesis,
          stream: name,
          handler: (batch) => handle(name, batch),
          checkpoints,
          initialPosition: a.initial_position,
          pollIntervalMs: Math.max(cc.poll_interval_ms, 100),
          maxRecordsPerPoll: cc.max_records_per_poll,
          logger,
          hooks: { onError: ({ phase }) => m.kinesisErrors.inc({ stream: name, phase }) },
        }),
      );
    }
    await Promise.all([...consumers.values()].map((c) => c.start()));
    flushTimer = setInterval(() => {
      void arch
        .flushIfDue()
        .then(async () => {
          lastFlushError = null;
          m.buffered.set(arch.bufferedRows);
          await commitIfDrained();
        })
        .catch((err: unknown) => {
          lastFlushError = err instanceof Error ? err.message : String(err);
          logger.warn({ err: lastFlushError }, 'lake flush failed; retried');
        });
    }, 1000);
    const ra = reanchors;
    const sv = (served = new ServedFeatureArchiver({ redis, store: lake.store, symbols: config.binance.symbols, bronzePrefix: lake.bronzePrefix, cluster: config.redis.cluster }));
    reanchorTimer = setInterval(() => {
      reanchorPoll ??= ra
        .poll()
        .then(() => sv.runOnce())
        .then(() => undefined)
        .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 're-anchor archive failed; retried'))
        .finally(() => {
          reanchorPoll = undefined;
        });
    }, 5000);
    logger.info({ streams: streamNames, lake: lake.store.describe(), initial_position: a.initial_position }, 'archive consuming');
  }

  function stop(): Promise<void> {
    if (!started) return stopping ?? Promise.resolve();
    started = false;
    stopping = (async () => {
      if (flushTimer) clearInterval(flushTimer);
      if (reanchorTimer) clearInterval(reanchorTimer);
      flushTimer = reanchorTimer = undefined;
      await Promise.allSettled([...consumers.values()].map((c) => c.stop()));
      await reanchorPoll;
      await served?.runOnce().catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'served-feature log not archived at stop; read at next start'));
      try {
        await archiver?.flush();
        await commitIfDrained();
      } catch (err) {
        // Whatever was not flushed is re-read from the checkpoint at the next start.
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'last lake flush failed; re-read at next start');
      }
      consumers.clear();
      await encoder?.close();
      await rest?.close();
      lake?.close();
      kinesis?.destroy();
      if (redis) await redis.quit().catch(() => redis?.disconnect());
      redis = undefined;
    })();
    return stopping;
  }

  function health(): HealthReport {
    const statuses: HealthStatus[] = [];
    if (!started) statuses.push('unhealthy');
    const cs = [...consumers.values()].map((c) => c.stats());
    if (cs.length > 0 && cs.every((s) => s.status === 'error')) statuses.push('unhealthy');
    else if (cs.some((s) => s.status === 'error')) statuses.push('degraded');
    if (started && redis?.status !== 'ready') statuses.push('degraded');
    const ws = writer?.stats();
    if (ws?.status === 'degraded' || lastFlushError) statuses.push('degraded');
    const hole = archiver?.lastHoleSeen;
    const recentOpenHole = hole !== undefined && hole.status !== 'filled' && Date.now() - hole.detectedMs < OPEN_HOLE_DEGRADED_MS;
    if (recentOpenHole) statuses.push('degraded');
    const st = archiver?.stats() ?? {};
    return {
      status: worstStatus(statuses),
      service: config.service_name,
      components: {
        kinesis_consumers: Object.fromEntries(
          cs.map((s) => [s.stream, { status: s.status, records_per_second: s.records_per_second, lag_seconds: s.lag_seconds, last_processed: s.last_processed }]),
        ),
        completeness: {
          status: recentOpenHole ? 'degraded' : 'healthy',
          holes: st.holes ?? 0,
          holes_unfilled: archiver?.openHoles ?? 0,
          trades_filled: st.filled ?? 0,
          duplicates_dropped: st.duplicates ?? 0,
          last_hole: hole ?? null,
        },
        lake: {
          ...(ws ?? {}),
          buffered_rows: archiver?.bufferedRows ?? 0,
          checkpoints_waiting: checkpoints?.waiting ?? 0,
          last_flush_error: lastFlushError,
        },
        reanchors: reanchors?.stats() ?? {},
      },
    };
  }

  return {
    name: 'archive',
    registry,
    start,
    stop,
    health,
    stats: () => ({
      archive: archiver?.stats() ?? {},
      lake: writer?.stats() ?? {},
      reanchors: reanchors?.stats() ?? {},
      consumers: [...consumers.values()].map((c) => c.stats()),
    }),
  };
}
