import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type GetRecordsCommandOutput,
  type KinesisClient,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { fullJitterBackoff, sleep, type BackoffPolicy } from './backoff.js';
import { InMemoryCheckpointStore, type CheckpointStore } from './checkpoints.js';
import { KINESIS_THROTTLE_ERRORS, describeError, errorName } from './errors.js';
import { deaggregateRecord } from './kpl.js';
import type { KinesisLogger } from './logger.js';
import type { ShardLeaseGate } from './lease-coordinator.js';
import { RateMeter } from './rate-meter.js';

/** One user record (a de-aggregated KPL sub-record, or a plain Kinesis record). */
export interface ConsumedRecord {
  data: Buffer;
  partitionKey: string;
  sequenceNumber: string;
  /** Index inside a KPL aggregated record; undefined for plain records. */
  subSequenceNumber?: number;
  shardId: string;
  /** ApproximateArrivalTimestamp, ms since the epoch. */
  arrivalMs: number;
  /** When the GetRecords response carrying it returned, ms since the epoch (splits transport from processing). */
  receivedMs: number;
}

export interface BatchContext {
  stream: string;
  shardId: string;
  millisBehindLatest: number;
  /** With leases: the epoch of this worker's lease on the shard (the fencing token its writes carry). */
  leaseEpoch?: number;
}

export type RecordHandler = (batch: ConsumedRecord[], ctx: BatchContext) => Promise<void>;

export interface KinesisStreamConsumerHooks {
  onBatch?(info: { stream: string; shardId: string; records: number; userRecords: number; handlerMs: number; millisBehindLatest: number }): void;
  onError?(info: { stream: string; shardId?: string; phase: 'discover' | 'iterator' | 'poll' | 'handler' | 'checkpoint'; error: string }): void;
}

export interface KinesisStreamConsumerOptions {
  client: KinesisClient;
  stream: string;
  /** Awaited per batch; the checkpoint is saved after it resolves. Calls are never concurrent. */
  handler: RecordHandler;
  checkpoints?: CheckpointStore;
  /**
   * Several workers share the stream: read only the shards this gate says this worker holds, start each
   * from its lease's checkpoint, save checkpoints in the lease (conditional on still holding it) and stop a
   * shard's reader as soon as the lease is lost or handed over. `checkpoints` is not used then, and shard
   * discovery and parent-before-child ordering are the lease table's.
   */
  leases?: ShardLeaseGate;
  /** Where to start a shard that has no checkpoint. Default LATEST. */
  initialPosition?: 'LATEST' | 'TRIM_HORIZON';
  /**
   * Wait before the next GetRecords once a poll found the shard read up to its tip — empty, or records with
   * MillisBehindLatest 0 and less than a full batch — ms (config consumer_config.poll_interval_ms). Default 100.
   */
  pollIntervalMs?: number;
  /** GetRecords Limit (config consumer_config.max_records_per_poll). Default 1000. */
  maxRecordsPerPoll?: number;
  /** ListShards period, ms. Default 10,000. */
  rediscoverIntervalMs?: number;
  /** Status turns 'idle' after this long without records, ms. Default 10,000. */
  idleAfterMs?: number;
  /** Backoff for Kinesis and handler errors. Default 100 ms base, 10 s cap. */
  backoff?: BackoffPolicy;
  hooks?: KinesisStreamConsumerHooks;
  logger?: KinesisLogger;
  random?: () => number;
}

export type ConsumerStatus = 'consuming' | 'idle' | 'error' | 'stopped';

export interface KinesisStreamConsumerStats {
  stream: string;
  status: ConsumerStatus;
  records_per_second: number;
  lag_seconds: number;
  last_processed: string | null;
  /** Kinesis-side errors (discovery, iterators, polls, checkpoints). */
  errors: number;
  handler_errors: number;
  records_processed: number;
  kinesis_records: number;
  /** GetRecords calls made (each costs the service a call, empty or not). */
  get_records_calls: number;
  /** Shards being read now. */
  shards: number;
  finished_shards: number;
  last_error: string | null;
}

interface ShardState {
  shard: Shard;
  parents: string[];
  state: 'waiting' | 'reading' | 'finished';
  /** True once this consumer read (or resumed) the shard; its children then start at TRIM_HORIZON. */
  readByUs: boolean;
  discoveredAtStart: boolean;
  millisBehind: number;
  lastSequence: string | undefined;
  /** With leases: the lease this reader runs under. */
  lease?: { epoch: number; checkpoint: string; start: string };
}


