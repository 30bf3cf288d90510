/**
 * AtomicReanchor (SPEC.md "Atomic re-anchor"): replace a symbol's live state with a freshly fetched one so
 * that readers see the whole old state or the whole new state, never a gap.
 *
 *   a) SET reanchor:{SYM} <owner> NX PX lease (else 'skipped')     d) one Lua script: check everything, RENAME
 *   b) caller's fetch() → new hashes + full-depth snapshot            staging → live, restore TTLs, XADD
 *   c) staging keys + snapshot, written only while the flag is ours     reanchor:done, release the flag
 *   e) any failure → owner-checked cleanup, retried with backoff while Redis is away; live keys untouched
 *   f) at most one attempt per symbol per minIntervalMs ('rate_limited')
 * The flag is a lease: renewed (owner-checked) every lease/3 from a) until the attempt ends, so a dead owner
 * blocks the aggregator's ob writes for one lease at most, while a slow fetch keeps it as long as it runs.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './connect.js';
import { assertSnapshot, encodeSnapshot, flattenHash, RedisPayloadError, type DepthSnapshot } from './codec.js';
import { RedisUnavailableError, silentLogger, toRedisError, type LoggerLike } from './errors.js';
import { REANCHOR_DONE_STREAM, snapshotKey, STREAM_MAXLEN, symbolKeys, TTL_SECONDS, type SymbolKeys } from './keys.js';
import { withScripts, type BtcpipeScripts } from './scripts.js';

/** The new state, built by the core from the REST snapshot and recent trades. */
export interface ReanchorState {
  ob: Record<string, string>;
  tr1s: Record<string, string>;
  tr5s: Record<string, string>;
  /** Optional: without it the live `feat:{SYM}` is left as it is. */
  feat?: Record<string, string>;
  snapshot: DepthSnapshot;
}

export type ReanchorFetch = (signal: AbortSignal) => Promise<ReanchorState>;

export type ReanchorResult =
  | {
      status: 'ok';
      symbol: string;
      lastUpdateId: number;
      snapshotKey: string;
      /** start → fetch resolved */
      fetchMs: number;
      /** fetch resolved (snapshot received) → swap done: the SPEC's "< 2 s" target */
      swapMs: number;
      totalMs: number;
    }
  | {
      status: 'skipped';
      symbol: string;
      heldBy: string | null;
      /** What is left of the holder's lease (PTTL), ms; null when unknown. A dead holder frees it by then. */
      heldForMs: number | null;
    }
  | { status: 'rate_limited'; symbol: string; retryInMs: number }
  | { status: 'failed'; symbol: string; error: Error; cleanedUp: boolean; totalMs: number };

export type ReanchorStatus = ReanchorResult['status'];

export interface ReanchorStats {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  rateLimited: number;
  active: number;
  lastDurationMs: number;
  /** Failures whose cleanup did not finish within cleanupTimeoutMs (staging keys then expire by TTL). */
  cleanupFailures: number;
}

export interface AtomicReanchorOptions {
  cluster?: boolean;
  /** At most one attempt per symbol per this many ms (default 10 000). */
  minIntervalMs?: number;
  /** fetch() is aborted after this (default 60 000); the flag is renewed meanwhile. */
  fetchTimeoutMs?: number;
  /** Lease of the re-anchor flag, ms (default 15 000, at least 1 000); renewed every lease/3 while the attempt runs. */
  leaseMs?: number;
  /** How long a failed attempt keeps retrying its cleanup while Redis is unreachable (default 60 000). */
  cleanupTimeoutMs?: number;
  logger?: LoggerLike;
  /** Called once per attempt with its outcome and duration (start → end), e.g. for a histogram + counter. */
  onOutcome?: (info: { symbol: string; status: ReanchorStatus; durationMs: number; swapMs?: number }) => void;
  /** Identifies this process in the flag value (default host:pid). */
  ownerPrefix?: string;
  now?: () => number;
}

export class ReanchorError extends Error {
  override readonly name = 'ReanchorError';
}

