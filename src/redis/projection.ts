/**
 * ProjectionWriter: writes one consumer batch of derived state (order book top levels, 1 s / 5 s trade
 * stats, features, per-minute trade stats) to Redis in one round trip, and readers never see half a batch:
 * one Lua script call (SYMBOL_WRITE_LUA for one symbol, SYMBOLS_WRITE_LUA for several), atomic as a whole.
 * The script skips `ob:{SYM}` while `reanchor:{SYM}` exists and never moves its last_update_id backwards,
 * decided inside Redis (a prior GET would race with the re-anchor).
 *
 * Fencing (several aggregators, shard leases): with `fencing`, every part of a symbol's write carries the
 * epoch of the lease its records came under and is refused inside Redis when `fence:{SYM}` is higher (see
 * scripts.ts); a symbol with no epoch here (its shard is not held) is not sent at all. Either way the
 * symbol is reported in `fenced`, and its caller should drop it.
 *
 * Redis Cluster: a script's keys must share one slot, so each symbol's call is sent on its own (all of a
 * symbol's keys share its hash tag), concurrently.
 */
import type { RedisClient } from './connect.js';
import { encodeMinuteValue, packHash, packNames, RedisPayloadError, type MinuteStat } from './codec.js';
import { RedisUnavailableError, toRedisError, type LoggerLike, silentLogger } from './errors.js';
import { symbolKeys, TTL_SECONDS } from './keys.js';
import { withScripts, type BtcpipeScripts } from './scripts.js';

/** Pure data built by the core for one symbol of one batch. */
export interface SymbolProjection {
  symbol: string;
  ob?: { set: Record<string, string>; del: string[] };
  tr1s?: Record<string, string>;
  tr5s?: Record<string, string>;
  feat?: Record<string, string>;
  minutes?: MinuteStat[];
}

/**
 * What became of a symbol's ob write: 'reanchor' = the re-anchor flag blocked it; 'older' = the stored book
 * has a higher last_update_id; 'no_book' = the write carried no last_update_id over a stored book. In each
 * refused case the stored ob now says `status=resyncing`.
 */
export type ObWriteOutcome = 'written' | 'reanchor' | 'older' | 'no_book' | 'fenced';

export interface ProjectionResult {
  /** Per symbol that had an `ob` part: true = written, false = refused (see obOutcome). */
  obWritten: Record<string, boolean>;
  obOutcome: Record<string, ObWriteOutcome>;
  /** Symbols whose write was refused whole: another worker holds their shard now (fencing only). */
  fenced: string[];
  latencyMs: number;
}

export interface ProjectionStats {
  operations: number;
  errors: number;
  lastLatencyMs: number;
  avgLatencyMs: number;
  /** Symbols whose ob write was suppressed by a re-anchor flag (cumulative). */
  obSkipped: number;
  /** ob writes refused because the stored book is newer, or they carried no book over one (cumulative). */
  obStale: number;
  /** Symbol writes refused by the lease fence (cumulative). */
  fenced: number;
}

export interface ProjectionWriterOptions {
  cluster?: boolean;
  /** Per-minute stats kept this many minutes back from the newest written minute (default 180). */
  minutesRetention?: number;
  logger?: LoggerLike;
  /** Called after every batch (for a latency histogram / counters). */
  onBatch?: (info: { latencyMs: number; symbols: number; ok: boolean; fenced?: number }) => void;
  /** Shard leases: the lease epoch a symbol's writes carry; undefined = this worker does not hold it. */
  fencing?: { epochOf(symbol: string): number | undefined };
}

/** Thrown (never crashes the process) when a batch could not be written; `retryable` says if a retry helps. */
export class ProjectionWriteError extends Error {
  override readonly name = 'ProjectionWriteError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ProjectionWriter {
  private readonly redis: RedisClient & BtcpipeScripts;
  private readonly cluster: boolean;
  private readonly retentionMs: number;
  private readonly logger: LoggerLike;
  private readonly onBatch?: ProjectionWriterOptions['onBatch'];
  private readonly fencing: ProjectionWriterOptions['fencing'];
  private fencedCount = 0;
  private ops = 0;
  private errs = 0;
  private lastMs = 0;
  private totalMs = 0;
  private skipped = 0;
  private stale = 0;