type PollResult = { ok: true; res: GetRecordsCommandOutput } | { ok: false; err: unknown };

interface StartPoint {
  type: ShardIteratorType;
  seq?: string;
  at?: Date;
}

/**
 * A LATEST iterator has no position to come back to. If it must be replaced before any record was delivered
 * (it expired, or the stream errored), the replacement starts AT_TIMESTAMP of when LATEST was asked for, this
 * much earlier: Kinesis stamps arrivals with its own clock, and a record delivered twice is harmless where
 * one skipped is lost.
 */
const LATEST_RESUME_MARGIN_MS = 5000;

/**
 * Reads one Kinesis stream: every shard in parallel (children only after their parents are read to the
 * end), KPL de-aggregation, an awaited handler per batch, a checkpoint after each handled batch, and
 * errors contained to this stream (backed off and reported in stats, never thrown at the caller).
 */
export class KinesisStreamConsumer {
  readonly stream: string;
  private readonly client: KinesisClient;
  private readonly handler: RecordHandler;
  private readonly checkpoints: CheckpointStore;
  private readonly leases: ShardLeaseGate | undefined;
  private readonly o: {
    initialPosition: 'LATEST' | 'TRIM_HORIZON';
    pollIntervalMs: number;
    maxRecordsPerPoll: number;
    rediscoverIntervalMs: number;
    idleAfterMs: number;
    backoff: BackoffPolicy;
  };
  private readonly hooks: KinesisStreamConsumerHooks;
  private readonly logger: KinesisLogger | undefined;
  private readonly random: () => number;
  private readonly shards = new Map<string, ShardState>();
  private readonly workers = new Set<Promise<void>>();
  private running = false;
  private abort = new AbortController();
  private discoverTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | undefined;
  private rediscoverRequested = false;
  private discoveryFailures = 0;
  private firstDiscoveryDone = false;
  /** Serializes handler calls across shards. */
  private handlerChain: Promise<void> = Promise.resolve();
  private readonly rate = new RateMeter(10);
  private counters = { errors: 0, handler_errors: 0, records_processed: 0, kinesis_records: 0, get_records_calls: 0 };
  private lastError: string | null = null;
  private lastErrorAt = 0;
  private lastOkAt = 0;
  private lastRecordsAt = 0;
  private lastProcessedAt = 0;

  constructor(options: KinesisStreamConsumerOptions) {
    this.client = options.client;
    this.stream = options.stream;
    this.handler = options.handler;
    this.checkpoints = options.checkpoints ?? new InMemoryCheckpointStore();
    this.leases = options.leases;
    this.leases?.onChange(() => this.reconcileLeases());
    const maxRecordsPerPoll = options.maxRecordsPerPoll ?? 1000;
    if (!Number.isInteger(maxRecordsPerPoll) || maxRecordsPerPoll < 1 || maxRecordsPerPoll > 10_000) {
      throw new RangeError(`maxRecordsPerPoll must be 1..10000, got ${maxRecordsPerPoll}`);
    }
    this.o = {
      initialPosition: options.initialPosition ?? 'LATEST',
      pollIntervalMs: options.pollIntervalMs ?? 100,
      maxRecordsPerPoll,
      rediscoverIntervalMs: options.rediscoverIntervalMs ?? 10_000,
      idleAfterMs: options.idleAfterMs ?? 10_000,
      backoff: options.backoff ?? { baseMs: 100, capMs: 10_000 },
    };
    this.hooks = options.hooks ?? {};
    this.logger = options.logger;
    this.random = options.random ?? Math.random;
  }

