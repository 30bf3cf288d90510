/**
 * Rebuilds served feature vectors from the archived stream (pure: events and log entries in, rows out).
 *
 * Each aggregator run starts a fresh SymbolState at the run's first event, so does the rebuild. Events are
 * given to the state in the order the aggregator applied them (the caller sorts them so), and at each logged
 * cut — the last depth / trade / bestBidAsk event the aggregator had given the state — the rebuild stands
 * exactly where the aggregator stood: a logged re-anchor loads the same snapshot there, a logged feature tick
 * computes the vector with the same wall clock through the same SymbolState.featHash(). A row therefore
 * uses only events up to its cut (point-in-time by construction); only the label looks further.
 *
 * Labels (event time, as the ret_* features): the mid the state had at event time event_ts_us + horizon
 * (the last mid recorded at or before it, recorded as the aggregator's mid history records it: at the
 * state's `now` after each event), null where the run's data does not reach that far.
 */
import type { MarketEvent } from '../core/events.js';
import type { SnapshotInput } from '../core/book-sync.js';
import { FEATURE_NAMES, type FeatureName } from '../core/features.js';
import { SymbolState } from '../core/symbol-state.js';
import { eventId, newCut, noteEvent, type EventCut, type ServedEntry } from './served-log.js';
import type { DatasetRow } from './schema.js';

export class RebuildError extends Error {
  override readonly name = 'RebuildError';
}

export interface RebuildInput {
  symbol: string;
  /** The symbol's archived events in the order the aggregator applied them. */
  events: readonly MarketEvent[];
  /** The symbol's served-log entries in log order (several runs may follow each other). */
  entries: readonly ServedEntry[];
  /** The re-anchor snapshot with this last_update_id (from the lake), or undefined when it is missing. */
  snapshot(lastUpdateId: number): SnapshotInput | undefined;
  /** Rows are produced for feature entries with fromMs ≤ wall_ms < toMs. */
  fromMs: number;
  toMs: number;
  horizonSeconds: number;
  /** processing.max_buffered_diffs of the aggregator (default 10,000). */
  maxBufferedDiffs?: number;
  onProgress?(done: number, total: number): void;
}

export interface ParityStats {
  /** Rebuilt rows compared with the vector the log says was served. */
  compared: number;
  /** Rows with at least one feature off by more than the tolerance. */
  mismatched: number;
  maxRelErr: number;
  /** First few differences, "feature_ts=… field: served vs rebuilt". */
  examples: string[];
}

export interface RebuildResult {
  rows: DatasetRow[];
  runs: number;
  eventsApplied: number;
  parity: ParityStats;
  /** Runs replayed from a re-anchor instead of their first event (the lake lacks their beginning). */
  warmStarts: number;
  /** In-range ticks left out because they came too soon after a warm start to be exact. */
  warmupSkipped: number;
}

const PARITY_TOLERANCE = 1e-9;

/** |a − b| / max(|a|, |b|), 0 when both are 0. */
export function relErr(a: number, b: number): number {
  if (a === b) return 0;
  const d = Math.abs(a - b);
  const m = Math.max(Math.abs(a), Math.abs(b));
  return m === 0 ? d : d / m;
}

function cutReached(replay: EventCut, target: EventCut): boolean {
  return replay.depthU === target.depthU && replay.tradeId === target.tradeId && replay.bbaSeq === target.bbaSeq;
}

function overshot(replay: EventCut, target: EventCut): string | undefined {
  if (replay.depthU > target.depthU) return `depth u ${replay.depthU} > ${target.depthU}`;
  if (replay.tradeId > target.tradeId) return `trade id ${replay.tradeId} > ${target.tradeId}`;
  if (replay.bbaSeq > target.bbaSeq) return `bestBidAsk id ${replay.bbaSeq} > ${target.bbaSeq}`;
  return undefined;
}

/** As-of mid series recorded at the state's `now`, as MidHistory does (kept whole, never pruned). */
class MidSeries {
  readonly ts: number[] = [];
  readonly mids: number[] = [];

  record(tsUs: number, mid: number | undefined): void {
    if (tsUs === 0 || mid === undefined) return;
    const n = this.ts.length;
    if (n > 0) {
      if (this.mids[n - 1] === mid) return;
      if (tsUs <= this.ts[n - 1]) {
        this.mids[n - 1] = mid;
        return;
      }
    }
    this.ts.push(tsUs);
    this.mids.push(mid);
  }

  /** Index of the last point at or before tsUs (−1 none). */
  at(tsUs: number): number {
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (this.ts[m] <= tsUs) lo = m + 1;
      else hi = m;
    }
    return lo - 1;
  }
}

/** Split entries into runs (a run id change starts a new one), in log order. */
function runsOf(entries: readonly ServedEntry[]): ServedEntry[][] {
  const runs: ServedEntry[][] = [];
  let cur: ServedEntry[] | undefined;
  for (const e of entries) {
    if (!cur || cur[0].run !== e.run) runs.push((cur = []));
    cur.push(e);
  }
  return runs;
}

