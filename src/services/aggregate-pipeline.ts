/**
 * The aggregator's batch processing, shared by the long-running service and the Lambda handler:
 * Kinesis user records → normalized events → the core's MarketState → ONE ProjectionWriter.write() per
 * flush with everything that changed (ob, tr 1 s / 5 s, per-minute stats, feat when due).
 *
 * Ordering: the three streams' batches arrive concurrently, but every Redis write goes through one
 * serialized flush that projects the CURRENT in-memory state of all dirty symbols. A write can therefore
 * never put an older book over a newer one, and a caller's flush() resolves only after a write that
 * started after its events were applied has succeeded — which is what lets the Kinesis consumer save its
 * checkpoint only after the state it covers is in Redis. A failed write rejects every waiting flush()
 * (their batches are retried; re-applying them is idempotent in the core) and keeps the symbols dirty.
 *
 * Per-minute stats survive restarts in Redis, so a restart that re-reads records written before the crash
 * (the checkpoint trails the write) must not count their trades again: each stored minute carries the
 * highest trade id counted into it, and a new run counts only trades above that watermark (PersistedMinutes).
 *
 * Bad input never blocks good input: decodeRecords() validates every record completely (nothing that passes
 * may throw later) and puts what fails in the capped `deadletter:records` stream (stream, shard, sequence,
 * reason, the bytes) — counted, logged, never applied. Event times later than the wall clock plus
 * `maxEventTimeSkewMs` are rejected the same way: one bad clock must not move the symbol's `now` and push
 * every later trade out of the windows. Old event times stay valid (replays, catch-up after a lag). A write
 * Redis refuses (a non-retryable error: wrong key type, a value it rejects) is narrowed down to the symbol and
 * part that caused it; only that part is dropped (logged, counted) and the rest is written.
 *
 * Re-anchor cooperation: the core says when a book needs a snapshot (no book yet, a gap, a buffer that
 * did not connect); a trade-id gap asks too. Requests go to `reanchor:requests`, at most one per symbol per
 * `reanchorRequestIntervalMs`, and are repeated while the book stays resyncing. A `reanchor:done` entry
 * (read by the caller) is applied with applyReanchorDone().
 */
import type { Logger } from 'pino';
import type { TradeEvent } from '../core/events.js';
import { isCoreEvent, type AnyEvent, type CoreTrade } from '../core/fixed-events.js';
import { PARSED, parseFixed } from '../core/fixed.js';
import { MarketState } from '../core/market-state.js';
import { PersistedMinutes, tradeTimeUs } from '../core/minute-stats.js';
import { StreamSequenceMonitor } from '../core/stream-sequence.js';
import type { SkipReason, SymbolState } from '../core/symbol-state.js';
import type { RedisClient } from '../redis/connect.js';
import type { MinuteStat } from '../redis/codec.js';
import { decodeMinuteValue } from '../redis/codec.js';
import { symbolKeys } from '../redis/keys.js';
import { ProjectionWriteError, type ProjectionWriter, type SymbolProjection } from '../redis/projection.js';
import { appendDeadLetters, type DeadLetter } from '../redis/dead-letter.js';
import { requestReanchor, type ReanchorDone } from '../redis/streams.js';
import { toRedisError } from '../redis/errors.js';
import { EventRecordError, type RecordErrorCode } from './aggregate-decode.js';
import { decodeUserRecordCore } from './aggregate-decode-core.js';
import { newCut, noteEvent, ServedFeatureLog, type EventCut, type ServedEntryInput } from '../dataset/served-log.js';

/** One Kinesis user record as the pipeline takes it; the metadata identifies a rejected record. */
export interface PipelineRecord {
  data: Uint8Array;
  stream?: string;
  shardId?: string;
  sequenceNumber?: string;
}

export type ReanchorOutcome = 'ok' | 'gap' | 'stale' | 'expired' | 'timeout';

/** Observation points (Prometheus metrics in the service, arrays in the bench). */
export interface PipelineHooks {
  /** Seconds from frame received (recv_ts_us) to the Redis write that contains the event returning. */
  onEndToEnd?(seconds: readonly number[]): void;
  onFeatures?(symbol: string, computeSeconds: number): void;
  onReanchorRequest?(symbol: string, reason: string): void;
  /** durationSeconds: from the first request of this episode to the book being live again. */
  onReanchorOutcome?(symbol: string, outcome: ReanchorOutcome, durationSeconds?: number): void;
  onBookStatus?(symbol: string, live: boolean): void;
  /** A record was rejected and dead-lettered (stream '' when the caller did not say). */
  onDeadLetter?(reason: RecordErrorCode, stream: string): void;
  /** Part of a write Redis refused (non-retryable) was dropped. */
  onWriteQuarantined?(symbol: string, part: string): void;
  /** A feature vector was written to feat:{SYM} (after the write succeeded), with the state it came from. */
  onFeaturesWritten?(symbol: string, feat: Readonly<Record<string, string>>, state: SymbolState): void;
}