  /** Discover shards and start reading. Kinesis errors do not reject: they are retried and reported. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    if (this.leases) {
      this.reconcileLeases();
      return;
    }
    await this.discover();
  }

  /** Stop polling; resolves once an in-flight handler call has finished (and its checkpoint is saved). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    if (this.discoverTimer) clearTimeout(this.discoverTimer);
    this.discoverTimer = undefined;
    await this.discovering;
    while (this.workers.size > 0) await Promise.allSettled([...this.workers]);
  }

  stats(): KinesisStreamConsumerStats {
    let lagMs = 0;
    let reading = 0;
    let finished = 0;
    for (const s of this.shards.values()) {
      if (s.state === 'reading') {
        reading++;
        lagMs = Math.max(lagMs, s.millisBehind);
      } else if (s.state === 'finished') finished++;
    }
    return {
      stream: this.stream,
      status: this.status(),
      records_per_second: Math.round(this.rate.perSecond() * 10) / 10,
      lag_seconds: lagMs / 1000,
      last_processed: this.lastProcessedAt ? new Date(this.lastProcessedAt).toISOString() : null,
      ...this.counters,
      shards: reading,
      finished_shards: finished,
      last_error: this.lastError,
    };
  }

  private status(): ConsumerStatus {
    if (!this.running) return 'stopped';
    if (this.lastErrorAt > this.lastOkAt) return 'error';
    return Date.now() - this.lastRecordsAt < this.o.idleAfterMs ? 'consuming' : 'idle';
  }

  // ---- discovery ---------------------------------------------------------------------------------

  private discover(): Promise<void> {
    if (this.discovering) {
      this.rediscoverRequested = true;
      return this.discovering;
    }
    this.discovering = this.runDiscovery().finally(() => {
      this.discovering = undefined;
      if (!this.running) return;
      if (this.rediscoverRequested) {
        this.rediscoverRequested = false;
        void this.discover();
      } else {
        this.scheduleDiscovery();
      }
    });
    return this.discovering;
  }

  private scheduleDiscovery(): void {
    if (this.discoverTimer) clearTimeout(this.discoverTimer);
    const delay =
      this.discoveryFailures > 0
        ? Math.max(50, fullJitterBackoff(this.discoveryFailures - 1, this.o.backoff.baseMs, this.o.backoff.capMs, this.random))
        : this.o.rediscoverIntervalMs;
    this.discoverTimer = setTimeout(() => {
      this.discoverTimer = undefined;
      if (this.running) void this.discover();
    }, delay);
  }

  private async runDiscovery(): Promise<void> {
    let listed: Shard[];
    try {
      listed = await this.listShards();
      this.discoveryFailures = 0;
      this.markOk();
    } catch (err) {
      if (!this.running) return;
      this.discoveryFailures++;
      this.noteError('discover', err);
      return;
    }
    const atStart = !this.firstDiscoveryDone;
    this.firstDiscoveryDone = true;
    for (const shard of listed) {
      const id = shard.ShardId;
      if (!id || this.shards.has(id)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => typeof p === 'string');
      this.shards.set(id, {
        shard,
        parents,
        state: 'waiting',
        readByUs: false,
        discoveredAtStart: atStart,
        millisBehind: 0,
        lastSequence: undefined,
      });
    }
    this.startEligible();
  }

  private async listShards(): Promise<Shard[]> {
    const out: Shard[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.stream }),
        { abortSignal: this.abort.signal },
      );
      out.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token);
    return out;
  }

  /**
   * With leases: a reader for every shard held and not being read; a shard whose reader is still winding
   * down from an earlier lease is started again once that reader has stopped.
   */
  private reconcileLeases(): void {
    if (!this.running || !this.leases) return;
    for (const h of this.leases.readable()) {
      const s = this.shards.get(h.shardId);
      if (s) continue;
      this.shards.set(h.shardId, {
        // Only the id is needed: the lease table knows the rest (parents, whether it is closed).
        shard: { ShardId: h.shardId } as Shard,
        parents: [],
        state: 'waiting',
        readByUs: false,
        discoveredAtStart: false,
        millisBehind: 0,
        lastSequence: undefined,
        lease: { epoch: h.epoch, checkpoint: h.checkpoint, start: h.start },
      });
    }
    this.startEligible();
  }

  /** Whether this reader may go on: always without leases; with them, while the lease is held. */
  private mayRead(id: string, s: ShardState): boolean {
    return !this.leases || !s.lease || this.leases.holds(id, s.lease.epoch);
  }

  /** Start a reader for every waiting shard whose parents are finished (or gone past retention). */
  private startEligible(): void {
    if (!this.running) return;
    for (const [id, s] of this.shards) {
      if (s.state !== 'waiting') continue;
      if (s.lease && !this.mayRead(id, s)) {
        this.shards.delete(id);
        continue;
      }
      const blocked = s.parents.some((p) => {
        const parent = this.shards.get(p);
        return parent !== undefined && parent.state !== 'finished';
      });
      if (blocked) continue;
      s.state = 'reading';
      const worker = this.readShard(id, s)
        .catch((err: unknown) => this.noteError('poll', err, id))
        .finally(() => {
          this.workers.delete(worker);
          if (s.lease) this.leaseReaderDone(id, s);
        });
      this.workers.add(worker);
    }
  }

