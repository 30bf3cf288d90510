import { performance } from 'node:perf_hooks';
import { ListShardsCommand, type KinesisClient, type PutRecordsRequestEntry, type Shard } from '@aws-sdk/client-kinesis';
import type { MarketEvent } from '../core/events.js';
import { fullJitterBackoff, type BackoffPolicy } from './backoff.js';
import { KINESIS_LIMITS, maxEventBytes, planPutRecords, type LaneView } from './batching.js';
import { Deque } from './deque.js';
import { ensureStreams } from './embedded.js';
import {
  InvalidPartitionKeyError,
  KinesisProducerClosedError,
  KinesisRecordTooLargeError,
  KinesisSerializationError,
  KINESIS_THROTTLE_ERRORS,
  describeError,
  errorName,
} from './errors.js';
import { MarketEventEncoder } from './event-json.js';
import { KplAggregator } from './kpl.js';
import { compressRecord, type RecordCompression } from './record-compression.js';
import type { KinesisLogger } from './logger.js';
import { partitionKeyHash, shardMapOf, type ShardMap } from './shard-map.js';
import { putRecordsCall } from './put-call.js';

export type { KinesisLogger } from './logger.js';

export type DropReason = 'buffer_full' | 'rejected' | 'closed';

export interface AckInfo {
  stream: string;
  /** User events acknowledged by this call (after aggregation, `records` ≤ `events`). */
  events: number;
  records: number;
  /** performance.now() at put() of each acknowledged event, in send order. */
  enqueuedAt: number[];
  /** performance.now() when the acknowledging PutRecords response arrived. */
  ackedAt: number;
  /** Duration of the PutRecords call, ms. */
  callMs: number;
}

export interface KinesisProducerHooks {
  onAck?(info: AckInfo): void;
  onDrop?(info: { stream: string; count: number; reason: DropReason }): void;
  /** A call-level failure or a partial failure (records will be retried unless dropped). */
  onError?(info: { stream: string; error: string; failedRecords: number; throttled: boolean }): void;
}

export interface KinesisProducerOptions {
  client: KinesisClient;
  /** Streams known up front (created at start() when createStreams is set). */
  streams?: string[];
  /** Create missing streams (local emulator); 1 shard each. */
  createStreams?: boolean;
  /** User events per PutRecords call at most (≤ 500 without aggregation; with it, 16 batches a call when a backlog waits). Default 500. */
  batchSize?: number;
  /** Longest wait before a non-full batch is sent, ms. Default 5. */
  lingerMs?: number;
  /** KPL aggregation (many events per Kinesis record). Default true. */
  aggregate?: boolean;
  /**
   * With aggregation, pack the events of every key predicted (from ListShards) to one shard into one
   * Kinesis record per call, sent with that shard's first key and its hash as ExplicitHashKey; without a
   * shard map (not fetched yet, ListShards failing) one record per key. Default true.
   */
  aggregateAcrossKeys?: boolean;
  /** Least time between two ListShards of one stream, ms (failures back off further). Default 5 s. */
  shardMapMinIntervalMs?: number;
  /** gzip each Kinesis record (readers detect it by its magic bytes). Default 'none'. */
  compression?: RecordCompression;
  /** Bound of buffered (not yet sent) events; the oldest are dropped beyond it. Default 100,000. */
  maxBufferedEvents?: number;
  /** Bound of buffered bytes. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Concurrent PutRecords calls per stream (each on distinct partition keys). Default 4. */
  maxInFlightPerStream?: number;
  /** Backoff for failed calls / records. Default 50 ms base, 5 s cap. */
  backoff?: BackoffPolicy;
  /** Abort a PutRecords call after this long (then retried). Default 10 s. */
  callTimeoutMs?: number;
  /** Size limit of one Kinesis record, bytes (tests lower it). Default 1 MiB. */
  maxRecordBytes?: number;
  /** Size limit of one call, bytes. Default 5 MiB. */
  maxBytesPerCall?: number;
  hooks?: KinesisProducerHooks;
  logger?: KinesisLogger;
  random?: () => number;
}