export interface AggregatorPipelineOptions {
  /** Command connection: re-anchor requests and the per-minute stats read at first sight of a symbol. */
  redis: RedisClient;
  writer: ProjectionWriter;
  cluster?: boolean;
  /** Book levels per side in ob:{SYM} (config processing.order_book_levels). */
  depth?: number;
  featureIntervalMs?: number;
  reanchorRequestIntervalMs?: number;
  /** A request with no reanchor:done after this long counts as a failed re-anchor (default 60 s). */
  reanchorTimeoutMs?: number;
  maxBufferedDiffs?: number;
  /** Event times more than this ahead of the wall clock are dead-lettered (config
   *  processing.max_event_time_skew_seconds; default 5 s). */
  maxEventTimeSkewMs?: number;
  /** A live book whose newest event is older than this (wall clock) is written `status=stale`: no reader
   *  should trade on a book nothing has confirmed for that long (config processing.stale_after_seconds;
   *  default 2 s; 0 never). */
  staleAfterMs?: number;
  logger?: Logger;
  hooks?: PipelineHooks;
  /** Where every served feature vector is logged with its cut (default: `feat:log:{SYM}` on `redis`;
   *  false: not logged). */
  servedLog?: ServedFeatureLog | false;
  /** Wall clock, ms (tests). */
  now?: () => number;
}

interface SymbolAux {
  /** `tr:{SYM}:minutes` as loaded at first sight plus this run's trades, each trade once across restarts.
   *  Counted here rather than in the core because the core exposes only closed minutes, counts every trade
   *  it applies (a restart replays some already stored) and does not know the stored watermark. */
  minutes: PersistedMinutes;
  lastFeatureMs: number;
  completeness: number;
  /** A re-anchor is wanted (reason) and not yet requested within the interval. */
  want: string | null;
  lastRequestMs: number;
  /** First request of the current episode (null: none outstanding). */
  outstandingSince: number | null;
  resyncingSince: number | null;
  lastReanchorMs: number;
  /** Whether the last ob written said `stale` (so the timer knows when the status must change). */
  writtenStale: boolean;
  /** The last event of each type given to the state (logged with every served feature vector). */
  cut: EventCut;
}

export interface PipelineCounters {
  records: number;
  events_applied: number;
  events_buffered: number;
  events_skipped: number;
  skipped_by_reason: Partial<Record<SkipReason, number>>;
  decode_errors: number;
  /** Records put in the dead-letter stream (or waiting to be). */
  dead_letters: number;
  /** Dead letters lost because Redis was unreachable for longer than the pending queue holds. */
  dead_letters_dropped: number;
  book_gaps: number;
  trade_gaps: number;
  reanchor_requests: number;
  reanchor_request_errors: number;
  reanchor_outcomes: Partial<Record<ReanchorOutcome, number>>;
  writes: number;
  write_errors: number;
  /** Parts of writes Redis refused (non-retryable) that were dropped instead of retried. */
  write_quarantined: number;
  feature_updates: number;
}

export interface SymbolSummary {
  symbol: string;
  status: 'live' | 'resyncing';
  last_update_id: number | null;
  buffered: number;
  buffer_overflows: number;
  event_ts_us: number;
  resyncing_since: string | null;
  reanchor_outstanding: boolean;
  last_reanchor: string | null;
  last_feature_update: string | null;
  feature_completeness: number;
}

const MAX_PENDING_LATENCIES = 50_000;
/** Dead letters held while Redis cannot take them (the oldest are dropped beyond, and counted). */
const MAX_PENDING_DEAD_LETTERS = 1000;
/** Rejected records logged one by one per batch; the rest are summed up in one line. */
const DEAD_LETTER_LOGS_PER_BATCH = 5;

export class AggregatorPipeline {
  readonly market: MarketState;
  private readonly o: Required<Pick<AggregatorPipelineOptions, 'depth' | 'featureIntervalMs' | 'reanchorRequestIntervalMs' | 'reanchorTimeoutMs' | 'maxEventTimeSkewMs' | 'staleAfterMs'>>;
  private readonly redis: RedisClient;
  private readonly writer: ProjectionWriter;
  private readonly cluster: boolean;
  private readonly logger: Logger | undefined;
  private readonly hooks: PipelineHooks;
  private readonly now: () => number;
  readonly servedLog: ServedFeatureLog | undefined;
  /** A write carrying served vectors is in flight; re-anchors applied meanwhile wait in anchorsBehindWrite. */
  private servedBehindWrite = false;
  private anchorsBehindWrite: ServedEntryInput[] = [];
  private readonly aux = new Map<string, SymbolAux>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly tradeSeq = new StreamSequenceMonitor();
  private readonly dirty = new Set<string>();
  private readonly featureDue = new Set<string>();
  private pendingRecv: number[] = [];
  private deadLetters: DeadLetter[] = [];
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private lastFeatureWallMs = 0;
  private readonly featureStamps: number[] = [];
  private readonly c: PipelineCounters = {
    records: 0,
    events_applied: 0,
    events_buffered: 0,
    events_skipped: 0,
    skipped_by_reason: {},
    decode_errors: 0,
    dead_letters: 0,
    dead_letters_dropped: 0,
    book_gaps: 0,
    trade_gaps: 0,
    reanchor_requests: 0,
    reanchor_request_errors: 0,
    reanchor_outcomes: {},
    writes: 0,
    write_errors: 0,
    write_quarantined: 0,
    feature_updates: 0,
  };

