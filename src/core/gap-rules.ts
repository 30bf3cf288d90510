/**
 * Pure gap criteria of the REST mode (SPEC.md "Ingestor, REST mode"): time and volume. The sequence
 * criterion is the aggregator's (it sees every trade id and depth update id and asks for re-anchors); this
 * module only decides whether such a request is already covered by a later re-anchor. No I/O, no clock.
 *
 * Volume rule — which closed 1-minute klines are compared with the hot path's per-minute stats:
 *  - the hot path's minutes hash (`tr:{SYM}:minutes`) only holds minutes in which the aggregator saw a trade;
 *    its EARLIEST minute is where the aggregator started (mid-minute, reading Kinesis from LATEST), so that
 *    minute and every earlier one are skipped (never compared): they were not fully observed;
 *  - a later minute is compared once the hot path's TRADE stream (tr last_ts_us: the newest trade the aggregator
 *    consumed) and the venue clock have both passed the minute's end by `settleMs`. Not ob's clock: depth and
 *    bestBidAsk move it while a lagging trade stream has not yet delivered the minute's trades. And only once
 *    the minutes hash holds a LATER minute: those stats are written by the aggregator's trade stream alone,
 *    whereas tr last_ts_us may come from the REST trades of a re-anchor swap, ahead of the trade stream;
 *  - a minute absent from the hash counts 0 trades / volume 0 (all its trades were lost);
 *  - count must equal the kline's `n` and volume its `v` EXACTLY (decimal comparison, no tolerance).
 */
import { compareDecimals } from './decimal.js';
import { subDecimals } from './decimal-ops.js';

export const MINUTE_MS = 60_000;

export type GapCriterion = 'sequence' | 'time' | 'volume';

