/**
 * Per-minute trade count and EXACT volume by trade time, for the REST volume check against closed 1m
 * klines (kline `n` and `v`). A minute is closed once the symbol's event time reaches its end; late trades
 * still land in their (possibly closed) minute, since the check compares what the hot path saw.
 *
 * PersistedMinutes is the aggregator's view of `tr:{SYM}:minutes`: what earlier runs left plus what this run
 * counts, each trade once even when a restart re-reads records whose trades were already written (the
 * Kinesis checkpoint trails the Redis write). Every stored minute carries the highest trade id counted into
 * it; the highest over all minutes is the watermark, and a new run counts only trades above it. Trade ids
 * are contiguous and delivered in order per symbol, so "id <= watermark" means "already counted".
 */
import type { TradeEvent } from './events.js';
import { addDecimals } from './decimal.js';
import { ExactSum } from './decimal-ops.js';
import type { Mantissa } from './fixed.js';

export interface MinuteStat {
  /** Minute start, ms since the epoch (kline open time). */
  minuteStartMs: number;
  count: number;
  /** Exact Σ qty. */
  volume: string;
  /** Highest trade id counted into this minute (absent when unknown: written before ids were kept). */
  lastTradeId?: number;
}

export const MINUTE_US = 60_000_000;

export function minuteOf(tsUs: number): number {
  return Math.floor(tsUs / MINUTE_US) * 60_000;
}

/** Klines bucket trades by trade (matching-engine) time; event time only when the source has none. */
export function tradeTimeUs(ev: Pick<TradeEvent, 'event_ts' | 'transact_ts'>): number {
  return Number.isSafeInteger(ev.transact_ts) ? (ev.transact_ts as number) : ev.event_ts;
}

interface Bucket {
  count: number;
  volume: ExactSum;
  lastTradeId: number;
}

export class MinuteStats {
  private readonly buckets = new Map<number, Bucket>();
  private newestMinuteMs = -Infinity;

  constructor(readonly keepMinutes = 120) {}

  /** Returns false when the minute is older than the history kept (the trade is not counted). */
  add(tradeTsUs: number, qtyM: Mantissa, qtyE: number, tradeId?: number): boolean {
    const minute = minuteOf(tradeTsUs);
    if (minute <= this.newestMinuteMs - this.keepMinutes * 60_000) return false;
    let b = this.buckets.get(minute);
    if (!b) {
      b = { count: 0, volume: new ExactSum(), lastTradeId: -Infinity };
      this.buckets.set(minute, b);
    }
    b.count++;
    b.volume.add(qtyM, qtyE);
    if (tradeId !== undefined && tradeId > b.lastTradeId) b.lastTradeId = tradeId;
    if (minute > this.newestMinuteMs) {
      this.newestMinuteMs = minute;
      const oldest = minute - this.keepMinutes * 60_000;
      for (const k of this.buckets.keys()) if (k <= oldest) this.buckets.delete(k);
    }
    return true;
  }

  /** Closed minutes (end <= nowUs), oldest first. */
  closed(nowUs: number): MinuteStat[] {
    const out: MinuteStat[] = [];
    for (const [m, b] of this.buckets) {
      if ((m + 60_000) * 1000 <= nowUs) out.push(stat(m, b));
    }
    return out.sort((a, b) => a.minuteStartMs - b.minuteStartMs);
  }

  /** One minute (closed or not), or undefined when no trade of it was seen or it left the history. */
  get(minuteStartMs: number): MinuteStat | undefined {
    const b = this.buckets.get(minuteStartMs);
    return b ? stat(minuteStartMs, b) : undefined;
  }
}

function stat(minuteStartMs: number, b: Bucket): MinuteStat {
  const s: MinuteStat = { minuteStartMs, count: b.count, volume: b.volume.toString() };
  if (b.lastTradeId !== -Infinity) s.lastTradeId = b.lastTradeId;
  return s;
}

export class PersistedMinutes {
  private readonly base = new Map<number, MinuteStat>();
  private readonly own: MinuteStats;
  private readonly dirty = new Set<number>();
  private readonly mark: number;

  /** `stored`: the minutes a previous run left in Redis (their lastTradeId give the watermark). */
  constructor(stored: Iterable<MinuteStat> = [], keepMinutes = 180) {
    this.own = new MinuteStats(keepMinutes);
    let mark = -Infinity;
    for (const m of stored) {
      this.base.set(m.minuteStartMs, m);
      if (m.lastTradeId !== undefined && m.lastTradeId > mark) mark = m.lastTradeId;
    }
    this.mark = mark;
  }

  /** Highest trade id already in the stored minutes; undefined when they carry none (count everything). */
  get watermark(): number | undefined {
    return this.mark === -Infinity ? undefined : this.mark;
  }

  /**
   * Count a trade the core applied (so new to this run). Returns false when an earlier run already
   * counted it (id at or below the watermark) or its minute is older than the history kept.
   */
  add(tradeId: number, tradeTsUs: number, qtyM: Mantissa, qtyE: number): boolean {
    if (tradeId <= this.mark) return false;
    if (!this.own.add(tradeTsUs, qtyM, qtyE, tradeId)) return false;
    this.dirty.add(minuteOf(tradeTsUs));
    return true;
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** The changed minutes' full values (stored + this run), to write; they count as clean from now on. */
  takeDirty(): MinuteStat[] {
    const out: MinuteStat[] = [];
    for (const m of this.dirty) {
      const v = this.value(m);
      if (v) out.push(v);
    }
    this.dirty.clear();
    return out.sort((a, b) => a.minuteStartMs - b.minuteStartMs);
  }

  /** A write of these minutes failed: write them again next time. */
  restoreDirty(minutes: Iterable<number>): void {
    for (const m of minutes) this.dirty.add(m);
  }

  /** A minute's value as it must be stored: the previous runs' counts plus this run's. */
  value(minuteStartMs: number): MinuteStat | undefined {
    const own = this.own.get(minuteStartMs);
    if (!own) return undefined;
    const base = this.base.get(minuteStartMs);
    if (!base) return own;
    const v: MinuteStat = { minuteStartMs, count: base.count + own.count, volume: addDecimals([base.volume, own.volume]) };
    const id = Math.max(base.lastTradeId ?? -Infinity, own.lastTradeId ?? -Infinity);
    if (id !== -Infinity) v.lastTradeId = id;
    return v;
  }
}