  constructor(opts: AggregatorPipelineOptions) {
    this.redis = opts.redis;
    this.writer = opts.writer;
    this.cluster = opts.cluster ?? false;
    this.logger = opts.logger;
    this.hooks = opts.hooks ?? {};
    this.now = opts.now ?? Date.now;
    this.o = {
      depth: opts.depth ?? 10,
      featureIntervalMs: opts.featureIntervalMs ?? 2000,
      reanchorRequestIntervalMs: opts.reanchorRequestIntervalMs ?? 5000,
      reanchorTimeoutMs: opts.reanchorTimeoutMs ?? 60_000,
      maxEventTimeSkewMs: opts.maxEventTimeSkewMs ?? 5000,
      staleAfterMs: opts.staleAfterMs ?? 2000,
    };
    if (!(this.o.staleAfterMs >= 0)) throw new RangeError(`staleAfterMs must be >= 0, got ${this.o.staleAfterMs}`);
    if (!(this.o.maxEventTimeSkewMs >= 0)) throw new RangeError(`maxEventTimeSkewMs must be >= 0, got ${this.o.maxEventTimeSkewMs}`);
    this.market = new MarketState({ maxBufferedDiffs: opts.maxBufferedDiffs });
    this.servedLog =
      opts.servedLog === false
        ? undefined
        : (opts.servedLog ??
          new ServedFeatureLog({
            redis: this.redis,
            cluster: this.cluster,
            onError: (err) => this.logger?.warn({ err: err.message }, 'served-feature log write failed; will retry'),
          }));
  }

  counters(): PipelineCounters {
    return { ...this.c, skipped_by_reason: { ...this.c.skipped_by_reason }, reanchor_outcomes: { ...this.c.reanchor_outcomes } };
  }

  /**
   * Decode and apply one batch of user records (in order): decodeRecords() then ingestEvents(). Records
   * that are not valid events are counted and skipped. Rejects only when Redis could not be read for a
   * symbol seen for the first time.
   */
  async ingestRecords(records: readonly (Uint8Array | PipelineRecord)[], log?: Logger): Promise<{ applied: number; invalid: number }> {
    const { events, invalid } = this.decodeRecords(
      records.map((r) => (r instanceof Uint8Array ? { data: r } : r)),
      log,
    );
    const { applied } = await this.ingestEvents(events, log);
    return { applied, invalid };
  }

  /**
   * Decode one batch of user records (in order) into events. Never throws on bad input: a record that is
   * not a valid event, or dated past the wall clock plus the allowed skew, is counted, logged with its
   * stream/shard/sequence and dead-lettered (written by the next ingestEvents() or sendReanchorRequests()).
   */
  decodeRecords(records: readonly PipelineRecord[], log?: Logger): { events: AnyEvent[]; invalid: number } {
    const events: AnyEvent[] = [];
    let invalid = 0;
    const wallMs = this.now();
    const opts = { maxEventTsUs: this.maxEventTsUs(wallMs) };
    for (const r of records) {
      try {
        // Either record format (SBE envelope or JSON), detected per record; an SBE trades message may carry several.
        for (const ev of decodeUserRecordCore(r.data, opts)) events.push(ev);
      } catch (err) {
        if (!(err instanceof EventRecordError)) throw err;
        invalid++;
        this.deadLetter(r, err, wallMs, invalid, log);
      }
    }
    if (invalid > DEAD_LETTER_LOGS_PER_BATCH) {
      (log ?? this.logger)?.warn({ rejected: invalid, logged: DEAD_LETTER_LOGS_PER_BATCH }, 'more invalid Kinesis records dead-lettered in this batch');
    }
    this.c.records += records.length;
    this.c.decode_errors += invalid;
    return { events, invalid };
  }

  /** The latest event time (µs) accepted at wall time `wallMs`. */
  private maxEventTsUs(wallMs: number): number {
    return (wallMs + this.o.maxEventTimeSkewMs) * 1000;
  }

