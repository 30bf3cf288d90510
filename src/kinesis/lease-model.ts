/**
 * Shard leases after the Kinesis Client Library's lease table, kept in Redis: one lease per shard with its
 * owner, a lease counter bumped by every renewal, the fencing epoch handed out when the lease was taken,
 * and the checkpoint (so a new owner resumes where the last one stopped). This module is the pure part:
 * the state transitions (mirrored one for one by the Lua scripts in lease-store.ts, which apply them
 * atomically on Redis' clock), how long a worker may believe it holds a lease, and which leases a worker
 * should take or ask for.
 *
 * Differences from KCL, and why:
 * - Expiry is measured on one clock (the Redis server's) instead of each worker watching the counter
 *   change on its own clock: one clock makes "expired" the same fact for every worker.
 * - Balancing never takes a live lease by force. A worker below its share sets `claim` on a lease of the
 *   busiest worker; the owner sees the claim on its next renewal, stops reading, saves its checkpoint and
 *   releases. KCL's forced steal leaves the old owner reading until its next renewal fails, i.e. two workers
 *   reading one shard; with a hand-off at most one worker believes it holds a shard at any instant.
 * - Every take draws a new epoch from one counter per stream, so epochs of different shards are comparable:
 *   a symbol's fence (`fence:{SYM}`) holds the highest epoch that wrote it, even across a reshard.
 */

/** One shard's lease as stored (field `shard:<id>` of the stream's lease hash, JSON). */
export interface Lease {
  shardId: string;
  /** '' = nobody. */
  owner: string;
  /** Bumped by every take and renewal (KCL's leaseCounter). */
  counter: number;
  /** Fencing token of the current (or last) ownership; 0 = never taken. */
  epoch: number;
  /** Server time (ms) the lease lapses unless renewed. */
  expiresMs: number;
  /** Last sequence number whose records were fully handled; '' = none yet. */
  checkpoint: string;
  /** Read to its end: never taken again; its children may start. */
  finished: boolean;
  /** Parent shards (a split's one, a merge's two): read before this one. */
  parents: string[];
  /** Where to read when there is no checkpoint: 'TRIM_HORIZON', or 'AT_TIMESTAMP:<ms>' (LATEST as of the
   *  lease's creation, so every owner starts from the same point). */
  start: string;
  /** A worker below its share asked for this lease; the owner hands it over at its next renewal. */
  claim: string;
}