function findStart(events: readonly MarketEvent[], cut: EventCut): number {
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (ev.type === cut.firstType && eventId(ev) === cut.firstId && ev.event_ts === cut.firstTs) return i;
  }
  return -1;
}

/** How far back ret_10s looks (the aggregator's mid history horizon). */
const MID_HORIZON_US = 10_000_000;
/** Events replayed before a warm start's snapshot: more than the 5 s trade window. */
const WARM_PREROLL_US = 15_000_000;

interface StartPlan {
  /** Index of the first entry of the run to follow. */
  entry: number;
  /** Index of the first event to give the state. */
  index: number;
  warm: boolean;
  /** Event time from which rows are exact (warm starts). */
  exactFromUs: number;
}

/**
 * Where to start replaying a run: at its first event when the lake has it and every snapshot the run loaded;
 * otherwise warm, at the latest re-anchor from which every later snapshot is in the lake (preferably at or
 * before the range's start), with a pre-roll of events before it. After a re-anchor the book is the snapshot
 * plus the diffs after it, the trade windows need 5 s of trades, the returns 10 s of mids: rows from 10 s past
 * the anchor are exact; earlier ones are left out.
 */
function planStart(inp: RebuildInput, run: readonly ServedEntry[]): StartPlan {
  const anchorOk = run.map((e) => e.kind !== 'anchor' || inp.snapshot(e.cut.anchorId) !== undefined);
  const okFrom = (k: number): boolean => anchorOk.slice(k).every(Boolean);
  const first = run[0].cut;
  const start = findStart(inp.events, first);
  if (start >= 0 && okFrom(0)) return { entry: 0, index: start, warm: false, exactFromUs: 0 };
  let best = -1;
  for (let k = 0; k < run.length; k++) {
    if (run[k].kind !== 'anchor' || !okFrom(k)) continue;
    if (best < 0 || run[k].wall_ms <= inp.fromMs) best = k;
  }
  if (best < 0) {
    if (start < 0) {
      throw new RebuildError(
        `${inp.symbol}: the lake has no ${first.firstType || 'first'} event ${first.firstId} (event time ${new Date(first.firstTs / 1000).toISOString()}) where aggregator run ${run[0].run} started, and no re-anchor of the run to start from`,
      );
    }
    const missing = run.find((e, k) => !anchorOk[k]) as ServedEntry;
    throw new RebuildError(`${inp.symbol}: re-anchor snapshot ${missing.cut.anchorId} (applied ${new Date(missing.wall_ms).toISOString()}) is not in the lake`);
  }
  const a = run[best];
  const fromUs = a.event_ts_us - WARM_PREROLL_US;
  let index = inp.events.findIndex((ev) => ev.event_ts >= fromUs);
  if (index < 0) index = inp.events.length;
  return { entry: best, index, warm: true, exactFromUs: a.event_ts_us };
}