export interface KinesisProducerStats {
  status: 'healthy' | 'degraded' | 'down';
  /** Acknowledged / attempted Kinesis records over the last 100 calls (1 before any call). */
  success_rate: number;
  /** Mean PutRecords duration over the last 100 successful calls, ms. */
  avg_latency_ms: number;
  /** Events buffered or in flight. */
  buffer_size: number;
  buffer_bytes: number;
  in_flight_calls: number;
  calls: number;
  records_sent: number;
  /** Bytes of the acknowledged Kinesis records as sent (after compression). */
  bytes_sent: number;
  events_sent: number;
  failed_records: number;
  retries: number;
  throttled: number;
  dropped: number;
  rejected_oversize: number;
  /** Current adaptive batch size per stream. */
  batch_size: Record<string, number>;
  /** Failed or unusable ListShards results (the producer then sends one record per key). */
  shard_map_errors?: number;
  last_error: string | null;
  last_success_at: string | null;
}

interface Pending {
  data: Buffer;
  enqueuedAt: number;
  /** Global enqueue order; drop-oldest picks the smallest head across lanes. */
  seq: number;
}

interface Lane {
  partitionKey: string;
  queue: Deque<Pending>;
  bytes: number;
  inFlight: boolean;
  /** MD5 hash key of the partition key (computed once, when the shard map first needs it). */
  hash: bigint | undefined;
  /** The predicted shard, valid while `shardMap` is the stream's current map. */
  shard: string | undefined;
  shardMap: ShardMap | undefined;
}

/** One Kinesis record of a call: the head events of one or more lanes (all of one shard). */
interface Group {
  parts: Array<{ lane: Lane; events: Pending[] }>;
  /** The shard the record was predicted to land on, and the map that predicted it. */
  shard: string | undefined;
  map: ShardMap | undefined;
}

interface StreamState {
  name: string;
  lanes: Map<string, Lane>;
  inFlight: number;
  /** Consecutive failed calls (drives backoff). */
  attempt: number;
  notBefore: number;
  batchSize: number;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  creating: Promise<void> | undefined;
  /** Open shards' hash key ranges; undefined until fetched, or after a misprediction or a re-creation. */
  shardMap: ShardMap | undefined;
  /** A ListShards is due (at the earliest SHARD_MAP_MIN_INTERVAL_MS after the last attempt). */
  mapWanted: boolean;
  mapFetching: boolean;
  mapAttemptAt: number;
  mapFailures: number;
}

interface CallOutcome {
  attempted: number;
  ok: number;
  ms: number;
}

const WINDOW = 100;
/**
 * With KPL aggregation a call may carry this many batches: its size is then bounded by bytes (1 MiB per
 * record). One batch per call capped a key at batch_size / call latency — 500 events per 100 ms call is
 * 5,000 events/s — so a call slowed by a busy machine left a backlog that grew for seconds. The batch size
 * stays the step that throttling halves.
 */
const AGGREGATED_BATCHES_PER_CALL = 16;
/** Call-level errors that will fail identically on retry: the batch is dropped and counted. */
const FATAL_CALL_ERRORS = new Set(['ValidationException', 'InvalidArgumentException', 'SerializationException']);
const PK_MAX = KINESIS_LIMITS.maxPartitionKeyLength;
/** Repeated ListShards failures back off up to this interval. */
const SHARD_MAP_MAX_INTERVAL_MS = 60_000;

/**
 * One KPL record of a group's events, each user record under its own lane's partition key
 * (aws-kinesis-agg's encoder: a hand-written one measured no faster).
 */
function kplRecordOf(parts: Group['parts']): Buffer {
  const agg = new KplAggregator();
  for (const p of parts) for (const e of p.events) agg.add(p.lane.partitionKey, e.data);
  const built = agg.build();
  if (!built) throw new Error('an empty KPL record was requested');
  return built.data;
}

