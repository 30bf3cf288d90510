/**
 * One worker's side of the lease table (KCL's LeaseCoordinator: a taker, a renewer and the shard sync in one
 * object): lists the stream's shards and creates their leases, takes lapsed/free leases up to this worker's
 * share, asks the busiest worker for one when there are none, renews what it holds, hands a claimed lease
 * over, and tells the consumer which shards it may read (the ShardLeaseGate). A lease counts as held only
 * until its belief deadline on this process' clock (see beliefDeadline), whatever the network does.
 */
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { RedisClient } from '../redis/connect.js';
import { describeError } from './errors.js';
import type { KinesisLogger } from './logger.js';
import { beliefDeadline, planLeases, validateTiming, type Lease, type LeaseTiming } from './lease-model.js';
import { RedisLeaseStore, type ShardDescriptor } from './lease-store.js';

/** A shard this worker holds: where to read from and the epoch its writes carry. */
export interface HeldShard {
  shardId: string;
  epoch: number;
  /** The lease's checkpoint when taken ('' = none). */
  checkpoint: string;
  /** 'TRIM_HORIZON' or 'AT_TIMESTAMP:<ms>' when there is no checkpoint. */
  start: string;
}

/** What KinesisStreamConsumer needs from a lease coordinator. */
export interface ShardLeaseGate {
  /** Shards to read now (held, not being handed over). */
  readable(): HeldShard[];
  /** Whether this worker may still act as owner of the shard at this epoch. */
  holds(shardId: string, epoch: number): boolean;
  /** Save a checkpoint in the lease; false = the lease is no longer ours (stop reading the shard). */
  checkpoint(shardId: string, epoch: number, sequence: string): Promise<boolean>;
  /** The shard was read to its end: mark the lease finished (its children become takeable). */
  finished(shardId: string, epoch: number, lastSequence: string | null): Promise<void>;
  /** The consumer stopped reading the shard (revoked, handed over, or stopping). */
  readerStopped(shardId: string, epoch: number): void;
  /** Called when readable() may have changed. */
  onChange(listener: () => void): void;
}

export interface LeaseCoordinatorHooks {
  onAcquired?(shard: HeldShard): void;
  /** `reason`: 'lost' (renewal refused or not confirmed in time), 'handed_over', 'finished', 'stopped'. */
  onReleased?(shardId: string, epoch: number, reason: 'lost' | 'handed_over' | 'finished' | 'stopped'): void;
  onError?(phase: 'sync' | 'take' | 'renew' | 'checkpoint' | 'release', error: string): void;
}

export interface LeaseCoordinatorOptions {
  redis: RedisClient;
  kinesis: KinesisClient;
  stream: string;
  workerId: string;
  timing: LeaseTiming;
  initialPosition?: 'LATEST' | 'TRIM_HORIZON';
  /** ListShards period (new shards after a reshard get leases), ms. Default 10,000. */
  shardSyncIntervalMs?: number;
  logger?: KinesisLogger;
  hooks?: LeaseCoordinatorHooks;
  /** This process' clock (tests). */
  now?: () => number;
}

interface Holding extends HeldShard {
  /** Local time until which this worker may act as owner. */
  deadline: number;
  handingOver: boolean;
}

export class LeaseCoordinator implements ShardLeaseGate {
  readonly workerId: string;
  readonly stream: string;
  private readonly store: RedisLeaseStore;
  private readonly kinesis: KinesisClient;
  private readonly timing: LeaseTiming;
  private readonly initialPosition: 'LATEST' | 'TRIM_HORIZON';
  private readonly syncEveryMs: number;
  private readonly logger: KinesisLogger | undefined;
  private readonly hooks: LeaseCoordinatorHooks;
  private readonly now: () => number;
  private readonly held = new Map<string, Holding>();
  private readonly listeners: (() => void)[] = [];
  private running = false;
  private timers: NodeJS.Timeout[] = [];
  private lastSyncMs = 0;
  private syncWanted = true;
  private takeRunning: Promise<void> | undefined;
  private renewRunning: Promise<void> | undefined;
  private counters = { taken: 0, lost: 0, handed_over: 0, claims: 0, errors: 0 };
  private lastView: { workers: number; leases: number; target: number } = { workers: 0, leases: 0, target: 0 };