  constructor(redis: RedisClient, opts: ProjectionWriterOptions = {}) {
    this.redis = withScripts(redis);
    this.cluster = opts.cluster ?? false;
    this.retentionMs = (opts.minutesRetention ?? 180) * 60_000;
    this.logger = opts.logger ?? silentLogger;
    this.onBatch = opts.onBatch;
    this.fencing = opts.fencing;
  }

  stats(): ProjectionStats {
    return {
      operations: this.ops,
      errors: this.errs,
      lastLatencyMs: this.lastMs,
      avgLatencyMs: this.ops > 0 ? this.totalMs / this.ops : 0,
      obSkipped: this.skipped,
      obStale: this.stale,
      fenced: this.fencedCount,
    };
  }

  /**
   * Write a batch. Resolves with which order books were written; rejects with ProjectionWriteError
   * (Redis down / timed out → retryable) — the caller keeps its state and writes again on its next batch.
   * A symbol appearing twice in a batch is applied in order.
   */
  async write(batch: readonly SymbolProjection[]): Promise<ProjectionResult> {
    const started = performance.now();
    const obWritten: Record<string, boolean> = {};
    const obOutcome: Record<string, ObWriteOutcome> = {};
    const fenced: string[] = [];
    if (batch.length === 0) return { obWritten, obOutcome, fenced, latencyMs: 0 };
    try {
      const groups = this.cluster ? batch.map((p) => [p]) : [batch];
      const results = await Promise.all(groups.map((g) => this.execGroup(g)));
      for (const r of results) {
        for (const [symbol, outcome] of r) {
          obOutcome[symbol] = outcome;
          obWritten[symbol] = outcome === 'written';
          if (outcome === 'reanchor') this.skipped++;
          else if (outcome === 'fenced') {
            this.fencedCount++;
            fenced.push(symbol);
          } else if (outcome !== 'written') this.stale++;
        }
      }
    } catch (err) {
      const latencyMs = performance.now() - started;
      this.errs++;
      this.onBatch?.({ latencyMs, symbols: batch.length, ok: false });
      const e =
        err instanceof ProjectionWriteError
          ? err
          : err instanceof RedisPayloadError
            ? new ProjectionWriteError(err.message, false, { cause: err })
            : (() => {
                const re = toRedisError(err, 'projection write');
                return new ProjectionWriteError(re.message, re instanceof RedisUnavailableError, { cause: re });
              })();
      this.logger.warn({ err: e.message, retryable: e.retryable, symbols: batch.length }, 'redis projection write failed');
      throw e;
    }
    if (fenced.length > 0) this.logger.warn({ symbols: fenced }, 'writes refused by the lease fence: another worker holds these symbols now');
    const latencyMs = performance.now() - started;
    this.ops++;
    this.lastMs = latencyMs;
    this.totalMs += latencyMs;
    this.onBatch?.({ latencyMs, symbols: batch.length, ok: true, fenced: fenced.length });
    return { obWritten, obOutcome, fenced, latencyMs };
  }

  /**
   * One script call for the group's symbols; returns [symbol, outcome] for each ob part, in order.
   */
  private async execGroup(group: readonly SymbolProjection[]): Promise<[string, ObWriteOutcome][]> {
    const calls: { symbol: string; hasOb: boolean; args: ScriptArg[] }[] = [];
    const refused: [string, ObWriteOutcome][] = [];
    for (const p of group) {
      const epoch = this.epochArg(p.symbol);
      if (epoch === null) {
        refused.push([p.symbol, 'fenced']);
        continue;
      }
      const args = this.symbolArgs(p, epoch);
      if (args) calls.push({ symbol: p.symbol, hasOb: p.ob !== undefined, args });
    }
    if (calls.length === 0) return refused;
    let outcomes: unknown[];
    if (calls.length === 1) {
      // A script runs atomically on its own: no MULTI round of commands around a single call.
      outcomes = [await this.redis.btcpipeSymbolWrite(...calls[0].args)];
    } else {
      // Not a cluster (a cluster's groups hold one symbol): one command for the batch (SYMBOLS_WRITE_LUA),
      // not a MULTI of one per symbol.
      const keys: ScriptArg[] = [];
      const argv: ScriptArg[] = [];
      for (const c of calls) {
        for (let i = 0; i < SYMBOL_KEYS; i++) keys.push(c.args[i]);
        argv.push(c.args.length - SYMBOL_KEYS);
        for (let i = SYMBOL_KEYS; i < c.args.length; i++) argv.push(c.args[i]);
      }
      outcomes = await this.redis.btcpipeSymbolsWrite(keys.length, ...keys, ...argv);
    }
    const out = refused;
    for (let i = 0; i < calls.length; i++) {
      if (calls[i].hasOb) out.push([calls[i].symbol, OB_OUTCOMES[Number(outcomes[i])] ?? 'written']);
    }
    return out;
  }