/**
 * Batches JSON events into PutRecords calls per stream: KPL aggregation (the keys predicted to one shard
 * share a Kinesis record, as the AWS KPL does), a short linger, Kinesis size limits, retry of failed records with full-jitter backoff, adaptive batch size on
 * throttling, and a bounded buffer that drops the oldest events when Kinesis stays unreachable.
 *
 * Ordering: at most one call in flight per (stream, partition key), and failed events go back to the
 * front of their key's queue, so per-key order holds across retries; an aggregated record carries every
 * member key's events to the shard of those keys (its ExplicitHashKey is its first key's hash). With aggregation off a partial
 * failure can still reorder events of one key inside one call (Kinesis accepts the later records).
 * Delivery is at-least-once: a call that timed out may have been written and is sent again.
 */
export class KinesisProducer {
  private readonly client: KinesisClient;
  private readonly opts: Required<
    Pick<
      KinesisProducerOptions,
      | 'batchSize'
      | 'lingerMs'
      | 'aggregate'
      | 'aggregateAcrossKeys'
      | 'shardMapMinIntervalMs'
      | 'compression'
      | 'maxBufferedEvents'
      | 'maxBufferedBytes'
      | 'maxInFlightPerStream'
      | 'backoff'
      | 'callTimeoutMs'
      | 'maxRecordBytes'
      | 'maxBytesPerCall'
      | 'createStreams'
    >
  >;
  private readonly hooks: KinesisProducerHooks;
  private readonly logger: KinesisLogger | undefined;
  private readonly random: () => number;
  private readonly streams = new Map<string, StreamState>();
  private readonly maxEventBytesCache = new Map<string, number>();
  private readonly eventJson = new MarketEventEncoder();
  private seq = 0;
  private pendingEvents = 0;
  private pendingBytes = 0;
  private inFlightEvents = 0;
  private inFlightBytes = 0;
  private inFlightCalls = 0;
  private flushing = 0;
  private closed = false;
  private readonly closeController = new AbortController();
  private readonly callControllers = new Set<AbortController>();
  private drainWaiters: Array<() => void> = [];
  private readonly window: CallOutcome[] = [];
  private consecutiveCallFailures = 0;
  private counters = {
    calls: 0,
    records_sent: 0,
    bytes_sent: 0,
    events_sent: 0,
    failed_records: 0,
    retries: 0,
    throttled: 0,
    dropped: 0,
    rejected_oversize: 0,
    shard_map_errors: 0,
  };
  private lastError: string | null = null;
  private lastSuccessAt: number | null = null;

  constructor(options: KinesisProducerOptions) {
    this.client = options.client;
    const batchSize = options.batchSize ?? 500;
    const aggregate = options.aggregate ?? true;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    if (!aggregate && batchSize > KINESIS_LIMITS.maxRecordsPerCall) {
      throw new RangeError(`batchSize ${batchSize} exceeds ${KINESIS_LIMITS.maxRecordsPerCall} records per PutRecords`);
    }
    this.opts = {
      batchSize,
      lingerMs: options.lingerMs ?? 5,
      aggregate,
      aggregateAcrossKeys: aggregate && (options.aggregateAcrossKeys ?? true),
      shardMapMinIntervalMs: options.shardMapMinIntervalMs ?? 5_000,
      compression: options.compression ?? 'none',
      maxBufferedEvents: options.maxBufferedEvents ?? 100_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 64 * 1024 * 1024,
      maxInFlightPerStream: options.maxInFlightPerStream ?? 4,
      backoff: options.backoff ?? { baseMs: 50, capMs: 5_000 },
      callTimeoutMs: options.callTimeoutMs ?? 10_000,
      maxRecordBytes: Math.min(options.maxRecordBytes ?? KINESIS_LIMITS.maxRecordBytes, KINESIS_LIMITS.maxRecordBytes),
      maxBytesPerCall: Math.min(options.maxBytesPerCall ?? KINESIS_LIMITS.maxBytesPerCall, KINESIS_LIMITS.maxBytesPerCall),
      createStreams: options.createStreams ?? false,
    };
    this.hooks = options.hooks ?? {};
    this.logger = options.logger;
    this.random = options.random ?? Math.random;
    for (const s of options.streams ?? []) this.stream(s);
  }

  /**
   * Create the known streams when `createStreams` is set, and list their shards (a failure is logged and
   * counted, never thrown). Sending works without calling this.
   */
  async start(): Promise<void> {
    if (this.opts.createStreams && this.streams.size > 0) await ensureStreams(this.client, [...this.streams.keys()]);
    await Promise.all([...this.streams.values()].map((s) => this.maybeRefreshShardMap(s)));
  }

