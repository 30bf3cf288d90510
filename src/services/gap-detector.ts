/**
 * The REST mode's gap detector: reads the hot path's state in Redis and applies the pure criteria of
 * src/core/gap-rules.ts (time, volume), counts every gap (metric + health) and says which symbols need a
 * re-anchor. Sequence gaps arrive as aggregator requests and are only counted here.
 */
import type { RestKline } from '../binance/rest-types.js';
import {
  checkTimeGap,
  compareMinute,
  EventClockGuard,
  isSequenceGapReason,
  parseEventUs,
  selectMinutes,
  TimeGapTracker,
  type GapCriterion,
  type KlineMinute,
  type BoundedEventTime,
  type MinuteVerdict,
  type TimeTransition,
} from '../core/gap-rules.js';
import type { Logger } from '../ops/logger.js';
import type { RedisClient } from '../redis/connect.js';
import { toRedisError } from '../redis/errors.js';
import { symbolKeys } from '../redis/keys.js';
import { readMinuteStats } from '../redis/streams.js';
import type { RestIngestMetrics } from './ingest-rest-metrics.js';

/** Pending closed klines kept per symbol at most (3 h: the hot path's minutes retention). */
const MAX_PENDING_MINUTES = 180;

export interface GapDetectorOptions {
  criteria: { sequence: boolean; time: boolean; volume: boolean };
  timeGapMs: number;
  /** Stored event times later than venue now + this are not trusted (default 5 000 ms). */
  maxEventSkewMs?: number;
  /** How long after a minute's end its hot-path stats are considered final. Default = timeGapMs. */
  volumeSettleMs?: number;
  cluster?: boolean;
  metrics: RestIngestMetrics;
  logger: Logger;
}

export interface VolumeCheckOutcome {
  checked: MinuteVerdict[];
  mismatches: MinuteVerdict[];
}

export interface TimeCheckOutcome {
  transition: TimeTransition;
  ageMs: number | undefined;
}

interface SymbolView {
  pending: Map<number, KlineMinute>;
  lastCheckedMinuteMs: number | undefined;
  lastVolumeMismatch: MinuteVerdict | undefined;
  lastAgeMs: number | undefined;
  lastSequenceId: number | undefined;
}

export class GapDetector {
  private readonly time = new TimeGapTracker();
  private readonly symbols = new Map<string, SymbolView>();
  private readonly counts: Record<GapCriterion, number> = { sequence: 0, time: 0, volume: 0 };
  private readonly bySymbol = new Map<string, Record<GapCriterion, number>>();
  private day = '';
  private today = 0;
  private lastCheck: number | undefined;
  private readonly settleMs: number;
  private readonly clocks: EventClockGuard;

  constructor(private readonly o: GapDetectorOptions) {
    this.settleMs = o.volumeSettleMs ?? o.timeGapMs;
    this.clocks = new EventClockGuard(o.maxEventSkewMs ?? 5000);
  }