  private deadLetter(r: PipelineRecord, err: EventRecordError, wallMs: number, nth: number, log?: Logger): void {
    const stream = r.stream ?? '';
    this.c.dead_letters++;
    this.hooks.onDeadLetter?.(err.code, stream);
    if (nth <= DEAD_LETTER_LOGS_PER_BATCH) {
      (log ?? this.logger)?.warn(
        { err: err.message, code: err.code, stream: r.stream, shard: r.shardId, sequence: r.sequenceNumber },
        'invalid Kinesis record dead-lettered',
      );
    }
    if (this.deadLetters.length >= MAX_PENDING_DEAD_LETTERS) {
      this.deadLetters.shift();
      this.c.dead_letters_dropped++;
    }
    const bytes = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    this.deadLetters.push({
      stream,
      shard: r.shardId ?? '',
      sequence: r.sequenceNumber ?? '',
      reason: err.message,
      data: bytes.toString('base64'),
      ts: wallMs,
    });
  }

  /** Write the pending dead letters. Never throws: on failure they stay pending (bounded) for the next call. */
  private async writeDeadLetters(log?: Logger): Promise<void> {
    if (this.deadLetters.length === 0) return;
    const entries = this.deadLetters;
    this.deadLetters = [];
    try {
      await appendDeadLetters(this.redis, entries);
    } catch (err) {
      const keep = entries.concat(this.deadLetters);
      const over = keep.length - MAX_PENDING_DEAD_LETTERS;
      if (over > 0) this.c.dead_letters_dropped += over;
      this.deadLetters = over > 0 ? keep.slice(over) : keep;
      (log ?? this.logger)?.warn({ pending: this.deadLetters.length, err: err instanceof Error ? err.message : String(err) }, 'dead-letter write failed; will retry');
    }
  }

  /**
   * Apply decoded events in the given order (loading the stored per-minute stats of new symbols first),
   * then send the re-anchor requests that became due. Rejects only when Redis could not be read for a
   * symbol seen for the first time (nothing of the batch is applied then).
   */
  async ingestEvents(events: readonly AnyEvent[], log?: Logger): Promise<{ applied: number }> {
    await this.ensureSymbols(events);
    const applied = this.applyEvents(events, log);
    await this.sendReanchorRequests(log);
    return { applied };
  }

  /** Apply already-decoded events (symbols must have been ensured: see ingestRecords). */
  private applyEvents(events: readonly AnyEvent[], log?: Logger): number {
    let applied = 0;
    const bound = this.maxEventTsUs(this.now());
    for (const ev of events) {
      const st = this.market.ensure(ev.symbol);
      const aux = this.auxOf(ev.symbol);
      if (ev.type === 'trade') {
        const v = this.tradeSeq.check(ev);
        if (v.kind === 'gap') {
          this.c.trade_gaps++;
          (log ?? this.logger)?.warn({ symbol: ev.symbol, expected: v.expected, got: v.got, missing: v.missing }, 'trade id gap');
          aux.want ??= 'trade_gap';
        }
      }
      noteEvent(aux.cut, ev);
      // SBE records arrive as fixed-point CoreEvents (nothing to parse); JSON ones are parsed once here.
      const out = isCoreEvent(ev) ? st.applyCore(ev, bound) : st.apply(ev, bound);
      switch (out.kind) {
        case 'applied':
          applied++;
          this.c.events_applied++;
          if (ev.type === 'trade') this.countMinute(aux, ev);
          break;
        case 'buffered':
          this.c.events_buffered++;
          break;
        case 'gap':
          this.c.events_buffered++;
          this.c.book_gaps++;
          (log ?? this.logger)?.warn({ symbol: ev.symbol, gap: out.gap }, 'order book gap: resyncing');
          break;
        case 'skipped':
          this.c.events_skipped++;
          this.c.skipped_by_reason[out.reason] = (this.c.skipped_by_reason[out.reason] ?? 0) + 1;
          break;
      }
      this.dirty.add(ev.symbol);
      if (ev.recv_ts_us !== undefined && this.pendingRecv.length < MAX_PENDING_LATENCIES) this.pendingRecv.push(ev.recv_ts_us);
    }
    this.noteBookStatuses();
    for (const r of this.market.drainReanchorRequests()) this.auxOf(r.symbol).want ??= r.reason;
    return applied;
  }

  /** The core applied this trade (valid, new to this run); an earlier run may still have stored it. */
  private countMinute(aux: SymbolAux, ev: TradeEvent | CoreTrade): void {
    if (isCoreEvent(ev)) {
      aux.minutes.add(ev.trade_id, tradeTimeUs(ev), ev.qty_m, ev.qty_e);
      return;
    }
    // The core accepted this trade, so its quantity parses.
    parseFixed(ev.quantity, true);
    aux.minutes.add(ev.trade_id, tradeTimeUs(ev), PARSED.m, PARSED.e);
  }