  /** A lease reader ended: forget the shard (a later lease on it starts afresh) and tell the gate. */
  private leaseReaderDone(id: string, s: ShardState): void {
    if (this.shards.get(id) === s && s.state !== 'finished') this.shards.delete(id);
    if (s.lease) this.leases?.readerStopped(id, s.lease.epoch);
    if (this.running) this.reconcileLeases();
  }

  private finishShard(id: string, s: ShardState): void {
    if (s.lease && this.leases) {
      s.state = 'finished';
      s.millisBehind = 0;
      this.logger?.info({ stream: this.stream, shardId: id }, 'kinesis shard finished');
      const lease = s.lease;
      void this.leases.finished(id, lease.epoch, s.lastSequence ?? null).then(
        () => {
          if (this.shards.get(id) === s) this.shards.delete(id);
        },
        (err: unknown) => {
          // The lease lapses; its next owner reads to the end again and finishes it.
          this.noteError('checkpoint', err, id);
          if (this.shards.get(id) === s) this.shards.delete(id);
        },
      );
      return;
    }
    s.state = 'finished';
    s.millisBehind = 0;
    this.logger?.info({ stream: this.stream, shardId: id }, 'kinesis shard finished');
    this.startEligible();
    // The children may not be listed yet (resharding in progress): look again soon.
    if (this.running) void this.discover();
  }

  // ---- reading one shard ------------------------------------------------------------------------

  private async readShard(id: string, s: ShardState): Promise<void> {
    const checkpoint = s.lease
      ? s.lease.checkpoint || undefined
      : await this.withRetry(id, 'checkpoint', () => this.checkpoints.load(this.stream, id));
    if (!this.running) {
      s.state = 'waiting';
      return;
    }
    if (checkpoint === undefined && this.o.initialPosition === 'LATEST' && s.discoveredAtStart && s.shard.SequenceNumberRange?.EndingSequenceNumber) {
      // A shard already closed when we first looked holds only history; LATEST means skip it.
      this.finishShard(id, s);
      return;
    }
    s.readByUs = true;
    s.lastSequence = checkpoint;
    const startType = (): StartPoint => {
      if (s.lastSequence !== undefined) return { type: 'AFTER_SEQUENCE_NUMBER', seq: s.lastSequence };
      if (s.lease) return leaseStart(s.lease.start);
      const parentRead = s.parents.some((p) => this.shards.get(p)?.readByUs === true);
      if (this.o.initialPosition === 'TRIM_HORIZON' || parentRead || !s.discoveredAtStart) return { type: 'TRIM_HORIZON' };
      return { type: 'LATEST' };
    };
    let start = startType();
    // Taken before asking, so nothing that arrives meanwhile can fall before the resume point.
    const resumeAt: StartPoint =
      start.type === 'LATEST' ? { type: 'AT_TIMESTAMP', at: new Date(Date.now() - LATEST_RESUME_MARGIN_MS) } : start;
    let iterator = await this.acquireIterator(id, start);
    start = resumeAt;
    let attempt = 0;
    let pending: Promise<PollResult> | undefined = iterator ? this.poll(iterator) : undefined;
    while (this.running && pending && this.mayRead(id, s)) {
      const result = await pending;
      pending = undefined;
      if (!this.running || !this.mayRead(id, s)) break;
      if (!result.ok) {
        const name = errorName(result.err);
        if (name === 'AbortError') break;
        if (name === 'ExpiredIteratorException') {
          // Re-acquire from the last delivered record (or the original start) rather than skipping ahead.
          start = s.lastSequence !== undefined ? { type: 'AFTER_SEQUENCE_NUMBER', seq: s.lastSequence } : start;
          iterator = await this.acquireIterator(id, start);
        } else {
          this.noteError('poll', result.err, id);
          if (name === 'ResourceNotFoundException') void this.discover();
          await sleep(fullJitterBackoff(attempt++, this.o.backoff.baseMs, this.o.backoff.capMs, this.random), this.abort.signal);
          // Not a throttle: the iterator itself may be unusable (stream deleted/re-created): get a new one.
          if (!KINESIS_THROTTLE_ERRORS.has(name) && this.running) {
            start = s.lastSequence !== undefined ? { type: 'AFTER_SEQUENCE_NUMBER', seq: s.lastSequence } : start;
            iterator = await this.acquireIterator(id, start);
          }
        }
        pending = iterator && this.running ? this.poll(iterator) : undefined;
        continue;
      }
      attempt = 0;
      this.markOk();
      const res = result.res;
      const records = res.Records ?? [];
      s.millisBehind = res.MillisBehindLatest ?? 0;
      iterator = res.NextShardIterator;
      // Keep the next GetRecords in flight while the handler runs when the shard is behind. At its tip, an
      // immediate poll would mostly come back empty before the producer's next call lands, yet it costs the
      // service a call: on kinesis-local, whose calls queue on one thread, those calls delayed everyone's.
      if (iterator) {
        const next = iterator;
        const immediate = s.millisBehind > 0 || records.length >= this.o.maxRecordsPerPoll;
        pending = immediate
          ? this.poll(next)
          : sleep(this.o.pollIntervalMs, this.abort.signal).then(() => (this.running ? this.poll(next) : abortedResult()));
      }
      if (records.length > 0) await this.deliver(id, s, records);
      if (!iterator) {
        this.finishShard(id, s);
        return;
      }
    }
    // Stopped: a prefetched poll may still settle; it never rejects (see poll()).
    if (s.state === 'reading') s.state = 'waiting';
  }