/** A stored hot-path event time in µs (`ob:{SYM}.ts_us`, `tr:{SYM}:1s.last_ts_us`); undefined when absent or junk. */
export function parseEventUs(v: string | null | undefined): number | undefined {
  if (v === null || v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** An event time read against the venue clock. */
export interface BoundedEventTime {
  /** How old the hot path's clock is, ms, never negative; undefined without data. */
  ageMs: number | undefined;
  /** The time lies beyond venue now + the allowed skew: it says nothing about how far the hot path got. */
  future: boolean;
  /** True on the first reading of a given future value (log / count it once, not on every check). */
  futureFirstSeen: boolean;
  /** The time as a "consumed up to" mark, µs; undefined without data or when it is in the future. */
  usableUs: number | undefined;
}

/**
 * Bounds stored event times by the venue clock. A time within the skew ahead counts as age 0. A time beyond
 * it is not trusted: its age is how long that same value has stood still as seen by this guard, so a clock
 * stuck in 2100 still turns into a time gap once nothing has changed for the threshold, instead of a negative
 * age that hides the stall forever.
 */
export class EventClockGuard {
  private readonly futures = new Map<string, { us: number; sinceMs: number }>();

  constructor(private readonly maxSkewMs: number) {}

  observe(key: string, eventUs: number | undefined, venueNowMs: number): BoundedEventTime {
    if (eventUs === undefined) {
      this.futures.delete(key);
      return { ageMs: undefined, future: false, futureFirstSeen: false, usableUs: undefined };
    }
    const eventMs = eventUs / 1000;
    if (eventMs <= venueNowMs + this.maxSkewMs) {
      this.futures.delete(key);
      return { ageMs: Math.max(0, venueNowMs - eventMs), future: false, futureFirstSeen: false, usableUs: eventUs };
    }
    const prev = this.futures.get(key);
    if (!prev || prev.us !== eventUs) {
      this.futures.set(key, { us: eventUs, sinceMs: venueNowMs });
      return { ageMs: 0, future: true, futureFirstSeen: true, usableUs: undefined };
    }
    return { ageMs: Math.max(0, venueNowMs - prev.sinceMs), future: true, futureFirstSeen: false, usableUs: undefined };
  }
}

export interface TimeCheck {
  /** True when the deciding clock is older than the threshold. */
  gap: boolean;
  /** Age of the deciding clock, ms (ob's when it has one, else the trade stream's); undefined without data. */
  ageMs: number | undefined;
  obAgeMs?: number;
  trAgeMs?: number;
}

/**
 * The time criterion. ob's clock decides on its own: the aggregator stamps every ob write with its event clock
 * (all streams), so a frozen ob is stale even while trades flow — taking the newer of ob and tr would hide
 * it. The trade stream's clock decides only when there is no ob clock (a quiet trade stream alone is no gap).
 */
export function checkTimeGap(ages: { obAgeMs: number | undefined; trAgeMs: number | undefined }, thresholdMs: number): TimeCheck {
  const ageMs = ages.obAgeMs ?? ages.trAgeMs;
  return { gap: ageMs !== undefined && ageMs > thresholdMs, ageMs, obAgeMs: ages.obAgeMs, trAgeMs: ages.trAgeMs };
}

/**
 * A stall is one gap, however many checks see it: the tracker reports 'entered' on the first stale check,
 * 'ongoing' while it lasts, 'recovered' on the first fresh one.
 */
export type TimeTransition = 'entered' | 'ongoing' | 'recovered' | 'fresh' | 'no_data';

export class TimeGapTracker {
  private readonly stalled = new Map<string, boolean>();

  observe(symbol: string, check: TimeCheck): TimeTransition {
    const was = this.stalled.get(symbol) ?? false;
    if (check.ageMs === undefined) return 'no_data';
    this.stalled.set(symbol, check.gap);
    if (check.gap) return was ? 'ongoing' : 'entered';
    return was ? 'recovered' : 'fresh';
  }

  isStalled(symbol: string): boolean {
    return this.stalled.get(symbol) ?? false;
  }
}

/** A closed 1-minute kline reduced to what the volume check needs. */
export interface KlineMinute {
  openTimeMs: number;
  /** Kline `n`: number of trades. */
  trades: number;
  /** Kline `v`: base-asset volume, exact decimal string. */
  volume: string;
}

export interface HotMinute {
  minuteStartMs: number;
  count: number;
  volume: string;
}

export interface MinuteSelectionInput {
  /** Closed klines not yet checked, any order. */
  pending: readonly KlineMinute[];
  /** Earliest minute in the hot path's minutes hash; undefined when the hash is empty. */
  firstObservedMinuteMs: number | undefined;
  /** Newest minute in the hash not dated in the future; undefined when there is none. */
  newestObservedMinuteMs: number | undefined;
  /** How far the hot path's trade stream has been consumed, µs (tr last_ts_us, not in the future). */
  tradesConsumedUs: number | undefined;
  venueNowMs: number;
  settleMs: number;
}

export interface MinuteSelection {
  /** Compare these now. */
  checkable: KlineMinute[];
  /** Never comparable (not fully observed by the hot path): drop them. */
  uncovered: KlineMinute[];
  /** Not settled yet: keep them for a later check. */
  waiting: KlineMinute[];
}

export function selectMinutes(input: MinuteSelectionInput): MinuteSelection {
  const out: MinuteSelection = { checkable: [], uncovered: [], waiting: [] };
  const sorted = [...input.pending].sort((a, b) => a.openTimeMs - b.openTimeMs);
  for (const k of sorted) {
    const endMs = k.openTimeMs + MINUTE_MS;
    if (input.firstObservedMinuteMs === undefined || input.tradesConsumedUs === undefined) {
      out.waiting.push(k);
    } else if (k.openTimeMs <= input.firstObservedMinuteMs) {
      out.uncovered.push(k);
    } else if (
      input.tradesConsumedUs < (endMs + input.settleMs) * 1000 ||
      input.venueNowMs < endMs + input.settleMs ||
      input.newestObservedMinuteMs === undefined ||
      input.newestObservedMinuteMs <= k.openTimeMs
    ) {
      out.waiting.push(k);
    } else {
      out.checkable.push(k);
    }
  }
  return out;
}

export interface MinuteVerdict {
  minuteStartMs: number;
  match: boolean;
  venueCount: number;
  hotCount: number;
  venueVolume: string;
  hotVolume: string;
  /** venue − hot: positive = trades the hot path missed; negative = it counted more than the venue (duplicates). */
  missingCount: number;
  missingVolume: string;
}

/** Exact comparison of one closed kline with the hot path's stats of that minute (absent = nothing seen). */
export function compareMinute(kline: KlineMinute, hot: HotMinute | undefined): MinuteVerdict {
  const hotCount = hot?.count ?? 0;
  const hotVolume = hot?.volume ?? '0';
  const sameVolume = compareDecimals(kline.volume, hotVolume) === 0;
  return {
    minuteStartMs: kline.openTimeMs,
    match: hotCount === kline.trades && sameVolume,
    venueCount: kline.trades,
    hotCount,
    venueVolume: kline.volume,
    hotVolume,
    missingCount: kline.trades - hotCount,
    missingVolume: subDecimals(kline.volume, hotVolume),
  };
}

/**
 * A re-anchor request is covered when a re-anchor whose REST fetch started at or after the request
 * succeeded: that snapshot already reflects whatever broke before the request was made.
 */
export function isRequestCovered(requestTsMs: number, lastSuccessFetchStartMs: number | undefined): boolean {
  return lastSuccessFetchStartMs !== undefined && requestTsMs <= lastSuccessFetchStartMs;
}

/**
 * A volume gap in a minute that ended before the last successful re-anchor's fetch began is already
 * repaired in the hot state (the windows only span seconds); it is counted, but needs no new re-anchor.
 */
export function volumeGapNeedsReanchor(minuteStartMs: number, lastSuccessFetchStartMs: number | undefined): boolean {
  return lastSuccessFetchStartMs === undefined || minuteStartMs + MINUTE_MS > lastSuccessFetchStartMs;
}

/**
 * Whether an aggregator re-anchor request reports a break in the hot path's sequence (counted as a
 * sequence gap) rather than a cold start ('no-book') or an explicit operator request.
 */
export function isSequenceGapReason(reason: string): boolean {
  return reason !== 'no-book' && reason !== 'requested' && reason !== 'startup';
}