  /** SYMBOL_WRITE_LUA's keys and arguments for one symbol (see scripts.ts); undefined when it has nothing to write. */
  private symbolArgs(p: SymbolProjection, epoch: string): ScriptArg[] | undefined {
    const k = symbolKeys(p.symbol, { cluster: this.cluster });
    const args: ScriptArg[] = [k.flag, k.ob, k.fence, k.tr1s, k.tr5s, k.feat, k.minutes, epoch];
    let parts = 0;
    if (p.ob) {
      const writeId = obWriteId(p.symbol, p.ob.set.last_update_id);
      args.push(3, writeId, packHash(p.ob.set, `${p.symbol}.ob.set`).packed, packNames(p.ob.del, `${p.symbol}.ob.del`));
      parts++;
    } else args.push(0);
    parts += hashPart(args, p.tr1s, TTL_SECONDS.tr, `${p.symbol}.tr1s`);
    parts += hashPart(args, p.tr5s, TTL_SECONDS.tr, `${p.symbol}.tr5s`);
    parts += hashPart(args, p.feat, TTL_SECONDS.feat, `${p.symbol}.feat`);
    if (p.minutes && p.minutes.length > 0) {
      const at = args.length;
      args.push(0, TTL_SECONDS.minutes, 0, Math.ceil(this.retentionMs / 60_000) + 5);
      let newest = 0;
      for (const m of p.minutes) {
        args.push(String(m.minuteStartMs), encodeMinuteValue(m));
        newest = Math.max(newest, m.minuteStartMs);
      }
      args[at] = args.length - at - 1;
      args[at + 2] = newest - this.retentionMs;
      parts++;
    } else args.push(0);
    return parts > 0 ? args : undefined;
  }

  /** The epoch argument of a symbol's scripts: '' unfenced; null = fenced and not held here (send nothing). */
  private epochArg(symbol: string): string | null {
    if (!this.fencing) return '';
    const e = this.fencing.epochOf(symbol);
    return e === undefined ? null : String(e);
  }
}

/** A script argument: a packed list travels as bytes. */
type ScriptArg = string | number | Buffer;

/** Keys of one symbol's SYMBOL_WRITE_LUA call (its arguments start with them). */
const SYMBOL_KEYS = 7;

/** SYMBOL_WRITE_LUA's ob outcomes. */
const OB_OUTCOMES: Record<number, ObWriteOutcome> = { 0: 'reanchor', 1: 'written', 2: 'older', 3: 'no_book', 4: 'fenced' };

/** The write's last_update_id as the script compares it ('' = no book); anything else is bad input. */
function obWriteId(symbol: string, id: string | undefined): string {
  if (id === undefined) return '';
  if (!/^\d{1,16}$/.test(id) || !Number.isSafeInteger(Number(id))) {
    throw new RedisPayloadError(`${symbol}.ob.last_update_id: expected a non-negative integer, got ${JSON.stringify(id)}`);
  }
  return id;
}

/**
 * A hash part of SYMBOL_WRITE_LUA (2, ttl, [f1, v1, …] packed), replaced whole: readers see the old hash or the
 * new one, never an empty one and never a stale field left over from an earlier window. An empty hash is
 * sent as absent (it would delete the key; the previous one is kept instead). Returns 1 when sent.
 */
function hashPart(args: ScriptArg[], hash: Record<string, string> | undefined, ttl: number, what: string): number {
  const packed = hash ? packHash(hash, what) : undefined;
  if (!packed || packed.fields === 0) {
    args.push(0);
    return 0;
  }
  args.push(2, ttl, packed.packed);
  return 1;
}