  private poll(iterator: string): Promise<PollResult> {
    this.counters.get_records_calls++;
    return this.client
      .send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.o.maxRecordsPerPoll }), { abortSignal: this.abort.signal })
      .then(
        (res): PollResult => ({ ok: true, res }),
        (err: unknown): PollResult => ({ ok: false, err }),
      );
  }

  private async acquireIterator(id: string, start: StartPoint): Promise<string | undefined> {
    return this.withRetry(id, 'iterator', async () => {
      if (start.type === 'AFTER_SEQUENCE_NUMBER') {
        try {
          return await this.getIterator(id, start);
        } catch (err) {
          if (!isUnknownSequenceNumber(err)) throw err;
          // The checkpoint belongs to an earlier incarnation of the stream (e.g. a restarted emulator):
          // read the new shard from its start rather than never again.
          this.noteError('iterator', err, id);
          this.logger?.warn({ stream: this.stream, shardId: id, checkpoint: start.seq }, 'checkpoint not valid for this stream; reading the shard from TRIM_HORIZON');
          return await this.getIterator(id, { type: 'TRIM_HORIZON' });
        }
      }
      return await this.getIterator(id, start);
    });
  }

  private async getIterator(id: string, start: StartPoint): Promise<string | undefined> {
    const res = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.stream,
        ShardId: id,
        ShardIteratorType: start.type,
        ...(start.seq !== undefined ? { StartingSequenceNumber: start.seq } : {}),
        ...(start.at !== undefined ? { Timestamp: start.at } : {}),
      }),
      { abortSignal: this.abort.signal },
    );
    this.markOk();
    return res.ShardIterator;
  }

  /** Retry a Kinesis/checkpoint operation with backoff until it succeeds or the consumer stops. */
  private async withRetry<T>(shardId: string, phase: 'iterator' | 'checkpoint', op: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; this.running; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (!this.running || errorName(err) === 'AbortError') return undefined;
        this.noteError(phase, err, shardId);
        if (errorName(err) === 'ResourceNotFoundException') void this.discover();
        await sleep(fullJitterBackoff(attempt, this.o.backoff.baseMs, this.o.backoff.capMs, this.random), this.abort.signal);
      }
    }
    return undefined;
  }

  private async deliver(id: string, s: ShardState, records: NonNullable<GetRecordsCommandOutput['Records']>): Promise<void> {
    const batch: ConsumedRecord[] = [];
    const receivedMs = Date.now();
    for (const r of records) {
      const seq = r.SequenceNumber ?? '';
      const arrivalMs = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
      const pk = r.PartitionKey ?? '';
      let users;
      try {
        users = deaggregateRecord(r.Data ?? new Uint8Array(0), pk, seq);
      } catch (err) {
        // A corrupt aggregated record can never be decoded; report it and move past it.
        this.noteError('poll', err, id);
        continue;
      }
      for (const u of users) {
        batch.push({
          data: u.data,
          partitionKey: u.partitionKey,
          sequenceNumber: seq,
          ...(u.subSequenceNumber !== undefined ? { subSequenceNumber: u.subSequenceNumber } : {}),
          shardId: id,
          arrivalMs,
          receivedMs,
        });
      }
    }
    const lastSeq = records[records.length - 1].SequenceNumber;
    this.counters.kinesis_records += records.length;
    this.lastRecordsAt = Date.now();
    const ctx: BatchContext = { stream: this.stream, shardId: id, millisBehindLatest: s.millisBehind };
    if (s.lease) {
      // Lost meanwhile: the new owner reads these records again from the lease's checkpoint.
      if (!this.mayRead(id, s)) return;
      ctx.leaseEpoch = s.lease.epoch;
    }
    const handlerMs = await this.runHandler(id, batch, ctx, () => this.mayRead(id, s));
    if (handlerMs === undefined) return; // stopped before the batch was handled: no checkpoint
    this.counters.records_processed += batch.length;
    this.rate.add(batch.length);
    this.lastProcessedAt = Date.now();
    this.hooks.onBatch?.({ stream: this.stream, shardId: id, records: records.length, userRecords: batch.length, handlerMs, millisBehindLatest: s.millisBehind });
    if (lastSeq === undefined) return;
    s.lastSequence = lastSeq;
    try {
      if (s.lease && this.leases) {
        if (!(await this.leases.checkpoint(id, s.lease.epoch, lastSeq))) {
          this.logger?.warn({ stream: this.stream, shardId: id, epoch: s.lease.epoch }, 'checkpoint refused: the shard lease is no longer ours; stopping its reader');
        }
      } else {
        await this.checkpoints.save(this.stream, id, lastSeq);
      }
    } catch (err) {
      // The next batch's checkpoint supersedes this one; a restart re-delivers a little more meanwhile.
      this.noteError('checkpoint', err, id);
    }
  }

  /** Run the handler (one call at a time per consumer), retrying the same batch with backoff. */
  private runHandler(id: string, batch: ConsumedRecord[], ctx: BatchContext, alive: () => boolean): Promise<number | undefined> {
    if (batch.length === 0) return Promise.resolve(0);
    const run = async (): Promise<number | undefined> => {
      for (let attempt = 0; ; attempt++) {
        const t0 = performance.now();
        try {
          await this.handler(batch, ctx);
          return performance.now() - t0;
        } catch (err) {
          this.counters.handler_errors++;
          this.lastError = `handler: ${describeError(err)}`;
          this.hooks.onError?.({ stream: this.stream, shardId: id, phase: 'handler', error: describeError(err) });
          this.logger?.error({ stream: this.stream, shardId: id, attempt, err: describeError(err) }, 'kinesis batch handler failed; retrying the same batch');
          if (!this.running || !alive()) return undefined;
          await sleep(fullJitterBackoff(attempt, this.o.backoff.baseMs, this.o.backoff.capMs, this.random), this.abort.signal);
          if (!this.running || !alive()) return undefined;
        }
      }
    };
    const result = this.handlerChain.then(run);
    this.handlerChain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private markOk(): void {
    this.lastOkAt = Date.now();
  }

  private noteError(phase: 'discover' | 'iterator' | 'poll' | 'checkpoint', err: unknown, shardId?: string): void {
    this.counters.errors++;
    this.lastError = `${phase}: ${describeError(err)}`;
    this.lastErrorAt = Date.now();
    this.hooks.onError?.({ stream: this.stream, ...(shardId ? { shardId } : {}), phase, error: describeError(err) });
    this.logger?.warn({ stream: this.stream, shardId, phase, err: describeError(err) }, 'kinesis consumer error');
  }
}

/**
 * AWS answers a sequence number from another incarnation of the stream with InvalidArgumentException;
 * kinesis-local answers ResourceNotFoundException "Unable to find record with provided SequenceNumber".
 */
function isUnknownSequenceNumber(err: unknown): boolean {
  const name = errorName(err);
  if (name === 'InvalidArgumentException') return true;
  return name === 'ResourceNotFoundException' && err instanceof Error && /sequence ?number/i.test(err.message);
}

/** Where a leased shard with no checkpoint starts: its lease's start point. */
function leaseStart(start: string): StartPoint {
  const m = /^AT_TIMESTAMP:(\d+)$/.exec(start);
  if (m) return { type: 'AT_TIMESTAMP', at: new Date(Number(m[1])) };
  return { type: 'TRIM_HORIZON' };
}

function abortedResult(): PollResult {
  const err = new Error('stopped');
  err.name = 'AbortError';
  return { ok: false, err };
}