  /**
   * Queue a market event on `stream`, partition key = its symbol. The payload is the event's JSON
   * (byte-identical to JSON.stringify for events built in the decoder's property order), written by
   * MarketEventEncoder without the generic JSON.stringify + Buffer.from round trip.
   */
  putEvent(stream: string, event: MarketEvent): void {
    let data: Buffer;
    try {
      data = this.eventJson.encode(event);
    } catch (err) {
      throw new KinesisSerializationError(stream, { cause: err });
    }
    this.putData(stream, event.symbol, data);
  }

  /** Queue any JSON-serializable record. Throws a typed error for bad input or an oversized record. */
  put(stream: string, partitionKey: string, record: unknown): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(record);
    } catch (err) {
      throw new KinesisSerializationError(stream, { cause: err });
    }
    if (json === undefined) throw new KinesisSerializationError(stream);
    this.putData(stream, partitionKey, Buffer.from(json));
  }

  /** Queue an already-serialized payload. */
  putData(stream: string, partitionKey: string, data: Buffer): void {
    if (this.closed) throw new KinesisProducerClosedError();
    if (partitionKey.length < 1 || partitionKey.length > PK_MAX) throw new InvalidPartitionKeyError(partitionKey);
    const limit = this.maxEventBytesFor(partitionKey);
    if (data.length > limit) {
      this.counters.rejected_oversize++;
      this.hooks.onDrop?.({ stream, count: 1, reason: 'rejected' });
      throw new KinesisRecordTooLargeError(stream, partitionKey, data.length, limit);
    }
    const s = this.stream(stream);
    let lane = s.lanes.get(partitionKey);
    if (!lane) {
      lane = { partitionKey, queue: new Deque<Pending>(), bytes: 0, inFlight: false, hash: undefined, shard: undefined, shardMap: undefined };
      s.lanes.set(partitionKey, lane);
    }
    lane.queue.push({ data, enqueuedAt: performance.now(), seq: this.seq++ });
    lane.bytes += data.length;
    this.pendingEvents++;
    this.pendingBytes += data.length;
    if (this.pendingEvents > this.opts.maxBufferedEvents || this.pendingBytes > this.opts.maxBufferedBytes) this.enforceBound();
    if (s.timer === undefined) this.pump(s);
    else if (lane.queue.length >= s.batchSize && !lane.inFlight) this.pump(s);
  }

  /** Send everything buffered now, ignoring linger; resolves true once drained, false on timeout. */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    this.flushing++;
    try {
      for (const s of this.streams.values()) this.pump(s);
      return await this.waitDrained(timeoutMs);
    } finally {
      this.flushing--;
    }
  }

  /**
   * Stop accepting events, drain for up to `timeoutMs`, then abort what is left. Resolves with the
   * number of events that were never acknowledged (also counted as dropped, reason 'closed').
   */
  async close(timeoutMs = 5_000): Promise<{ unsent: number }> {
    if (this.closed) return { unsent: 0 };
    this.closed = true;
    const droppedBefore = this.counters.dropped;
    const drained = await this.flush(timeoutMs);
    if (!drained) {
      this.closeController.abort();
      for (const call of this.callControllers) call.abort();
      for (const s of this.streams.values()) {
        for (const lane of s.lanes.values()) {
          const left = lane.queue.clear();
          if (left.length === 0) continue;
          this.removePending(lane, left);
          this.counters.dropped += left.length;
          this.hooks.onDrop?.({ stream: s.name, count: left.length, reason: 'closed' });
        }
      }
      // Aborted calls settle promptly; their events are dropped by the closed check in finishCall().
      await this.waitDrained(2_000);
    }
    for (const s of this.streams.values()) this.clearTimer(s);
    return { unsent: this.counters.dropped - droppedBefore + this.inFlightEvents };
  }

  stats(): KinesisProducerStats {
    let attempted = 0;
    let ok = 0;
    let latSum = 0;
    let latN = 0;
    for (const c of this.window) {
      attempted += c.attempted;
      ok += c.ok;
      if (c.ok > 0) {
        latSum += c.ms;
        latN++;
      }
    }
    const successRate = attempted === 0 ? 1 : ok / attempted;
    const batchSize: Record<string, number> = {};
    for (const s of this.streams.values()) batchSize[s.name] = s.batchSize;
    const status =
      this.consecutiveCallFailures >= 3 ? 'down' : this.consecutiveCallFailures > 0 || successRate < 0.99 ? 'degraded' : 'healthy';
    return {
      status,
      success_rate: Math.round(successRate * 10_000) / 10_000,
      avg_latency_ms: latN === 0 ? 0 : Math.round((latSum / latN) * 100) / 100,
      buffer_size: this.pendingEvents + this.inFlightEvents,
      buffer_bytes: this.pendingBytes + this.inFlightBytes,
      in_flight_calls: this.inFlightCalls,
      ...this.counters,
      batch_size: batchSize,
      last_error: this.lastError,
      last_success_at: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
    };
  }

  // ---- internals -------------------------------------------------------------------------------

  private stream(name: string): StreamState {
    let s = this.streams.get(name);
    if (!s) {
      s = {
        name,
        lanes: new Map(),
        inFlight: 0,
        attempt: 0,
        notBefore: 0,
        batchSize: this.opts.batchSize,
        timer: undefined,
        timerAt: 0,
        creating: undefined,
        shardMap: undefined,
        mapWanted: this.opts.aggregateAcrossKeys,
        mapFetching: false,
        mapAttemptAt: -Infinity,
        mapFailures: 0,
      };
      this.streams.set(name, s);
    }
    return s;
  }

  private maxEventBytesFor(partitionKey: string): number {
    let limit = this.maxEventBytesCache.get(partitionKey);
    if (limit === undefined) {
      limit = maxEventBytes(partitionKey, this.opts.aggregate, this.opts.maxRecordBytes);
      if (this.maxEventBytesCache.size > 10_000) this.maxEventBytesCache.clear();
      this.maxEventBytesCache.set(partitionKey, limit);
    }
    return limit;
  }

  /** Drop the oldest waiting events (across all streams and keys) until the buffer is within bounds. */
  private enforceBound(): void {
    const dropsByStream = new Map<string, number>();
    while (this.pendingEvents > this.opts.maxBufferedEvents || this.pendingBytes > this.opts.maxBufferedBytes) {
      let oldest: { s: StreamState; lane: Lane; seq: number } | undefined;
      for (const s of this.streams.values()) {
        for (const lane of s.lanes.values()) {
          const head = lane.queue.peek();
          if (head && (!oldest || head.seq < oldest.seq)) oldest = { s, lane, seq: head.seq };
        }
      }
      if (!oldest) break; // everything left is in flight
      const victim = oldest.lane.queue.shift() as Pending;
      this.removePending(oldest.lane, [victim]);
      dropsByStream.set(oldest.s.name, (dropsByStream.get(oldest.s.name) ?? 0) + 1);
    }
    for (const [stream, count] of dropsByStream) {
      this.counters.dropped += count;
      this.hooks.onDrop?.({ stream, count, reason: 'buffer_full' });
    }
  }

  private removePending(lane: Lane, items: readonly Pending[]): void {
    let bytes = 0;
    for (const p of items) bytes += p.data.length;
    lane.bytes -= bytes;
    this.pendingEvents -= items.length;
    this.pendingBytes -= bytes;
  }

  private clearTimer(s: StreamState): void {
    if (s.timer !== undefined) clearTimeout(s.timer);
    s.timer = undefined;
  }

  private armTimer(s: StreamState, at: number, now: number): void {
    if (s.timer !== undefined && s.timerAt <= at) return;
    this.clearTimer(s);
    s.timerAt = at;
    s.timer = setTimeout(
      () => {
        s.timer = undefined;
        this.pump(s);
      },
      Math.max(0, Math.ceil(at - now)),
    );
  }

  /** Start as many calls as limits, backoff and linger allow for stream `s`. */
  private pump(s: StreamState): void {
    while (s.inFlight < this.opts.maxInFlightPerStream) {
      const ready: Lane[] = [];
      let waiting = 0;
      let oldest = Infinity;
      for (const lane of s.lanes.values()) {
        if (lane.inFlight || lane.queue.length === 0) continue;
        ready.push(lane);
        waiting += lane.queue.length;
        oldest = Math.min(oldest, (lane.queue.peek() as Pending).enqueuedAt);
      }
      if (ready.length === 0) return; // a finishing call pumps again
      const now = performance.now();
      if (now < s.notBefore) return this.armTimer(s, s.notBefore, now);
      const due = this.flushing > 0 || this.closed || waiting >= s.batchSize || now - oldest >= this.opts.lingerMs;
      if (!due) return this.armTimer(s, oldest + this.opts.lingerMs, now);
      this.clearTimer(s);
      ready.sort((a, b) => (a.queue.peek() as Pending).seq - (b.queue.peek() as Pending).seq);
      if (!this.startCall(s, ready)) return;
    }
  }

  private startCall(s: StreamState, ready: Lane[]): boolean {
    if (s.mapWanted) void this.maybeRefreshShardMap(s);
    const map = s.shardMap;
    const views: LaneView[] = ready.map((lane) => ({
      partitionKey: lane.partitionKey,
      length: lane.queue.length,
      sizeAt: (i: number) => lane.queue.at(i).data.length,
      shard: map === undefined ? undefined : this.predictShard(lane, map),
    }));
    const plan = planPutRecords(views, {
      maxRecordsPerCall: KINESIS_LIMITS.maxRecordsPerCall,
      maxBytesPerCall: this.opts.maxBytesPerCall,
      maxRecordBytes: this.opts.maxRecordBytes,
      maxEventsPerCall: this.opts.aggregate ? s.batchSize * AGGREGATED_BATCHES_PER_CALL : s.batchSize,
      aggregate: this.opts.aggregate,
    });
    if (plan.length === 0) return false;
    const groups: Group[] = [];
    const entries: PutRecordsRequestEntry[] = [];
    for (const p of plan) {
      const parts: Group['parts'] = [];
      for (const part of p.parts) {
        const lane = ready[part.lane];
        const events = lane.queue.take(part.events);
        lane.inFlight = true;
        parts.push({ lane, events });
        let bytes = 0;
        for (const e of events) bytes += e.data.length;
        this.pendingEvents -= events.length;
        this.pendingBytes -= bytes;
        this.inFlightEvents += events.length;
        this.inFlightBytes += bytes;
        lane.bytes -= bytes;
      }
      const first = parts[0].lane;
      groups.push({ parts, shard: views[p.lane].shard, map });
      if (!this.opts.aggregate) {
        entries.push({ PartitionKey: first.partitionKey, Data: compressRecord(parts[0].events[0].data, this.opts.compression) });
        continue;
      }
      const entry: PutRecordsRequestEntry = { PartitionKey: first.partitionKey, Data: compressRecord(kplRecordOf(parts), this.opts.compression) };
      // Route the shared record exactly where its first key goes, whatever the emulator or service does
      // with the partition key of a record that carries several.
      if (parts.length > 1) entry.ExplicitHashKey = (first.hash as bigint).toString();
      entries.push(entry);
    }
    s.inFlight++;
    this.inFlightCalls++;
    void this.runCall(s, entries, groups);
    return true;
  }

  private predictShard(lane: Lane, map: ShardMap): string | undefined {
    if (lane.shardMap !== map) {
      lane.hash ??= partitionKeyHash(lane.partitionKey);
      lane.shard = map.shardOfHash(lane.hash);
      lane.shardMap = map;
    }
    return lane.shard;
  }

  /** Start a ListShards for `s` unless one runs or the last attempt was too recent; settles when it is done. */
  private maybeRefreshShardMap(s: StreamState): Promise<void> {
    if (!s.mapWanted || s.mapFetching || s.creating || this.closed) return Promise.resolve();
    const base = this.opts.shardMapMinIntervalMs;
    const interval = s.mapFailures === 0 ? base : Math.max(base, Math.min(SHARD_MAP_MAX_INTERVAL_MS, base * 2 ** Math.min(s.mapFailures, 4)));
    if (performance.now() - s.mapAttemptAt < interval) return Promise.resolve();
    s.mapWanted = false;
    s.mapFetching = true;
    s.mapAttemptAt = performance.now();
    return this.listOpenShards(s.name)
      .then((shards) => {
        const map = shardMapOf(shards);
        if (map === undefined) throw new Error(`ListShards gave no usable hash key ranges (${shards.length} shards)`);
        // A misprediction or a re-creation while the listing was in flight makes it suspect.
        if (s.mapWanted) return;
        s.shardMap = map;
        s.mapFailures = 0;
      })
      .catch((err: unknown) => {
        s.mapWanted = true;
        this.counters.shard_map_errors++;
        if (s.mapFailures++ === 0) {
          this.logger?.warn(
            { stream: s.name, error: describeError(err) },
            'kinesis ListShards failed: sending one record per partition key until it succeeds',
          );
        }
      })
      .finally(() => {
        s.mapFetching = false;
      });
  }

  private async listOpenShards(stream: string): Promise<Shard[]> {
    const out: Shard[] = [];
    let token: string | undefined;
    do {
      // ListShards refuses StreamName together with NextToken.
      const input = token === undefined ? { StreamName: stream } : { NextToken: token };
      const res = await this.client.send(new ListShardsCommand(input), { abortSignal: AbortSignal.timeout(this.opts.callTimeoutMs) });
      out.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token !== undefined);
    return out;
  }

  /** Forget the shard map and fetch a new one (rate-limited). */
  private invalidateShardMap(s: StreamState): void {
    if (!this.opts.aggregateAcrossKeys) return;
    s.shardMap = undefined;
    s.mapWanted = true;
  }

  private async runCall(s: StreamState, entries: PutRecordsRequestEntry[], groups: Group[]): Promise<void> {
    const t0 = performance.now();
    // One controller per call, aborted by its own timer or by close(): several times cheaper per call
    // than AbortSignal.any([AbortSignal.timeout(), …]) on Node 20.
    const call = new AbortController();
    const timer = setTimeout(() => call.abort(new DOMException('PutRecords call timed out', 'TimeoutError')), this.opts.callTimeoutMs);
    timer.unref();
    if (this.closeController.signal.aborted) call.abort();
    this.callControllers.add(call);
    const failed: boolean[] = new Array<boolean>(groups.length).fill(false);
    let callError: unknown;
    let throttled = false;
    let failedRecords = 0;
    try {
      const results = await putRecordsCall(this.client, s.name, entries, call.signal);
      for (let i = 0; i < groups.length; i++) {
        const r = results[i];
        if (r !== undefined && !r.ErrorCode) {
          this.counters.bytes_sent += entries[i].Data?.length ?? 0;
          const g = groups[i];
          if (g.shard !== undefined && r.ShardId !== undefined && r.ShardId !== g.shard && g.map === s.shardMap) this.invalidateShardMap(s);
          continue;
        }
        failed[i] = true;
        failedRecords++;
        if (r?.ErrorCode && KINESIS_THROTTLE_ERRORS.has(r.ErrorCode)) throttled = true;
        if (failedRecords === 1) {
          this.lastError = r ? `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`.slice(0, 200) : 'PutRecords returned fewer results than records';
        }
      }
    } catch (err) {
      callError = err;
      failed.fill(true);
      failedRecords = groups.length;
      throttled = KINESIS_THROTTLE_ERRORS.has(errorName(err));
      this.lastError = describeError(err);
    } finally {
      clearTimeout(timer);
      this.callControllers.delete(call);
    }
    const ackedAt = performance.now();
    this.finishCall(s, groups, failed, failedRecords, callError, throttled, t0, ackedAt);
  }

  private finishCall(
    s: StreamState,
    groups: Group[],
    failed: boolean[],
    failedRecords: number,
    callError: unknown,
    throttled: boolean,
    t0: number,
    ackedAt: number,
  ): void {
    const ms = ackedAt - t0;
    s.inFlight--;
    this.inFlightCalls--;
    this.counters.calls++;
    const okRecords = groups.length - failedRecords;
    this.window.push({ attempted: groups.length, ok: okRecords, ms });
    if (this.window.length > WINDOW) this.window.shift();

    const fatal = callError !== undefined && FATAL_CALL_ERRORS.has(errorName(callError));
    const enqueuedAt: number[] = [];
    let ackedEvents = 0;
    const requeue = new Map<Lane, Pending[]>();
    for (let i = 0; i < groups.length; i++) {
      for (const g of groups[i].parts) {
        let bytes = 0;
        for (const e of g.events) bytes += e.data.length;
        this.inFlightEvents -= g.events.length;
        this.inFlightBytes -= bytes;
        if (!failed[i]) {
          ackedEvents += g.events.length;
          for (const e of g.events) enqueuedAt.push(e.enqueuedAt);
        } else if (fatal || this.closeController.signal.aborted) {
          this.counters.dropped += g.events.length;
          this.hooks.onDrop?.({ stream: s.name, count: g.events.length, reason: fatal ? 'rejected' : 'closed' });
        } else {
          const list = requeue.get(g.lane);
          if (list) list.push(...g.events);
          else requeue.set(g.lane, [...g.events]);
        }
      }
    }
    for (const g of groups) for (const p of g.parts) p.lane.inFlight = false;
    for (const [lane, events] of requeue) {
      lane.queue.unshiftAll(events);
      let bytes = 0;
      for (const e of events) bytes += e.data.length;
      lane.bytes += bytes;
      this.pendingEvents += events.length;
      this.pendingBytes += bytes;
      this.counters.retries += events.length;
    }

    if (okRecords > 0) {
      this.counters.records_sent += okRecords;
      this.counters.events_sent += ackedEvents;
      this.lastSuccessAt = Date.now();
      this.hooks.onAck?.({ stream: s.name, events: ackedEvents, records: okRecords, enqueuedAt, ackedAt, callMs: ms });
    }
    if (failedRecords > 0) {
      this.counters.failed_records += failedRecords;
      if (throttled) this.counters.throttled++;
      s.attempt++;
      s.notBefore = performance.now() + fullJitterBackoff(s.attempt - 1, this.opts.backoff.baseMs, this.opts.backoff.capMs, this.random);
      if (throttled) s.batchSize = Math.max(1, Math.floor(s.batchSize / 2));
      if (callError !== undefined) this.consecutiveCallFailures++;
      else this.consecutiveCallFailures = 0;
      const error = this.lastError ?? 'unknown error';
      this.hooks.onError?.({ stream: s.name, error, failedRecords, throttled });
      const level = this.consecutiveCallFailures >= 3 ? 'error' : 'warn';
      this.logger?.[level]({ stream: s.name, failedRecords, throttled, attempt: s.attempt, error }, 'kinesis PutRecords failed');
      if (callError !== undefined && errorName(callError) === 'ResourceNotFoundException') {
        this.invalidateShardMap(s);
        if (this.opts.createStreams) this.createStream(s);
      }
      if (this.pendingEvents > this.opts.maxBufferedEvents || this.pendingBytes > this.opts.maxBufferedBytes) this.enforceBound();
    } else {
      s.attempt = 0;
      this.consecutiveCallFailures = 0;
      // Grow back gradually after throttling, so one good call does not re-trigger it at once.
      if (s.batchSize < this.opts.batchSize) s.batchSize = Math.min(this.opts.batchSize, Math.ceil(s.batchSize * 1.5));
    }
    this.pump(s);
    this.checkDrained();
  }

  private createStream(s: StreamState): void {
    if (s.creating) return;
    s.creating = ensureStreams(this.client, [s.name])
      .catch((err: unknown) => {
        this.lastError = describeError(err);
      })
      .finally(() => {
        s.creating = undefined;
        // A new stream has new shards; allow the listing at once (a failed creation lists nothing new).
        this.invalidateShardMap(s);
        s.mapAttemptAt = -Infinity;
      });
  }

  private checkDrained(): void {
    if (this.pendingEvents > 0 || this.inFlightCalls > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private waitDrained(timeoutMs: number): Promise<boolean> {
    if (this.pendingEvents === 0 && this.inFlightCalls === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.drainWaiters.push(done);
    });
  }
}