  /** Count one gap (metric, health, log at warn with the details). */
  recordGap(symbol: string, criterion: GapCriterion, detail: Record<string, unknown>, log: Logger = this.o.logger): void {
    this.counts[criterion]++;
    const s = this.bySymbol.get(symbol) ?? { sequence: 0, time: 0, volume: 0 };
    s[criterion]++;
    this.bySymbol.set(symbol, s);
    const day = new Date().toISOString().slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.today = 0;
    }
    this.today++;
    this.o.metrics.gapsDetected.inc({ symbol, criterion });
    log.warn({ symbol, criterion, ...detail }, 'gap detected');
  }

  /** An aggregator request: a sequence gap unless it is a cold start. Returns whether it counted. */
  onSequenceRequest(symbol: string, reason: string, log?: Logger): boolean {
    if (!this.o.criteria.sequence || !isSequenceGapReason(reason)) return false;
    this.recordGap(symbol, 'sequence', { reason }, log);
    return true;
  }

  /** Closed klines the archiver fetched (a tee of its client): queued for the volume check. */
  addKlines(symbol: string, klines: readonly RestKline[], nowMs: number): void {
    const v = this.view(symbol);
    for (const k of klines) {
      const [openTime, , , , , volume, closeTime, , trades] = k;
      if (closeTime >= nowMs) continue; // still open
      if (v.lastCheckedMinuteMs !== undefined && openTime <= v.lastCheckedMinuteMs) continue;
      v.pending.set(openTime, { openTimeMs: openTime, trades, volume });
    }
    if (v.pending.size > MAX_PENDING_MINUTES) {
      const drop = [...v.pending.keys()].sort((a, b) => a - b).slice(0, v.pending.size - MAX_PENDING_MINUTES);
      for (const k of drop) v.pending.delete(k);
    }
  }

  setLastSequenceId(symbol: string, id: number | undefined): void {
    if (id !== undefined) this.view(symbol).lastSequenceId = id;
  }

  /**
   * The hot path's two clocks of a symbol, each bounded by the venue clock: ob ts_us (the aggregator's event
   * clock at its last ob write) and tr:1s last_ts_us (the newest trade its trade stream delivered).
   */
  async hotPathClocks(redis: RedisClient, symbol: string, venueNowMs: number, log: Logger = this.o.logger): Promise<{ ob: BoundedEventTime; tr: BoundedEventTime }> {
    const k = symbolKeys(symbol, { cluster: this.o.cluster });
    let ob: string | null;
    let tr: string | null;
    try {
      [ob, tr] = await Promise.all([redis.hget(k.ob, 'ts_us'), redis.hget(k.tr1s, 'last_ts_us')]);
    } catch (err) {
      throw toRedisError(err, 'read hot-path event time');
    }
    const out = {
      ob: this.clocks.observe(`${symbol}\u0000ob`, parseEventUs(ob), venueNowMs),
      tr: this.clocks.observe(`${symbol}\u0000tr`, parseEventUs(tr), venueNowMs),
    };
    for (const [clock, t, raw] of [['ob', out.ob, ob], ['tr', out.tr, tr]] as const) {
      if (!t.futureFirstSeen) continue;
      this.o.metrics.futureEventTimes.inc({ symbol, clock });
      log.warn(
        { symbol, clock, event_ts_us: raw, venue_now_ms: Math.round(venueNowMs), max_skew_ms: this.o.maxEventSkewMs ?? 5000 },
        'hot-path event time in the future: not trusted for the time and volume checks',
      );
    }
    return out;
  }

  async checkTime(redis: RedisClient, symbol: string, venueNowMs: number, log: Logger = this.o.logger): Promise<TimeCheckOutcome> {
    this.lastCheck = Date.now();
    const clocks = await this.hotPathClocks(redis, symbol, venueNowMs, log);
    const check = checkTimeGap({ obAgeMs: clocks.ob.ageMs, trAgeMs: clocks.tr.ageMs }, this.o.timeGapMs);
    const transition = this.time.observe(symbol, check);
    this.view(symbol).lastAgeMs = check.ageMs;
    if (transition === 'entered' && this.o.criteria.time) {
      this.recordGap(
        symbol,
        'time',
        {
          age_ms: Math.round(check.ageMs ?? 0),
          ob_age_ms: check.obAgeMs === undefined ? null : Math.round(check.obAgeMs),
          tr_age_ms: check.trAgeMs === undefined ? null : Math.round(check.trAgeMs),
          threshold_ms: this.o.timeGapMs,
        },
        log,
      );
    } else if (transition === 'recovered') {
      log.info({ symbol, age_ms: Math.round(check.ageMs ?? 0) }, 'hot path fresh again');
    }
    return { transition, ageMs: check.ageMs };
  }

  async checkVolume(redis: RedisClient, symbol: string, venueNowMs: number, log: Logger = this.o.logger): Promise<VolumeCheckOutcome> {
    this.lastCheck = Date.now();
    const v = this.view(symbol);
    if (v.pending.size === 0) return { checked: [], mismatches: [] };
    const k = symbolKeys(symbol, { cluster: this.o.cluster });
    let minuteKeys: string[];
    try {
      minuteKeys = await redis.hkeys(k.minutes);
    } catch (err) {
      throw toRedisError(err, 'read minute stats keys');
    }
    // A minute dated beyond the venue clock proves nothing about how far the trade stream got.
    const latestMs = venueNowMs + (this.o.maxEventSkewMs ?? 5000);
    let first: number | undefined;
    let newest: number | undefined;
    for (const key of minuteKeys) {
      const n = Number(key);
      if (!Number.isSafeInteger(n) || n > latestMs) continue;
      if (first === undefined || n < first) first = n;
      if (newest === undefined || n > newest) newest = n;
    }
    const sel = selectMinutes({
      pending: [...v.pending.values()],
      firstObservedMinuteMs: first,
      newestObservedMinuteMs: newest,
      tradesConsumedUs: (await this.hotPathClocks(redis, symbol, venueNowMs, log)).tr.usableUs,
      venueNowMs,
      settleMs: this.settleMs,
    });
    for (const u of sel.uncovered) v.pending.delete(u.openTimeMs);
    if (sel.checkable.length === 0) return { checked: [], mismatches: [] };
    const hot = await readMinuteStats(redis, symbol, sel.checkable.map((c) => c.openTimeMs), { cluster: this.o.cluster });
    const byMinute = new Map(hot.map((h) => [h.minuteStartMs, h]));
    const checked = sel.checkable.map((kline) => compareMinute(kline, byMinute.get(kline.openTimeMs)));
    const mismatches = checked.filter((c) => !c.match);
    for (const c of sel.checkable) v.pending.delete(c.openTimeMs);
    v.lastCheckedMinuteMs = Math.max(v.lastCheckedMinuteMs ?? 0, ...sel.checkable.map((c) => c.openTimeMs));
    if (this.o.criteria.volume) {
      for (const m of mismatches) {
        v.lastVolumeMismatch = m;
        this.recordGap(
          symbol,
          'volume',
          {
            minute: new Date(m.minuteStartMs).toISOString(),
            venue_count: m.venueCount,
            hot_count: m.hotCount,
            venue_volume: m.venueVolume,
            hot_volume: m.hotVolume,
            missing_count: m.missingCount,
            missing_volume: m.missingVolume,
          },
          log,
        );
      }
    }
    return { checked, mismatches: this.o.criteria.volume ? mismatches : [] };
  }

  /** The seed's gap_detector health component, with real values. */
  health(enabled: boolean): Record<string, unknown> {
    const day = new Date().toISOString().slice(0, 10);
    let lastSeq: number | undefined;
    for (const v of this.symbols.values()) {
      if (v.lastSequenceId !== undefined && (lastSeq === undefined || v.lastSequenceId > lastSeq)) lastSeq = v.lastSequenceId;
    }
    return {
      status: enabled ? 'monitoring' : 'disabled',
      last_check_time: this.lastCheck === undefined ? null : new Date(this.lastCheck).toISOString(),
      gaps_detected_today: day === this.day ? this.today : 0,
      last_sequence_id: lastSeq ?? null,
      gaps_by_criterion: { ...this.counts },
      criteria: { ...this.o.criteria },
      stalled_symbols: [...this.symbols.keys()].filter((s) => this.time.isStalled(s)),
    };
  }

  stats(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [symbol, v] of this.symbols) {
      out[symbol] = {
        gaps: this.bySymbol.get(symbol) ?? { sequence: 0, time: 0, volume: 0 },
        hot_path_age_ms: v.lastAgeMs === undefined ? null : Math.round(v.lastAgeMs),
        stalled: this.time.isStalled(symbol),
        minutes_pending_check: v.pending.size,
        last_checked_minute: v.lastCheckedMinuteMs === undefined ? null : new Date(v.lastCheckedMinuteMs).toISOString(),
        last_volume_mismatch: v.lastVolumeMismatch ?? null,
        last_sequence_id: v.lastSequenceId ?? null,
      };
    }
    return out;
  }

  private view(symbol: string): SymbolView {
    let v = this.symbols.get(symbol);
    if (!v) {
      v = { pending: new Map(), lastCheckedMinuteMs: undefined, lastVolumeMismatch: undefined, lastAgeMs: undefined, lastSequenceId: undefined };
      this.symbols.set(symbol, v);
    }
    return v;
  }
}