  private auxOf(symbol: string, stored: readonly MinuteStat[] = []): SymbolAux {
    let a = this.aux.get(symbol);
    if (!a) {
      a = {
        minutes: new PersistedMinutes(stored, 180),
        lastFeatureMs: 0,
        completeness: 0,
        want: null,
        lastRequestMs: 0,
        outstandingSince: null,
        resyncingSince: null,
        lastReanchorMs: 0,
        writtenStale: false,
        cut: newCut(),
      };
      this.aux.set(symbol, a);
    }
    return a;
  }

  /**
   * First sight of a symbol: load the per-minute counts a previous run left (with their trade-id
   * watermark), so a restart adds to them without counting a replayed trade twice.
   */
  private async ensureSymbols(events: readonly AnyEvent[]): Promise<void> {
    const missing = new Set<string>();
    for (const ev of events) if (!this.aux.has(ev.symbol)) missing.add(ev.symbol);
    if (missing.size === 0) return;
    await Promise.all([...missing].map((s) => this.loadSymbol(s)));
  }

  private loadSymbol(symbol: string): Promise<void> {
    let p = this.loading.get(symbol);
    if (!p) {
      p = (async () => {
        const key = symbolKeys(symbol, { cluster: this.cluster }).minutes;
        let raw: Record<string, string>;
        try {
          raw = await this.redis.hgetall(key);
        } catch (err) {
          const re = toRedisError(err, `load minute stats of ${symbol}`);
          if (re.retryable) throw re;
          // Redis will refuse this read every time (e.g. a foreign key of another type): start the symbol
          // without stored minutes rather than refusing its every batch; the minute writes then get refused
          // and dropped part by part (see writeIsolating).
          this.logger?.error({ symbol, err: re.message }, 'stored minute stats unreadable; counting this run only');
          raw = {};
        }
        if (this.aux.has(symbol)) return;
        const stored: MinuteStat[] = [];
        for (const [f, v] of Object.entries(raw)) {
          const m = Number(f);
          if (!Number.isSafeInteger(m)) continue;
          try {
            stored.push(decodeMinuteValue(m, v));
          } catch {
            // A malformed value is not ours to keep: the next write of that minute replaces it.
          }
        }
        const aux = this.auxOf(symbol, stored);
        if (aux.minutes.watermark !== undefined) {
          this.logger?.debug({ symbol, watermark: aux.minutes.watermark }, 'minute stats loaded; trades up to the watermark already counted');
        }
      })().finally(() => this.loading.delete(symbol));
      this.loading.set(symbol, p);
    }
    return p;
  }

  private noteBookStatuses(): void {
    const t = this.now();
    for (const [symbol, aux] of this.aux) {
      const st = this.market.get(symbol);
      if (!st) continue;
      const resyncing = st.status === 'resyncing';
      if (resyncing && aux.resyncingSince === null) {
        aux.resyncingSince = t;
        this.hooks.onBookStatus?.(symbol, false);
      } else if (!resyncing && aux.resyncingSince !== null) {
        aux.resyncingSince = null;
        this.hooks.onBookStatus?.(symbol, true);
      }
    }
  }

  /**
   * Send the wanted re-anchor requests that are not rate limited, and the pending dead letters. Never
   * throws (failures are retried on the next call).
   */
  async sendReanchorRequests(log?: Logger): Promise<void> {
    await this.writeDeadLetters(log);
    const t = this.now();
    for (const [symbol, aux] of this.aux) {
      const st = this.market.get(symbol);
      // Keep asking while the book stays resyncing: a request can be lost or refused by the REST side. Judged
      // when the request would leave, not when it was first noticed: a book that went live meanwhile (its
      // snapshot arrived) must not get a needless swap, which readers would see as resyncing.
      const resyncing = st?.status === 'resyncing';
      if (aux.want === 'still_resyncing' && !resyncing) aux.want = null;
      if (!aux.want && resyncing && aux.lastRequestMs > 0) aux.want = 'still_resyncing';
      if (!aux.want || t - aux.lastRequestMs < this.o.reanchorRequestIntervalMs) continue;
      if (aux.outstandingSince !== null && t - aux.outstandingSince > this.o.reanchorTimeoutMs) {
        this.outcome(symbol, aux, 'timeout');
      }
      const reason = aux.want;
      // Claimed before the XADD is awaited: the timer and the batch path both call this, and a caller that
      // looked while the other's request was on its way sent a second one (two 'no-book' at every cold start).
      const lastRequestMs = aux.lastRequestMs;
      aux.want = null;
      aux.lastRequestMs = t;
      try {
        await requestReanchor(this.redis, symbol, reason);
      } catch (err) {
        this.c.reanchor_request_errors++;
        aux.want ??= reason;
        aux.lastRequestMs = lastRequestMs;
        (log ?? this.logger)?.warn({ symbol, reason, err: err instanceof Error ? err.message : String(err) }, 're-anchor request failed; will retry');
        continue;
      }
      this.c.reanchor_requests++;
      aux.outstandingSince ??= t;
      this.hooks.onReanchorRequest?.(symbol, reason);
      (log ?? this.logger)?.info({ symbol, reason }, 're-anchor requested');
    }
  }