export class AtomicReanchor {
  private readonly redis: RedisClient & BtcpipeScripts;
  private readonly cluster: boolean;
  private readonly minIntervalMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly cleanupTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly logger: LoggerLike;
  private readonly onOutcome?: AtomicReanchorOptions['onOutcome'];
  private readonly ownerPrefix: string;
  private readonly now: () => number;
  private readonly lastAttempt = new Map<string, number>();
  private readonly s: ReanchorStats = {
    total: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    rateLimited: 0,
    active: 0,
    lastDurationMs: 0,
    cleanupFailures: 0,
  };

  constructor(redis: RedisClient, opts: AtomicReanchorOptions = {}) {
    this.redis = withScripts(redis);
    this.cluster = opts.cluster ?? false;
    this.minIntervalMs = opts.minIntervalMs ?? 10_000;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 60_000;
    this.cleanupTimeoutMs = opts.cleanupTimeoutMs ?? 60_000;
    this.leaseMs = Math.max(1000, Math.round(opts.leaseMs ?? TTL_SECONDS.flag * 1000));
    this.logger = opts.logger ?? silentLogger;
    this.onOutcome = opts.onOutcome;
    this.ownerPrefix = (opts.ownerPrefix ?? `${hostname()}:${process.pid}`).replace(/\s/g, '_');
    this.now = opts.now ?? Date.now;
  }

  stats(): ReanchorStats {
    return { ...this.s };
  }

  /** Re-anchor one symbol. Never throws: every outcome is a ReanchorResult. */
  async run(symbol: string, fetch: ReanchorFetch, ctx: { reason?: string; correlationId?: string } = {}): Promise<ReanchorResult> {
    const started = performance.now();
    const log = { symbol, reason: ctx.reason, correlation_id: ctx.correlationId };
    this.s.total++;
    let keys: SymbolKeys;
    try {
      keys = symbolKeys(symbol, { cluster: this.cluster });
    } catch (err) {
      return this.finish({ status: 'failed', symbol, error: err as Error, cleanedUp: true, totalMs: 0 }, started, log);
    }

    const last = this.lastAttempt.get(symbol);
    const t = this.now();
    if (last !== undefined && t - last < this.minIntervalMs) {
      return this.finish({ status: 'rate_limited', symbol, retryInMs: this.minIntervalMs - (t - last) }, started, log);
    }

    const attemptId = randomUUID();
    const owner = `${this.ownerPrefix}:${attemptId}`;
    const snapKey = snapshotKey(keys, attemptId);
    try {
      const got = await this.redis.set(keys.flag, owner, 'PX', this.leaseMs, 'NX');
      if (got !== 'OK') {
        const [heldBy, pttl] = await Promise.all([
          this.redis.get(keys.flag).catch(() => null),
          this.redis.pttl(keys.flag).catch(() => -2),
        ]);
        return this.finish({ status: 'skipped', symbol, heldBy, heldForMs: pttl >= 0 ? pttl : null }, started, log);
      }
    } catch (err) {
      // A SET that timed out may still execute once a stalled server resumes: release it owner-checked.
      const e = toRedisError(err, 're-anchor flag');
      const cleanedUp = e instanceof RedisUnavailableError ? await this.cleanup(keys, owner, snapKey, log) : true;
      return this.finish({ status: 'failed', symbol, error: e, cleanedUp, totalMs: performance.now() - started }, started, log);
    }
    this.lastAttempt.set(symbol, t);
    this.s.active++;
    this.logger.info({ ...log, owner, lease_ms: this.leaseMs }, 're-anchor started');
    const lease = this.holdLease(keys.flag, owner, log);

    let fetched = 0;
    try {
      const state = await this.fetchWithTimeout(fetch);
      fetched = performance.now();
      const pairs = this.pairs(keys, state);
      await this.writeStaging(keys, owner, snapKey, state, pairs);
      const swap = await this.swap(keys, owner, snapKey, state.snapshot.lastUpdateId, pairs);
      if (swap !== 'ok') throw new ReanchorError(`swap refused: ${swap}`);
      if (this.cluster) await this.publishDone(symbol, state.snapshot.lastUpdateId, snapKey);
      const end = performance.now();
      return this.finish(
        {
          status: 'ok',
          symbol,
          lastUpdateId: state.snapshot.lastUpdateId,
          snapshotKey: snapKey,
          fetchMs: fetched - started,
          swapMs: end - fetched,
          totalMs: end - started,
        },
        started,
        log,
      );
    } catch (err) {
      const error =
        err instanceof ReanchorError || err instanceof RedisPayloadError ? err : toRedisError(err, 're-anchor');
      const cleanedUp = await this.cleanup(keys, owner, snapKey, log);
      return this.finish({ status: 'failed', symbol, error, cleanedUp, totalMs: performance.now() - started }, started, log);
    } finally {
      lease.stop();
      this.s.active--;
    }
  }