export function rebuildServedFeatures(inp: RebuildInput): RebuildResult {
  const h = inp.horizonSeconds * 1e6;
  const rows: DatasetRow[] = [];
  const parity: ParityStats = { compared: 0, mismatched: 0, maxRelErr: 0, examples: [] };
  let eventsApplied = 0;
  let runsUsed = 0;
  let warmStarts = 0;
  let warmupSkipped = 0;
  const allRuns = runsOf(inp.entries);
  const wanted = allRuns.filter((r) => r.some((e) => e.kind === 'feat' && e.wall_ms >= inp.fromMs && e.wall_ms < inp.toMs));
  const total = wanted.reduce((a, r) => a + r.length, 0);
  let done = 0;
  for (const whole of wanted) {
    runsUsed++;
    const plan = planStart(inp, whole);
    const run = whole.slice(plan.entry);
    if (plan.warm) warmStarts++;
    const st = new SymbolState(inp.symbol, { maxBufferedDiffs: inp.maxBufferedDiffs });
    const mids = new MidSeries();
    const cut = newCut();
    // A warm start counts the events before it as given (the aggregator had them): cuts compare the same.
    for (let k = 0; k < plan.index; k++) noteEvent(cut, inp.events[k]);
    cut.n = 0;
    let i = plan.index;
    const pendingLabels: DatasetRow[] = [];
    const apply = (ev: MarketEvent): void => {
      noteEvent(cut, ev);
      st.apply(ev);
      mids.record(st.now, st.midPrice());
      eventsApplied++;
    };
    for (const e of run) {
      while (!cutReached(cut, e.cut)) {
        if (i >= inp.events.length) {
          throw new RebuildError(
            `${inp.symbol}: the lake ends before the cut of the tick at ${new Date(e.wall_ms).toISOString()} (depth u ${e.cut.depthU}, trade ${e.cut.tradeId}, bestBidAsk ${e.cut.bbaSeq}; replay reached ${cut.depthU}, ${cut.tradeId}, ${cut.bbaSeq})`,
          );
        }
        apply(inp.events[i++]);
        const over = overshot(cut, e.cut);
        if (over) {
          throw new RebuildError(
            `${inp.symbol}: events missing from the lake before the tick at ${new Date(e.wall_ms).toISOString()}: the replay passed its cut (${over}) without meeting it`,
          );
        }
      }
      if (e.kind === 'feat' && (st.status !== e.book_status || (st.lastUpdateId ?? -1) !== e.book_id)) {
        throw new RebuildError(
          `${inp.symbol}: at the tick of ${new Date(e.wall_ms).toISOString()} the served book was ${e.book_status} at update id ${e.book_id}, the replayed one is ${st.status} at ${String(st.lastUpdateId)}: the lake misses events of that stretch`,
        );
      }
      if (e.kind === 'anchor') {
        const snap = inp.snapshot(e.cut.anchorId);
        if (!snap) throw new RebuildError(`${inp.symbol}: re-anchor snapshot ${e.cut.anchorId} (applied ${new Date(e.wall_ms).toISOString()}) is not in the lake`);
        st.apply({ type: 'depthSnapshot', symbol: inp.symbol, event_ts: st.now, source: 'rest', last_update_id: snap.lastUpdateId, bids: [...snap.bids], asks: [...snap.asks] });
        mids.record(st.now, st.midPrice());
      } else if (plan.warm && e.event_ts_us - MID_HORIZON_US < plan.exactFromUs) {
        // Before the warm start's mid history is whole: ret_* could differ from what was served.
        if (e.wall_ms >= inp.fromMs && e.wall_ms < inp.toMs) warmupSkipped++;
      } else if (e.wall_ms >= inp.fromMs && e.wall_ms < inp.toMs) {
        const { hash } = st.featHash(e.wall_ms);
        const row = toRow(inp.symbol, e.run, e.wall_ms, hash);
        compare(parity, e, hash);
        rows.push(row);
        pendingLabels.push(row);
      }
      done++;
      if (done % 500 === 0) inp.onProgress?.(done, total);
    }
    // Labels: replay on past the last cut until the horizon of the last row is covered (or the run's data ends).
    const last = pendingLabels.at(-1);
    const nextRun = allRuns[allRuns.indexOf(whole) + 1];
    const stopAt = nextRun ? findStart(inp.events, nextRun[0].cut) : inp.events.length;
    if (last) {
      const target = last.event_ts_us + h;
      while (i < inp.events.length && (stopAt < 0 || i < stopAt) && st.now <= target) apply(inp.events[i++]);
    }
    for (const row of pendingLabels) {
      const target = row.event_ts_us + h;
      // Known only once the data is past the target instant: a later event at the same instant could still
      // replace the mid recorded there.
      if (st.now <= target) continue;
      const k = mids.at(target);
      if (k < 0) continue;
      row.label_mid = mids.mids[k];
      row.label_ts_us = mids.ts[k];
      row.label_ret = row.features.mid_price > 0 ? Math.log(row.label_mid / row.features.mid_price) : null;
    }
  }
  inp.onProgress?.(total, total);
  return { rows, runs: runsUsed, eventsApplied, parity, warmStarts, warmupSkipped };
}

function toRow(symbol: string, run: string, wallMs: number, hash: Record<string, string>): DatasetRow {
  const features = {} as Record<FeatureName, number>;
  for (const name of FEATURE_NAMES) features[name] = Number(hash[name]);
  return {
    symbol,
    run_id: run,
    feature_ts: Number(hash.feature_ts),
    feature_wall_ms: wallMs,
    event_ts_us: Number(hash.event_ts_us),
    data_age_ms: Number(hash.data_age_ms),
    completeness: Number(hash.completeness),
    features,
    label_mid: null,
    label_ret: null,
    label_ts_us: null,
  };
}

/** Every field of the served vector against the rebuilt one (the log carries what was served). */
function compare(p: ParityStats, e: ServedEntry, rebuilt: Record<string, string>): void {
  if (Object.keys(e.feat).length === 0) return;
  p.compared++;
  let bad = false;
  for (const [k, served] of Object.entries(e.feat)) {
    const a = Number(served);
    const b = Number(rebuilt[k]);
    const err = relErr(a, b);
    if (!(err <= PARITY_TOLERANCE)) {
      bad = true;
      if (p.examples.length < 5) p.examples.push(`feature_ts=${e.feat.feature_ts} ${k}: served ${served} vs rebuilt ${rebuilt[k]}`);
    }
    if (err > p.maxRelErr || Number.isNaN(err)) p.maxRelErr = Number.isNaN(err) ? Infinity : err;
  }
  if (bad) p.mismatched++;
}