  constructor(o: LeaseCoordinatorOptions) {
    validateTiming(o.timing);
    if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(o.workerId)) throw new RangeError(`invalid worker id ${JSON.stringify(o.workerId)}: 1-128 of A-Z a-z 0-9 . _ : @ -`);
    this.workerId = o.workerId;
    this.stream = o.stream;
    this.store = new RedisLeaseStore(o.redis, o.stream);
    this.kinesis = o.kinesis;
    this.timing = o.timing;
    this.initialPosition = o.initialPosition ?? 'LATEST';
    this.syncEveryMs = o.shardSyncIntervalMs ?? 10_000;
    this.logger = o.logger;
    this.hooks = o.hooks ?? {};
    this.now = o.now ?? Date.now;
  }

  /** Start the take and renew loops (the first take round runs now). Redis/Kinesis errors are retried. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.takeRound();
    this.timers.push(setInterval(() => void this.takeRound(), this.timing.takeIntervalMs));
    this.timers.push(setInterval(() => void this.renewRound(), this.timing.renewIntervalMs));
  }

  /** Stop the loops and release every lease still held (call after the consumer stopped and checkpointed). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.takeRunning;
    await this.renewRunning;
    const all = [...this.held.values()];
    this.held.clear();
    await Promise.all(
      all.map(async (h) => {
        try {
          await this.store.checkpoint(h.shardId, this.workerId, h.epoch, null, 'release');
        } catch (err) {
          // It lapses on its own within one lease duration.
          this.noteError('release', err);
        }
        this.hooks.onReleased?.(h.shardId, h.epoch, 'stopped');
      }),
    );
  }

  stats(): Record<string, unknown> {
    return {
      worker_id: this.workerId,
      held: [...this.held.values()].map((h) => ({ shard: h.shardId, epoch: h.epoch, handing_over: h.handingOver })),
      live_workers: this.lastView.workers,
      leases: this.lastView.leases,
      target: this.lastView.target,
      ...this.counters,
    };
  }

  // ---- ShardLeaseGate ---------------------------------------------------------------------------

  readable(): HeldShard[] {
    const t = this.now();
    return [...this.held.values()]
      .filter((h) => !h.handingOver && t < h.deadline)
      .map(({ shardId, epoch, checkpoint, start }) => ({ shardId, epoch, checkpoint, start }));
  }

  holds(shardId: string, epoch: number): boolean {
    const h = this.held.get(shardId);
    return h !== undefined && h.epoch === epoch && !h.handingOver && this.now() < h.deadline;
  }

  async checkpoint(shardId: string, epoch: number, sequence: string): Promise<boolean> {
    const ok = await this.store.checkpoint(shardId, this.workerId, epoch, sequence, 'save');
    const h = this.held.get(shardId);
    if (!ok && h?.epoch === epoch) this.drop(h, 'lost');
    else if (ok && h) h.checkpoint = sequence;
    return ok;
  }

  async finished(shardId: string, epoch: number, lastSequence: string | null): Promise<void> {
    const ok = await this.store.checkpoint(shardId, this.workerId, epoch, lastSequence, 'finish');
    const h = this.held.get(shardId);
    if (h?.epoch === epoch) this.drop(h, ok ? 'finished' : 'lost');
    // Its children are takeable now (and may not have leases yet).
    this.syncWanted = true;
    if (this.running) void this.takeRound();
  }

  readerStopped(shardId: string, epoch: number): void {
    const h = this.held.get(shardId);
    if (!h || h.epoch !== epoch || !h.handingOver) return;
    void this.release(h, 'handed_over');
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  // ---- loops --------------------------------------------------------------------------------------

  /** One take round (serialized): sync shards when due, read the table, take/claim per planLeases. */
  takeRound(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.takeRunning) return this.takeRunning;
    this.takeRunning = this.runTake().finally(() => {
      this.takeRunning = undefined;
    });
    return this.takeRunning;
  }

  private async runTake(): Promise<void> {
    this.expireBeliefs();
    try {
      if (this.syncWanted || this.now() - this.lastSyncMs >= this.syncEveryMs) await this.syncShards();
    } catch (err) {
      this.noteError('sync', err);
    }
    try {
      const snap = await this.store.snapshot(this.workerId, this.timing.durationMs);
      const plan = planLeases(snap.leases, this.workerId, snap.liveWorkers, snap.nowMs);
      this.lastView = { workers: new Set([...snap.liveWorkers, this.workerId]).size, leases: [...snap.leases.values()].filter((l) => !l.finished).length, target: plan.target };
      for (const shardId of plan.take) {
        if (!this.running) return;
        const sent = this.now();
        const r = await this.store.take(shardId, this.workerId, this.timing.durationMs);
        if (r.ok) this.acquired(r.lease, sent);
      }
      if (plan.claim !== null && (await this.store.claim(plan.claim, this.workerId))) {
        this.counters.claims++;
        this.logger?.info({ stream: this.stream, shardId: plan.claim, worker: this.workerId }, 'lease hand-over requested');
      }
    } catch (err) {
      this.noteError('take', err);
    }
  }

  private async syncShards(): Promise<void> {
    const shards = await this.listShards();
    const snap = await this.store.snapshot(this.workerId, this.timing.durationMs);
    const missing: ShardDescriptor[] = [];
    for (const s of shards) {
      if (!s.ShardId || snap.leases.has(s.ShardId)) continue;
      missing.push({
        shardId: s.ShardId,
        parents: [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => typeof p === 'string'),
        closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
      });
    }
    if (missing.length > 0) {
      const n = await this.store.create(missing, this.initialPosition, snap.leases.size === 0);
      if (n > 0) this.logger?.info({ stream: this.stream, created: n }, 'shard leases created');
    }
    this.lastSyncMs = this.now();
    this.syncWanted = false;
  }

  private async listShards(): Promise<Shard[]> {
    const out: Shard[] = [];
    let token: string | undefined;
    do {
      const res = await this.kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.stream }));
      out.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token);
    return out;
  }

  private renewRound(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.renewRunning) return this.renewRunning;
    this.renewRunning = this.runRenew().finally(() => {
      this.renewRunning = undefined;
    });
    return this.renewRunning;
  }

  private async runRenew(): Promise<void> {
    this.expireBeliefs();
    await Promise.all(
      [...this.held.values()].map(async (h) => {
        const sent = this.now();
        try {
          const r = await this.store.renew(h.shardId, this.workerId, h.epoch, this.timing.durationMs);
          if (this.held.get(h.shardId) !== h) return;
          if (!r.ok) {
            this.drop(h, 'lost');
            return;
          }
          h.deadline = beliefDeadline(sent, this.timing);
          if (r.handOver && !h.handingOver) {
            h.handingOver = true;
            this.logger?.info({ stream: this.stream, shardId: h.shardId, worker: this.workerId }, 'handing the lease over');
            this.changed();
            // The consumer answers with readerStopped once its last batch is checkpointed; it may have had
            // no reader at all.
            setTimeout(() => {
              if (this.held.get(h.shardId) === h) void this.release(h, 'handed_over');
            }, this.timing.renewIntervalMs).unref();
          }
        } catch (err) {
          // Not confirmed: keep acting as owner only until the belief deadline (expireBeliefs).
          this.noteError('renew', err);
        }
      }),
    );
    this.expireBeliefs();
  }

  // ---- state --------------------------------------------------------------------------------------

  private acquired(lease: Lease, sentLocalMs: number): void {
    const h: Holding = {
      shardId: lease.shardId,
      epoch: lease.epoch,
      checkpoint: lease.checkpoint,
      start: lease.start,
      deadline: beliefDeadline(sentLocalMs, this.timing),
      handingOver: false,
    };
    this.held.set(lease.shardId, h);
    this.counters.taken++;
    this.logger?.info({ stream: this.stream, shardId: lease.shardId, epoch: lease.epoch, checkpoint: lease.checkpoint || null, worker: this.workerId }, 'shard lease taken');
    this.hooks.onAcquired?.({ shardId: h.shardId, epoch: h.epoch, checkpoint: h.checkpoint, start: h.start });
    this.changed();
  }

  private async release(h: Holding, reason: 'handed_over'): Promise<void> {
    if (this.held.get(h.shardId) !== h) return;
    this.held.delete(h.shardId);
    try {
      // Kept for the claimer for one take round plus slack; anyone may take it after that.
      await this.store.checkpoint(h.shardId, this.workerId, h.epoch, null, 'release', 2 * this.timing.takeIntervalMs);
    } catch (err) {
      this.noteError('release', err);
    }
    this.counters.handed_over++;
    this.hooks.onReleased?.(h.shardId, h.epoch, reason);
    this.changed();
  }

  private expireBeliefs(): void {
    const t = this.now();
    for (const h of [...this.held.values()]) if (t >= h.deadline) this.drop(h, 'lost');
  }

  private drop(h: Holding, reason: 'lost' | 'finished'): void {
    if (this.held.get(h.shardId) !== h) return;
    this.held.delete(h.shardId);
    if (reason === 'lost') {
      this.counters.lost++;
      this.logger?.warn({ stream: this.stream, shardId: h.shardId, epoch: h.epoch, worker: this.workerId }, 'shard lease lost');
    }
    this.hooks.onReleased?.(h.shardId, h.epoch, reason);
    this.changed();
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  private noteError(phase: 'sync' | 'take' | 'renew' | 'checkpoint' | 'release', err: unknown): void {
    this.counters.errors++;
    this.hooks.onError?.(phase, describeError(err));
    this.logger?.warn({ stream: this.stream, phase, worker: this.workerId, err: describeError(err) }, 'lease coordinator error');
  }
}