  /**
   * Renew the flag every lease/3 until stop(). A lost flag (expired while Redis was away, or taken over) is
   * logged once; the swap then refuses with 'not_owner' and the attempt fails and cleans up.
   */
  private holdLease(flag: string, owner: string, log: object): { stop(): void } {
    let stopped = false;
    let lost = false;
    let inFlight = false;
    const timer = setInterval(() => {
      if (stopped || inFlight) return;
      inFlight = true;
      this.redis
        .btcpipeRenew(flag, owner, this.leaseMs)
        .then((r) => {
          if (Number(r) !== 1 && !stopped && !lost) {
            lost = true;
            this.logger.warn({ ...log, owner }, 're-anchor flag lost before the swap (lease expired or taken over)');
          }
        })
        .catch((err: unknown) => {
          if (!stopped) this.logger.warn({ ...log, err: toRedisError(err, 'renew re-anchor lease').message }, 're-anchor lease not renewed');
        })
        .finally(() => {
          inFlight = false;
        });
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    timer.unref();
    return {
      stop() {
        stopped = true;
        clearInterval(timer);
      },
    };
  }

  private async fetchWithTimeout(fetch: ReanchorFetch): Promise<ReanchorState> {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new ReanchorError(`fetch timed out after ${this.fetchTimeoutMs} ms`));
      }, this.fetchTimeoutMs);
    });
    try {
      const state = await Promise.race([fetch(ac.signal), timeout]);
      validateState(state);
      return state;
    } catch (err) {
      if (err instanceof ReanchorError || err instanceof RedisPayloadError) throw err;
      throw new ReanchorError(`fetch failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** [staging, live, ttl] for each part of the state (feat only when given). */
  private pairs(keys: SymbolKeys, state: ReanchorState): { staging: string; live: string; ttl: number; hash: Record<string, string> }[] {
    const p = [
      { staging: keys.obNew, live: keys.ob, ttl: -1, hash: state.ob },
      { staging: keys.tr1sNew, live: keys.tr1s, ttl: TTL_SECONDS.tr, hash: state.tr1s },
      { staging: keys.tr5sNew, live: keys.tr5s, ttl: TTL_SECONDS.tr, hash: state.tr5s },
    ];
    if (state.feat) p.push({ staging: keys.featNew, live: keys.feat, ttl: TTL_SECONDS.feat, hash: state.feat });
    return p;
  }

  private async writeStaging(
    keys: SymbolKeys,
    owner: string,
    snapKey: string,
    state: ReanchorState,
    pairs: ReturnType<AtomicReanchor['pairs']>,
  ): Promise<void> {
    const args: (string | number)[] = [];
    for (const p of pairs) {
      const flat = flattenHash(p.hash, p.staging);
      args.push(flat.length, ...flat);
    }
    const stagingKeys = pairs.map((p) => p.staging);
    const written = await this.redis.btcpipeStagingWrite(
      2 + stagingKeys.length,
      keys.flag,
      ...stagingKeys,
      snapKey,
      owner,
      TTL_SECONDS.staging,
      encodeSnapshot(state.snapshot),
      ...args,
    );
    if (Number(written) !== 1) throw new ReanchorError('flag lost before the staging keys were written');
  }

  private async swap(
    keys: SymbolKeys,
    owner: string,
    snapKey: string,
    lastUpdateId: number,
    pairs: ReturnType<AtomicReanchor['pairs']>,
  ): Promise<string> {
    const k: string[] = [keys.flag, snapKey];
    for (const p of pairs) k.push(p.staging, p.live);
    // With Cluster the global done stream lives in another slot: it is published right after the script.
    const publish = !this.cluster;
    if (publish) k.push(REANCHOR_DONE_STREAM);
    return this.redis.btcpipeSwap(
      k.length,
      ...k,
      owner,
      pairs.length,
      keys.symbol,
      lastUpdateId,
      STREAM_MAXLEN,
      publish ? 1 : 0,
      ...pairs.map((p) => p.ttl),
    );
  }

  private async publishDone(symbol: string, lastUpdateId: number, snapKey: string): Promise<void> {
    const deadline = performance.now() + this.cleanupTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.redis.xadd(REANCHOR_DONE_STREAM, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'symbol', symbol,
          'last_update_id', String(lastUpdateId), 'snapshot_key', snapKey);
        return;
      } catch (err) {
        // The swap is done; losing the announcement would leave the aggregator buffering, so retry.
        if (performance.now() > deadline) throw toRedisError(err, 'publish reanchor:done');
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  }

  /** Owner-checked cleanup, retried with backoff while Redis is unreachable (bounded by cleanupTimeoutMs). */
  private async cleanup(keys: SymbolKeys, owner: string, snapKey: string, log: object): Promise<boolean> {
    const stagingKeys = [keys.obNew, keys.tr1sNew, keys.tr5sNew, keys.featNew];
    const deadline = performance.now() + this.cleanupTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await this.redis.btcpipeCleanup(2 + stagingKeys.length, keys.flag, snapKey, ...stagingKeys, owner);
        this.logger.info({ ...log, outcome, attempts: attempt + 1 }, 're-anchor cleanup done');
        return true;
      } catch (err) {
        const e = toRedisError(err, 're-anchor cleanup');
        if (!(e instanceof RedisUnavailableError) || performance.now() > deadline) {
          this.s.cleanupFailures++;
          this.logger.error({ ...log, err: e.message }, 're-anchor cleanup failed; staging keys expire by TTL');
          return false;
        }
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
  }

  private finish(r: ReanchorResult, started: number, log: object): ReanchorResult {
    const durationMs = performance.now() - started;
    switch (r.status) {
      case 'ok':
        this.s.succeeded++;
        this.s.lastDurationMs = durationMs;
        this.logger.info({ ...log, last_update_id: r.lastUpdateId, swap_ms: r.swapMs, total_ms: r.totalMs }, 're-anchor done');
        break;
      case 'failed':
        this.s.failed++;
        this.s.lastDurationMs = durationMs;
        this.logger.error({ ...log, err: r.error.message, cleaned_up: r.cleanedUp }, 're-anchor failed');
        break;
      case 'skipped':
        this.s.skipped++;
        this.logger.info({ ...log, held_by: r.heldBy, held_for_ms: r.heldForMs }, 're-anchor skipped: another one runs');
        break;
      case 'rate_limited':
        this.s.rateLimited++;
        this.logger.warn({ ...log, retry_in_ms: r.retryInMs }, 're-anchor rate limited');
        break;
    }
    this.onOutcome?.({ symbol: r.symbol, status: r.status, durationMs, swapMs: r.status === 'ok' ? r.swapMs : undefined });
    return r;
  }
}

function validateState(state: unknown): asserts state is ReanchorState {
  if (!state || typeof state !== 'object') throw new RedisPayloadError('re-anchor state: not an object');
  const s = state as Record<string, unknown>;
  for (const part of ['ob', 'tr1s', 'tr5s'] as const) {
    const h = s[part];
    if (!h || typeof h !== 'object' || Object.keys(h).length === 0) {
      // An empty hash cannot exist in Redis; swapping it in would delete the live key.
      throw new RedisPayloadError(`re-anchor state.${part}: must be a non-empty hash`);
    }
  }
  if (s.feat !== undefined && (typeof s.feat !== 'object' || s.feat === null || Object.keys(s.feat).length === 0)) {
    throw new RedisPayloadError('re-anchor state.feat: must be a non-empty hash when given');
  }
  assertSnapshot(s.snapshot, 're-anchor state.snapshot');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