  private outcome(symbol: string, aux: SymbolAux, outcome: ReanchorOutcome): void {
    this.c.reanchor_outcomes[outcome] = (this.c.reanchor_outcomes[outcome] ?? 0) + 1;
    const t = this.now();
    const duration = aux.outstandingSince !== null ? (t - aux.outstandingSince) / 1000 : undefined;
    if (outcome === 'ok' || outcome === 'timeout') aux.outstandingSince = outcome === 'ok' ? null : t;
    if (outcome === 'ok') aux.lastReanchorMs = t;
    this.hooks.onReanchorOutcome?.(symbol, outcome, outcome === 'ok' ? duration : undefined);
  }

  /**
   * A finished swap from `reanchor:done`: rebuild the symbol's book from the full-depth snapshot and re-apply
   * the buffered diffs with u > lastUpdateId. Returns what happened; the caller then flush()es.
   */
  applyReanchorDone(done: ReanchorDone, log?: Logger): ReanchorOutcome | 'unknown_symbol' {
    const st = this.market.get(done.symbol);
    const aux = this.aux.get(done.symbol);
    if (!st || !aux) return 'unknown_symbol';
    const l = log ?? this.logger;
    if (!done.snapshot) {
      // The snapshot expired before we read it: ask again at once.
      aux.want = 'snapshot_expired';
      aux.lastRequestMs = 0;
      this.outcome(done.symbol, aux, 'expired');
      l?.warn({ symbol: done.symbol, entry: done.id }, 're-anchor snapshot expired; requesting again');
      return 'expired';
    }
    const out = st.apply({
      type: 'depthSnapshot',
      symbol: done.symbol,
      event_ts: st.now,
      source: 'rest',
      last_update_id: done.snapshot.lastUpdateId,
      bids: done.snapshot.bids as [string, string][],
      asks: done.snapshot.asks as [string, string][],
    });
    let result: ReanchorOutcome;
    if (out.kind === 'skipped') result = 'stale';
    else result = st.status === 'live' ? 'ok' : 'gap';
    if (result === 'stale') {
      // Our book is already newer than the swapped-in snapshot; nothing was outstanding for it.
      if (st.status === 'live' && aux.outstandingSince !== null) this.outcome(done.symbol, aux, 'ok');
      else this.c.reanchor_outcomes.stale = (this.c.reanchor_outcomes.stale ?? 0) + 1;
    } else {
      this.outcome(done.symbol, aux, result);
    }
    if (result === 'ok' && aux.want === 'trade_gap') aux.want = null;
    if (result !== 'stale' && this.servedLog) {
      aux.cut.anchorId = done.snapshot.lastUpdateId;
      const entry = this.servedEntry('anchor', st, aux, this.now(), {});
      // Vectors computed before this snapshot but still being written must come first in the log: a
      // rebuild replays the log in order, and would otherwise apply the snapshot before computing them.
      if (this.servedBehindWrite) this.anchorsBehindWrite.push(entry);
      else {
        this.servedLog.add(entry);
        void this.servedLog.flush();
      }
    }
    this.dirty.add(done.symbol);
    this.noteBookStatuses();
    for (const r of this.market.drainReanchorRequests()) this.auxOf(r.symbol).want ??= r.reason;
    l?.info(
      { symbol: done.symbol, entry: done.id, last_update_id: done.snapshot.lastUpdateId, outcome: result, book_id: st.lastUpdateId },
      're-anchor snapshot applied',
    );
    return result;
  }

  /** Mark every known symbol's features due (the feature timer: features never go stale silently). */
  markFeaturesDue(): void {
    const t = this.now();
    for (const [symbol, aux] of this.aux) {
      if (t - aux.lastFeatureMs >= this.o.featureIntervalMs) {
        this.featureDue.add(symbol);
        this.dirty.add(symbol);
      }
      // A book that stopped receiving events must stop saying live without waiting for the next feature tick.
      const st = this.market.get(symbol);
      if (st && this.isStale(st.status, st.now, t) !== aux.writtenStale) this.dirty.add(symbol);
    }
  }