export interface LeaseTiming {
  /** A lease lapses this long after its last take/renewal (config consumer_config.leases.duration_ms). */
  durationMs: number;
  /** How often the owner renews (renew_interval_ms); well below durationMs so one lost renewal is harmless. */
  renewIntervalMs: number;
  /** How often a worker looks for leases to take (take_interval_ms). */
  takeIntervalMs: number;
  /**
   * A worker stops believing it holds a lease this long before the lease could lapse on the server, measured
   * from when it SENT the renewal. Covers clock-rate drift between the worker and the server.
   */
  safetyMarginMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { durationMs: 10_000, renewIntervalMs: 3000, takeIntervalMs: 3000, safetyMarginMs: 1000 };

/** Worst failover: the lease lapses (duration) and the next take round runs (take interval). */
export function failoverBoundMs(t: LeaseTiming): number {
  return t.durationMs + t.takeIntervalMs;
}

export function validateTiming(t: LeaseTiming): void {
  if (!(t.durationMs >= 1000)) throw new RangeError(`lease duration must be >= 1000 ms, got ${t.durationMs}`);
  if (!(t.renewIntervalMs > 0 && t.renewIntervalMs * 2 <= t.durationMs)) {
    throw new RangeError(`lease renew interval must be > 0 and at most half the duration (${t.durationMs} ms), got ${t.renewIntervalMs}`);
  }
  if (!(t.takeIntervalMs > 0)) throw new RangeError(`lease take interval must be > 0, got ${t.takeIntervalMs}`);
  if (!(t.safetyMarginMs >= 0 && t.safetyMarginMs + t.renewIntervalMs < t.durationMs)) {
    throw new RangeError(`lease safety margin must leave time for a renewal: margin ${t.safetyMarginMs} + renew ${t.renewIntervalMs} >= duration ${t.durationMs}`);
  }
}

export function newLease(shardId: string, parents: readonly string[], start: string): Lease {
  return { shardId, owner: '', counter: 0, epoch: 0, expiresMs: 0, checkpoint: '', finished: false, parents: [...parents], start, claim: '' };
}

export function isHeld(l: Lease, nowMs: number): boolean {
  return l.owner !== '' && l.expiresMs > nowMs;
}

/** Parents that still exist in the table must be finished (a parent gone from the table is past retention). */
export function parentsDone(l: Lease, table: ReadonlyMap<string, Lease>): boolean {
  return l.parents.every((p) => table.get(p)?.finished ?? true);
}

/** Handed over and kept for the worker that asked for it until expiresMs (else the old owner, below its
 *  share now, could take it straight back). */
export function isReservedFor(l: Lease, worker: string, nowMs: number): boolean {
  return l.owner === '' && l.claim !== '' && l.claim !== worker && l.expiresMs > nowMs;
}

export function isTakeable(l: Lease, table: ReadonlyMap<string, Lease>, nowMs: number, worker: string): boolean {
  return !l.finished && !isHeld(l, nowMs) && !isReservedFor(l, worker, nowMs) && parentsDone(l, table);
}

export type TakeResult = { ok: true; lease: Lease } | { ok: false; reason: 'held' | 'finished' | 'parents' | 'missing' };

/** Take a lapsed or free lease; `nextEpoch` is the stream's epoch counter after its increment. */
export function take(table: ReadonlyMap<string, Lease>, shardId: string, worker: string, nowMs: number, durationMs: number, nextEpoch: number): TakeResult {
  const l = table.get(shardId);
  if (!l) return { ok: false, reason: 'missing' };
  if (l.finished) return { ok: false, reason: 'finished' };
  if (isHeld(l, nowMs) || isReservedFor(l, worker, nowMs)) return { ok: false, reason: 'held' };
  if (!parentsDone(l, table)) return { ok: false, reason: 'parents' };
  return { ok: true, lease: { ...l, owner: worker, counter: l.counter + 1, epoch: nextEpoch, expiresMs: nowMs + durationMs, claim: '' } };
}

export type RenewResult = { ok: true; lease: Lease; handOver: boolean } | { ok: false };

/** Only the owner of this very epoch, before the lease lapsed, may renew: a lapsed lease may already be someone else's. */
export function renew(l: Lease | undefined, worker: string, epoch: number, nowMs: number, durationMs: number): RenewResult {
  if (!l || l.owner !== worker || l.epoch !== epoch || !isHeld(l, nowMs)) return { ok: false };
  return { ok: true, lease: { ...l, counter: l.counter + 1, expiresMs: nowMs + durationMs }, handOver: l.claim !== '' && l.claim !== worker };
}

export type CheckpointResult = { ok: true; lease: Lease } | { ok: false };

/**
 * Save a checkpoint (conditional on ownership, like KCL's checkpoint update). `finished` marks the shard read
 * to its end and frees the lease; `release` frees it without finishing (hand-over, shutdown): a claimed lease
 * stays reserved for its claimer for `reserveMs`.
 */
export function checkpoint(
  l: Lease | undefined,
  worker: string,
  epoch: number,
  nowMs: number,
  seq: string | null,
  opts: { finished?: boolean; release?: boolean; reserveMs?: number } = {},
): CheckpointResult {
  if (!l || l.owner !== worker || l.epoch !== epoch || !isHeld(l, nowMs)) return { ok: false };
  const next: Lease = { ...l, checkpoint: seq ?? l.checkpoint };
  if (opts.finished) next.finished = true;
  if (opts.finished || opts.release) {
    next.owner = '';
    const reserve = !opts.finished && l.claim !== '' && l.claim !== worker;
    next.expiresMs = reserve ? nowMs + (opts.reserveMs ?? 0) : 0;
    if (!reserve) next.claim = '';
  }
  return { ok: true, lease: next };
}

/** Ask for a lease held by another live worker (hand-over at its next renewal). */
export function claim(l: Lease | undefined, worker: string, nowMs: number): Lease | undefined {
  if (!l || l.finished || !isHeld(l, nowMs) || l.owner === worker || l.claim !== '') return undefined;
  return { ...l, claim: worker };
}

/**
 * How long a worker may act as owner: until `sentLocalMs + duration − margin` on its own clock, where
 * sentLocalMs is when it sent the take/renewal the server accepted. The server applied it later, so the
 * server-side lapse is later still; the margin absorbs the clocks running at slightly different rates.
 */
export function beliefDeadline(sentLocalMs: number, t: Pick<LeaseTiming, 'durationMs' | 'safetyMarginMs'>): number {
  return sentLocalMs + t.durationMs - t.safetyMarginMs;
}

export interface LeasePlan {
  /** Free or lapsed leases to take now (up to this worker's share). */
  take: string[];
  /** A lease of the busiest worker to ask for (one per round, like KCL's maxLeasesToStealAtOneTime = 1). */
  claim: string | null;
  /** ceil(open leases / live workers). */
  target: number;
}

/**
 * KCL's LeaseTaker rule: every live worker aims at ceil(open leases / live workers). Below it, take lapsed
 * or free leases first (a dead worker's shards are picked up within one take round of their lapse); if
 * there are none, ask the busiest worker for one of its leases when it is above the target (or at it while
 * this worker is two or more below).
 * `liveWorkers` must include `me`. Shard order is by id, so two workers racing for the same lease is
 * settled by the take script; the loser simply does not get it.
 */
export function planLeases(table: ReadonlyMap<string, Lease>, me: string, liveWorkers: readonly string[], nowMs: number): LeasePlan {
  const workers = new Set(liveWorkers);
  workers.add(me);
  const open = [...table.values()].filter((l) => !l.finished);
  const target = open.length === 0 ? 0 : Math.ceil(open.length / workers.size);
  const counts = new Map<string, string[]>();
  for (const l of open) {
    if (!isHeld(l, nowMs)) continue;
    let c = counts.get(l.owner);
    if (!c) counts.set(l.owner, (c = []));
    c.push(l.shardId);
  }
  const mine = counts.get(me)?.length ?? 0;
  const plan: LeasePlan = { take: [], claim: null, target };
  if (mine >= target) return plan;
  const takeable = open
    .filter((l) => isTakeable(l, table, nowMs, me))
    .map((l) => l.shardId)
    .sort();
  plan.take = takeable.slice(0, target - mine);
  if (plan.take.length > 0 || takeable.length > 0) return plan;
  let busiest: string | null = null;
  let most = 0;
  for (const [owner, shards] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    if (owner !== me && shards.length > most) {
      busiest = owner;
      most = shards.length;
    }
  }
  // At exactly the target the busiest still gives one up to a worker two or more below it (4 shards, 3
  // workers: 2/2/0 becomes 2/1/1).
  if (busiest !== null && (most > target || (most === target && mine < target - 1))) {
    const candidates = (counts.get(busiest) ?? []).filter((id) => table.get(id)?.claim === '').sort();
    plan.claim = candidates[candidates.length - 1] ?? null;
  }
  return plan;
}

/** The lease hash's field names. */
export const LEASE_FIELD_PREFIX = 'shard:';
export const WORKER_FIELD_PREFIX = 'worker:';
export const EPOCH_FIELD = 'epoch';

/** Parse a stored lease; undefined when it is not one of ours (never throws on foreign data). */
export function parseLease(shardId: string, json: string): Lease | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  return {
    shardId,
    owner: str(o.owner),
    counter: num(o.counter),
    epoch: num(o.epoch),
    expiresMs: num(o.expiresMs),
    checkpoint: str(o.checkpoint),
    finished: o.finished === true,
    parents: Array.isArray(o.parents) ? o.parents.filter((p): p is string => typeof p === 'string') : [],
    start: str(o.start) || 'TRIM_HORIZON',
    claim: str(o.claim),
  };
}
