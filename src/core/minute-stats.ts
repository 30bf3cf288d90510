/**
 * Per-minute trade count and EXACT volume by event time, for the REST volume check against closed 1m
 * klines (kline `n` and `v`). A minute is closed once the symbol's event time reaches its end; late trades
 * still land in their (possibly closed) minute, since the check compares what the hot path saw.
 */
import { ExactSum } from './decimal-ops.js';

export interface MinuteStat {
  /** Minute start, ms since the epoch (kline open time). */
  minuteStartMs: number;
  count: number;
  /** Exact Σ qty. */
  volume: string;
}

export class MinuteStats {
  private readonly buckets = new Map<number, { count: number; volume: ExactSum }>();
  private newestMinuteMs = -Infinity;

  constructor(readonly keepMinutes = 120) {}

  add(eventTsUs: number, qtyM: bigint, qtyE: number): void {
    const minute = Math.floor(eventTsUs / 60_000_000) * 60_000;
    if (minute <= this.newestMinuteMs - this.keepMinutes * 60_000) return; // older than the history kept
    let b = this.buckets.get(minute);
    if (!b) {
      b = { count: 0, volume: new ExactSum() };
      this.buckets.set(minute, b);
    }
    b.count++;
    b.volume.add(qtyM, qtyE);
    if (minute > this.newestMinuteMs) {
      this.newestMinuteMs = minute;
      const oldest = minute - this.keepMinutes * 60_000;
      for (const k of this.buckets.keys()) if (k <= oldest) this.buckets.delete(k);
    }
  }

  /** Closed minutes (end <= nowUs), oldest first. */
  closed(nowUs: number): MinuteStat[] {
    const out: MinuteStat[] = [];
    for (const [minuteStartMs, b] of this.buckets) {
      if ((minuteStartMs + 60_000) * 1000 <= nowUs) {
        out.push({ minuteStartMs, count: b.count, volume: b.volume.toString() });
      }
    }
    return out.sort((a, b) => a.minuteStartMs - b.minuteStartMs);
  }

  /** One minute (closed or not), or undefined when no trade of it was seen or it left the history. */
  get(minuteStartMs: number): MinuteStat | undefined {
    const b = this.buckets.get(minuteStartMs);
    return b ? { minuteStartMs, count: b.count, volume: b.volume.toString() } : undefined;
  }
}