  private isStale(status: 'live' | 'resyncing', nowUs: number, wallMs: number): boolean {
    return status === 'live' && this.o.staleAfterMs > 0 && nowUs > 0 && wallMs * 1000 - nowUs > this.o.staleAfterMs * 1000;
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * Write everything applied so far. Serialized: at most one write in flight; callers arriving meanwhile
   * share the next write, which starts when the current one ends and projects the state as of then.
   */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    const prev = this.inFlight ?? Promise.resolve();
    const p: Promise<void> = prev
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        this.inFlight = p;
        return this.writeDirty();
      })
      .finally(() => {
        if (this.inFlight === p) this.inFlight = null;
      });
    this.queued = p;
    return p;
  }

  /** Resolves once no write is in flight or queued (errors ignored). */
  async idle(): Promise<void> {
    while (this.queued || this.inFlight) await (this.queued ?? this.inFlight)?.catch(() => undefined);
  }

  private async writeDirty(): Promise<void> {
    if (this.dirty.size === 0) return;
    const wallMs = this.now();
    const symbols = [...this.dirty];
    this.dirty.clear();
    const recv = this.pendingRecv;
    this.pendingRecv = [];
    const batch: SymbolProjection[] = [];
    const minutesTaken = new Map<string, number[]>();
    const featured: string[] = [];
    const staleness = new Map<string, boolean>();
    const served: ServedEntryInput[] = [];
    const written: [string, Record<string, string>, SymbolState][] = [];
    for (const symbol of symbols) {
      const st = this.market.get(symbol);
      const aux = this.aux.get(symbol);
      if (!st || !aux) continue;
      const p: SymbolProjection = { symbol };
      // Without any book yet, say so but keep the levels a previous run left (they match their own id).
      p.ob = st.lastUpdateId === null ? { set: { status: st.status }, del: [] } : st.obHash(this.o.depth);
      const stale = this.isStale(st.status, st.now, wallMs);
      if (stale) p.ob.set.status = 'stale';
      staleness.set(symbol, stale);
      p.tr1s = st.trHash(1);
      p.tr5s = st.trHash(5);
      if (aux.minutes.hasDirty) {
        // Every minute this run changed is in this write, so the stored ids stay a valid watermark.
        p.minutes = aux.minutes.takeDirty();
        minutesTaken.set(symbol, p.minutes.map((m) => m.minuteStartMs));
      }
      if (this.featureDue.has(symbol) || wallMs - aux.lastFeatureMs >= this.o.featureIntervalMs) {
        const t0 = performance.now();
        const f = st.featHash(wallMs);
        const sec = (performance.now() - t0) / 1000;
        p.feat = f.hash;
        written.push([symbol, f.hash, st]);
        // What the vector was computed from, logged only once the write that serves it succeeded.
        if (this.servedLog) served.push(this.servedEntry('feat', st, aux, wallMs, f.hash));
        aux.completeness = f.completeness;
        featured.push(symbol);
        this.hooks.onFeatures?.(symbol, sec);
      }
      batch.push(p);
    }
    let fenced: ReadonlySet<string> = new Set();
    this.servedBehindWrite = served.length > 0;
    try {
      try {
        fenced = new Set((await this.writer.write(batch)).fenced);
      } catch (err) {
        if (!(err instanceof ProjectionWriteError) || err.retryable) throw err;
        this.c.write_errors++;
        await this.writeIsolating(batch);
      }
    } catch (err) {
      this.c.write_errors++;
      for (const s of symbols) this.dirty.add(s);
      for (const [s, ms] of minutesTaken) this.aux.get(s)?.minutes.restoreDirty(ms);
      if (this.pendingRecv.length + recv.length <= MAX_PENDING_LATENCIES) this.pendingRecv = recv.concat(this.pendingRecv);
      this.releaseAnchorsBehindWrite();
      throw err;
    }
    this.c.writes++;
    for (const [sym, stale] of staleness) {
      const aux = this.aux.get(sym);
      if (aux) aux.writtenStale = stale;
    }
    for (const s of featured) {
      const aux = this.aux.get(s);
      if (aux) aux.lastFeatureMs = wallMs;
      this.featureDue.delete(s);
    }
    for (const e of served) if (!fenced.has(e.symbol)) this.servedLog?.add(e);
    this.releaseAnchorsBehindWrite();
    if (served.length > 0) void this.servedLog?.flush();
    for (const [symbol, feat, st] of written) if (!fenced.has(symbol)) this.hooks.onFeaturesWritten?.(symbol, feat, st);
    // Another worker holds these symbols' shard now: nothing of them was written, and nothing more should be.
    for (const s of fenced) this.forgetSymbol(s);
    if (featured.length > 0) {
      this.c.feature_updates += featured.length;
      this.lastFeatureWallMs = wallMs;
      for (let i = 0; i < featured.length; i++) this.featureStamps.push(wallMs);
      const cutoff = wallMs - 60_000;
      while (this.featureStamps.length > 0 && this.featureStamps[0] < cutoff) this.featureStamps.shift();
    }
    if (recv.length > 0 && this.hooks.onEndToEnd) {
      const nowUs = Date.now() * 1000;
      this.hooks.onEndToEnd(recv.map((r) => Math.max(0, nowUs - r) / 1e6));
    }
  }

  /** A served-log entry with a copy of the symbol's cut as of now. */
  /** Log the re-anchors applied while a write carrying served vectors was in flight, after those vectors. */
  private releaseAnchorsBehindWrite(): void {
    this.servedBehindWrite = false;
    if (this.anchorsBehindWrite.length === 0) return;
    for (const e of this.anchorsBehindWrite) this.servedLog?.add(e);
    this.anchorsBehindWrite = [];
    void this.servedLog?.flush();
  }

  private servedEntry(kind: 'feat' | 'anchor', st: SymbolState, aux: SymbolAux, wallMs: number, feat: Record<string, string>): ServedEntryInput {
    return { kind, symbol: st.symbol, wall_ms: wallMs, event_ts_us: st.now, cut: { ...aux.cut }, book_status: st.status, book_id: st.lastUpdateId ?? -1, feat };
  }

  /**
   * Redis refused the batch for good (non-retryable). Write it again symbol by symbol, and a refused
   * symbol part by part, dropping only the parts Redis refuses (logged, counted): they would be refused on
   * every retry and block every other write. What is dropped is a projection of state kept in memory, so
   * the symbol's next change writes it afresh. A retryable error meanwhile rejects like any failed write
   * (re-writing the parts already written is harmless: each is the state as of now).
   */
  private async writeIsolating(batch: readonly SymbolProjection[]): Promise<void> {
    for (const p of batch) {
      if ((await this.tryWrite([p])) === true) continue;
      const parts: [string, SymbolProjection][] = [];
      if (p.ob) parts.push(['ob', { symbol: p.symbol, ob: p.ob }]);
      if (p.tr1s || p.tr5s) parts.push(['tr', { symbol: p.symbol, tr1s: p.tr1s, tr5s: p.tr5s }]);
      if (p.feat) parts.push(['feat', { symbol: p.symbol, feat: p.feat }]);
      for (const m of p.minutes ?? []) parts.push([`minute ${m.minuteStartMs}`, { symbol: p.symbol, minutes: [m] }]);
      for (const [part, proj] of parts) {
        const err = await this.tryWrite([proj]);
        if (err === true) continue;
        this.c.write_quarantined++;
        this.hooks.onWriteQuarantined?.(p.symbol, part.startsWith('minute') ? 'minute' : part);
        this.logger?.error({ symbol: p.symbol, part, err: err.message }, 'Redis refused this part of the projection; dropped (not retried)');
      }
    }
  }

  /**
   * Drop everything held for a symbol (its shard lease moved to another worker): the timer stops writing it,
   * and if its records come back here later it starts afresh like a new symbol (stored minutes reloaded, book
   * re-anchored).
   */
  forgetSymbol(symbol: string): void {
    this.aux.delete(symbol);
    this.market.delete(symbol);
    this.tradeSeq.reset(symbol);
    this.dirty.delete(symbol);
    this.featureDue.delete(symbol);
  }

  /** true when written; the error when Redis refused it for good; throws when a retry could help. */
  private async tryWrite(batch: readonly SymbolProjection[]): Promise<true | ProjectionWriteError> {
    try {
      await this.writer.write(batch);
      return true;
    } catch (err) {
      if (err instanceof ProjectionWriteError && !err.retryable) return err;
      throw err;
    }
  }

  /** Feature updates written in the last 60 s, and the newest one's wall time (0 = never). */
  featureActivity(): { perMinute: number; lastMs: number } {
    const cutoff = this.now() - 60_000;
    return { perMinute: this.featureStamps.filter((t) => t >= cutoff).length, lastMs: this.lastFeatureWallMs };
  }

  /** Symbols whose re-anchor was requested and has not completed. */
  activeReanchors(): number {
    let n = 0;
    for (const a of this.aux.values()) if (a.outstandingSince !== null) n++;
    return n;
  }

  lastReanchorMs(): number {
    let t = 0;
    for (const a of this.aux.values()) t = Math.max(t, a.lastReanchorMs);
    return t;
  }

  symbols(): SymbolSummary[] {
    const iso = (t: number | null): string | null => (t ? new Date(t).toISOString() : null);
    const out: SymbolSummary[] = [];
    for (const [symbol, aux] of this.aux) {
      const st = this.market.get(symbol);
      if (!st) continue;
      out.push({
        symbol,
        status: st.status,
        last_update_id: st.lastUpdateId,
        buffered: st.bufferedDiffs,
        buffer_overflows: st.bufferOverflows,
        event_ts_us: st.now,
        resyncing_since: iso(aux.resyncingSince),
        reanchor_outstanding: aux.outstandingSince !== null,
        last_reanchor: iso(aux.lastReanchorMs),
        last_feature_update: iso(aux.lastFeatureMs),
        feature_completeness: aux.completeness,
      });
    }
    return out;
  }
}
