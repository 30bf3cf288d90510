/**
 * `btcpipe chaos` bookkeeping, pure: classify each `ob:` sample against the venue's true book, summarize a
 * run (samples, outages, re-anchors, Kinesis and lake completeness against the venue's trades), judge the
 * invariants and render the table. Everything here is data in, data out, so it is unit-tested without I/O.
 */
import { normalizeDecimal } from '../core/decimal.js';

export type SampleState = 'live' | 'resyncing' | 'stale' | 'absent' | 'unreachable' | 'other';

/** The venue's book after one update id (GET /sim/truth/book). */
export interface TruthBookView {
  lastUpdateId: number;
  bids: Array<[string, string]>;
  asks: Array<[string, string]>;
}

export interface Sample {
  atMs: number;
  symbol: string;
  state: SampleState;
  lastUpdateId?: number;
  /** Event time of the state (ob `ts_us`), ms. */
  tsMs?: number;
  /** live only: whether the levels equal the venue's after lastUpdateId; undefined = not checkable. */
  matches?: boolean;
  mismatch?: string;
}

/** Differences between an `ob:` hash and the true book, top `depth` levels (exact decimals, pure). */
export function obMismatches(ob: Record<string, string>, truth: TruthBookView, depth: number): string[] {
  const out: string[] = [];
  for (const [side, levels] of [['bid', truth.bids], ['ask', truth.asks]] as const) {
    for (let i = 0; i < depth; i++) {
      const want = levels[i];
      const p = ob[`${side}${i + 1}_p`];
      const q = ob[`${side}${i + 1}_q`];
      if (!want) {
        if (p !== undefined && p !== '') out.push(`${side}${i + 1}: ${p} but the venue has no level`);
        continue;
      }
      let same = false;
      try {
        same = p !== undefined && q !== undefined && normalizeDecimal(p) === normalizeDecimal(want[0]) && normalizeDecimal(q) === normalizeDecimal(want[1]);
      } catch {
        same = false;
      }
      if (!same) out.push(`${side}${i + 1}: ${p}@${q} != ${want[0]}@${want[1]}`);
    }
  }
  return out;
}

/** The state an `ob:` hash advertises (pure). */
export function sampleState(ob: Record<string, string> | undefined): SampleState {
  if (ob === undefined) return 'unreachable';
  if (Object.keys(ob).length === 0) return 'absent';
  if (ob.status === 'live') return 'live';
  if (ob.status === 'resyncing') return 'resyncing';
  if (ob.status === 'stale') return 'stale';
  return 'other';
}

/** One sample from an HGETALL (undefined = Redis did not answer) and the truth for its last_update_id. */
export function classifySample(
  atMs: number,
  symbol: string,
  ob: Record<string, string> | undefined,
  truth: TruthBookView | null | undefined,
  depth: number,
): Sample {
  const state = sampleState(ob);
  const s: Sample = { atMs, symbol, state };
  if (!ob || state === 'absent' || state === 'unreachable') return s;
  const id = Number(ob.last_update_id);
  if (Number.isSafeInteger(id)) s.lastUpdateId = id;
  const ts = Number(ob.ts_us);
  if (Number.isFinite(ts) && ts > 0) s.tsMs = ts / 1000;
  if (state === 'live' && truth) {
    const diff = obMismatches(ob, truth, depth);
    s.matches = diff.length === 0;
    if (diff.length) s.mismatch = diff.slice(0, 3).join('; ');
  }
  return s;
}

export interface Span {
  fromMs: number;
  toMs: number;
}

function overlaps(a: Span, spans: readonly Span[]): boolean {
  return spans.some((s) => a.fromMs < s.toMs && s.fromMs < a.toMs);
}

export interface SampleSummary {
  total: number;
  live: number;
  resyncing: number;
  /** status=stale: the aggregator says its book got no event for a while. */
  stale: number;
  /** No `ob:` key, no answer from Redis, or another status. */
  notLiveOther: number;
  liveWrong: number;
  liveStale: number;
  /** live but the truth for its update id was no longer retained by the venue. */
  liveUnverified: number;
  longestNotLiveMs: number;
  /** Age of the state (sample time − ts) of live samples: how old a book a reader gets. */
  liveAgeP50Ms: number | null;
  liveAgeP99Ms: number | null;
  /** Longest time with no new last_update_id outside planned outages (the aggregator stalled). */
  longestStallMs: number;
  examplesWrong: string[];
  examplesStale: string[];
  /** Sample times of the live-but-stale and live-but-wrong samples (for attribution to faults). */
  staleAtMs: number[];
  wrongAtMs: number[];
}

/** Summary of one symbol's samples in time order (pure). */
export function summarizeSamples(samples: readonly Sample[], staleMs: number, plannedOutages: readonly Span[]): SampleSummary {
  const out: SampleSummary = {
    total: samples.length,
    live: 0,
    resyncing: 0,
    stale: 0,
    notLiveOther: 0,
    liveWrong: 0,
    liveStale: 0,
    liveUnverified: 0,
    longestNotLiveMs: 0,
    liveAgeP50Ms: null,
    liveAgeP99Ms: null,
    longestStallMs: 0,
    examplesWrong: [],
    examplesStale: [],
    staleAtMs: [],
    wrongAtMs: [],
  };
  let notLiveSince: number | undefined;
  const ages: number[] = [];
  let lastId: number | undefined;
  let lastChangeMs: number | undefined;
  for (const s of samples) {
    if (s.state === 'live') {
      out.live += 1;
      if (s.matches === false) {
        out.liveWrong += 1;
        out.wrongAtMs.push(s.atMs);
        if (out.examplesWrong.length < 5) out.examplesWrong.push(`${new Date(s.atMs).toISOString()} ${s.symbol} id ${s.lastUpdateId}: ${s.mismatch ?? ''}`);
      } else if (s.matches === undefined) out.liveUnverified += 1;
      if (s.tsMs !== undefined) ages.push(s.atMs - s.tsMs);
      if (s.tsMs !== undefined && s.atMs - s.tsMs > staleMs) {
        out.liveStale += 1;
        out.staleAtMs.push(s.atMs);
        if (out.examplesStale.length < 5) out.examplesStale.push(`${new Date(s.atMs).toISOString()} ${s.symbol} age ${Math.round(s.atMs - s.tsMs)} ms`);
      }
      if (notLiveSince !== undefined) out.longestNotLiveMs = Math.max(out.longestNotLiveMs, s.atMs - notLiveSince);
      notLiveSince = undefined;
    } else {
      if (s.state === 'resyncing') out.resyncing += 1;
      else if (s.state === 'stale') out.stale += 1;
      else out.notLiveOther += 1;
      notLiveSince ??= s.atMs;
    }
    if (s.lastUpdateId !== undefined && s.lastUpdateId !== lastId) {
      if (lastChangeMs !== undefined && !overlaps({ fromMs: lastChangeMs, toMs: s.atMs }, plannedOutages)) {
        out.longestStallMs = Math.max(out.longestStallMs, s.atMs - lastChangeMs);
      }
      lastId = s.lastUpdateId;
      lastChangeMs = s.atMs;
    }
  }
  out.liveAgeP50Ms = percentile(ages, 50) ?? null;
  out.liveAgeP99Ms = percentile(ages, 99) ?? null;
  const end = samples[samples.length - 1];
  if (end) {
    if (notLiveSince !== undefined) out.longestNotLiveMs = Math.max(out.longestNotLiveMs, end.atMs - notLiveSince);
    if (lastChangeMs !== undefined && !overlaps({ fromMs: lastChangeMs, toMs: end.atMs }, plannedOutages)) {
      out.longestStallMs = Math.max(out.longestStallMs, end.atMs - lastChangeMs);
    }
  }
  return out;
}

/** Nearest-rank percentile of a list (pure); undefined for an empty list. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface IdCompleteness {
  /** Expected id range [from, to] (inclusive); undefined when nothing was expected. */
  from?: number;
  to?: number;
  expected: number;
  seen: number;
  missing: number;
  /** Ids not seen but excused: made while the store itself was down or being replaced (not counted missing). */
  excused: number;
  duplicated: number;
  /** A few missing ids (or ranges) for the report. */
  missingExamples: string[];
}

/**
 * Which ids of the contiguous range [from, to] a consumer saw, and how many of them it saw more than once
 * (pure). `counts` maps id → times seen; ids outside the range (records before the run, poison) are ignored.
 */
export function idCompleteness(
  counts: ReadonlyMap<number, number>,
  from: number | undefined,
  to: number | undefined,
  excuse: (id: number) => boolean = () => false,
): IdCompleteness {
  const out: IdCompleteness = { from, to, expected: 0, seen: 0, missing: 0, excused: 0, duplicated: 0, missingExamples: [] };
  if (from === undefined || to === undefined || to < from) return out;
  for (const [id, n] of counts) if (n > 1 && id >= from && id <= to) out.duplicated += n - 1;
  out.expected = to - from + 1;
  let runStart: number | undefined;
  const flush = (end: number): void => {
    if (runStart === undefined) return;
    if (out.missingExamples.length < 5) out.missingExamples.push(runStart === end ? String(runStart) : `${runStart}-${end}`);
    runStart = undefined;
  };
  for (let id = from; id <= to; id++) {
    if ((counts.get(id) ?? 0) > 0) {
      out.seen += 1;
      flush(id - 1);
    } else if (excuse(id)) {
      out.excused += 1;
      flush(id - 1);
    } else {
      out.missing += 1;
      runStart ??= id;
    }
  }
  flush(to);
  return out;
}

/** Count of each id in a list (pure). */
export function countIds(ids: Iterable<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

/** What the REST ingestor's pino log says about gaps and re-anchors (pure). */
export interface LogFacts {
  gapsByCriterion: Record<string, number>;
  aggregatorRequests: number;
  /** Requests chaos itself put on reanchor:requests (reason chaos_…), not counted as the aggregator's. */
  chaosRequests: number;
  reanchorsOk: number;
  reanchorsFailed: number;
  reanchorMs: number[];
}

export function emptyLogFacts(): LogFacts {
  return { gapsByCriterion: {}, aggregatorRequests: 0, chaosRequests: 0, reanchorsOk: 0, reanchorsFailed: 0, reanchorMs: [] };
}

/** Fold one log line of the REST ingestor into the facts (non-JSON lines are ignored). */
export function foldLogLine(facts: LogFacts, line: string): void {
  if (!line.startsWith('{')) return;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const msg = typeof o.msg === 'string' ? o.msg : '';
  if (msg === 'gap detected') {
    const c = typeof o.criterion === 'string' ? o.criterion : 'unknown';
    facts.gapsByCriterion[c] = (facts.gapsByCriterion[c] ?? 0) + 1;
  } else if (msg === 're-anchor requested by the aggregator') {
    if (typeof o.reason === 'string' && o.reason.startsWith('chaos_')) facts.chaosRequests += 1;
    else facts.aggregatorRequests += 1;
  } else if (msg === 're-anchor ok') {
    facts.reanchorsOk += 1;
    if (typeof o.total_ms === 'number' && Number.isFinite(o.total_ms)) facts.reanchorMs.push(o.total_ms);
  } else if (/^re-anchor.*fail/i.test(msg)) {
    facts.reanchorsFailed += 1;
  }
}

export interface FaultRecord {
  kind: string;
  atMs: number;
  detail?: string;
}

export interface SkippedFault {
  kind: string;
  reason: string;
}

export interface Crash {
  name: string;
  atMs: number;
  code: number | null;
  signal: string | null;
}

export interface LakeFacts {
  files: number;
  rows: number;
  completeness: IdCompleteness;
  /** The lake reached the venue's last aggregate id at the end within the wait. */
  caughtUp: boolean;
}

export interface ChaosInput {
  durationS: number;
  seed: number;
  staleMs: number;
  stallLimitMs: number;
  startedAtMs: number;
  endedAtMs: number;
  samples: Record<string, Sample[]>;
  plannedOutages: Span[];
  faults: FaultRecord[];
  skipped: SkippedFault[];
  venue: Record<string, number>;
  log: LogFacts;
  kinesisTrades: Record<string, IdCompleteness>;
  kinesisUndecodable: number;
  lake: Record<string, LakeFacts>;
  deadLettered: number | null;
  crashes: Crash[];
}

/**
 * How many of the given sample times fall after each fault kind, counting each sample once for the latest
 * fault injected at or before it ('before any fault' otherwise) (pure).
 */
export function attributeToFaults(timesMs: readonly number[], faults: readonly FaultRecord[]): Record<string, number> {
  const sorted = [...faults].sort((a, b) => a.atMs - b.atMs);
  const out: Record<string, number> = {};
  for (const t of timesMs) {
    let kind = 'before any fault';
    for (const f of sorted) {
      if (f.atMs > t) break;
      kind = f.kind;
    }
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosReport {
  durationS: number;
  seed: number;
  faults: { byKind: Record<string, number>; skipped: SkippedFault[]; venue: Record<string, number>; log: FaultRecord[] };
  gaps: { byCriterion: Record<string, number>; total: number; aggregatorRequests: number; chaosRequests: number };
  reanchors: { ok: number; failed: number; p50Ms: number | null; p99Ms: number | null };
  samples: Record<string, SampleSummary>;
  /** Live-but-stale and live-but-wrong samples by the latest fault before them. */
  afterFault: { stale: Record<string, number>; wrong: Record<string, number> };
  kinesis: { trades: Record<string, IdCompleteness>; undecodableRecords: number };
  lake: Record<string, LakeFacts>;
  deadLettered: number | null;
  crashes: Crash[];
  invariants: Invariant[];
  ok: boolean;
}

/** The whole report and its verdict (pure). */
export function buildReport(i: ChaosInput): ChaosReport {
  const byKind: Record<string, number> = {};
  for (const f of i.faults) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const samples: Record<string, SampleSummary> = {};
  for (const [sym, list] of Object.entries(i.samples)) samples[sym] = summarizeSamples(list, i.staleMs, i.plannedOutages);
  const all = Object.values(samples);
  const sum = (f: (s: SampleSummary) => number): number => all.reduce((a, s) => a + f(s), 0);
  const wrong = sum((s) => s.liveWrong);
  const stale = sum((s) => s.liveStale);
  const stall = Math.max(0, ...all.map((s) => s.longestStallMs));
  const lakeBad = Object.entries(i.lake).filter(([, l]) => !l.caughtUp || l.completeness.missing > 0 || l.completeness.expected === 0);
  const totalLive = sum((s) => s.live);
  const invariants: Invariant[] = [
    {
      name: 'no live-but-wrong sample',
      ok: wrong === 0,
      detail: `${wrong} of ${totalLive} live samples differ from the venue${wrong ? `: ${all.flatMap((s) => s.examplesWrong)[0]}` : ''}`,
    },
    {
      name: `no live-but-stale sample (ts older than ${i.staleMs} ms)`,
      ok: stale === 0,
      detail: `${stale} of ${totalLive} live samples stale${stale ? `: ${all.flatMap((s) => s.examplesStale)[0]}` : ''}`,
    },
    { name: 'no crash', ok: i.crashes.length === 0, detail: i.crashes.length ? i.crashes.map((c) => `${c.name} (code ${c.code}, signal ${c.signal})`).join(', ') : 'none' },
    {
      name: `aggregator never stalled > ${i.stallLimitMs / 1000} s outside planned outages`,
      ok: stall <= i.stallLimitMs,
      detail: `longest stall ${(stall / 1000).toFixed(1)} s`,
    },
    {
      name: 'lake complete at the end',
      ok: Object.keys(i.lake).length > 0 && lakeBad.length === 0,
      detail:
        Object.entries(i.lake)
          .map(([s, l]) => `${s}: ${l.completeness.seen}/${l.completeness.expected} agg trades, ${l.completeness.missing} missing${l.caughtUp ? '' : ', behind the venue'}`)
          .join('; ') || 'no lake',
    },
  ];
  const gapsTotal = Object.values(i.log.gapsByCriterion).reduce((a, b) => a + b, 0);
  return {
    durationS: i.durationS,
    seed: i.seed,
    faults: { byKind, skipped: i.skipped, venue: i.venue, log: i.faults },
    gaps: { byCriterion: i.log.gapsByCriterion, total: gapsTotal, aggregatorRequests: i.log.aggregatorRequests, chaosRequests: i.log.chaosRequests },
    reanchors: {
      ok: i.log.reanchorsOk,
      failed: i.log.reanchorsFailed,
      p50Ms: percentile(i.log.reanchorMs, 50) ?? null,
      p99Ms: percentile(i.log.reanchorMs, 99) ?? null,
    },
    samples,
    afterFault: {
      stale: attributeToFaults(all.flatMap((s) => s.staleAtMs), i.faults),
      wrong: attributeToFaults(all.flatMap((s) => s.wrongAtMs), i.faults),
    },
    kinesis: { trades: i.kinesisTrades, undecodableRecords: i.kinesisUndecodable },
    lake: i.lake,
    deadLettered: i.deadLettered,
    crashes: i.crashes,
    invariants,
    ok: invariants.every((v) => v.ok),
  };
}

/** The report as a plain-text table (pure). */
export function formatReport(r: ChaosReport): string {
  const rows: Array<[string, string]> = [];
  const add = (k: string, v: string | number): void => {
    rows.push([k, String(v)]);
  };
  add('duration / seed', `${r.durationS} s / ${r.seed}`);
  add('faults injected', Object.entries(r.faults.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none');
  for (const s of r.faults.skipped) add(`  skipped: ${s.kind}`, s.reason);
  if (Object.keys(r.faults.venue).length) add('  venue counters', Object.entries(r.faults.venue).map(([k, n]) => `${k} ${n}`).join(', '));
  add('gaps detected', `${r.gaps.total} (${Object.entries(r.gaps.byCriterion).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}); re-anchor requests: aggregator ${r.gaps.aggregatorRequests}, chaos ${r.gaps.chaosRequests}`);
  const ms = (v: number | null): string => (v === null ? '-' : `${Math.round(v)} ms`);
  add('re-anchors', `${r.reanchors.ok} ok, ${r.reanchors.failed} failed; P50 ${ms(r.reanchors.p50Ms)}, P99 ${ms(r.reanchors.p99Ms)}`);
  for (const [sym, s] of Object.entries(r.samples)) {
    add(`samples ${sym}`, `${s.total}: live ${s.live}, resyncing ${s.resyncing}, stale ${s.stale}, other not-live ${s.notLiveOther}`);
    add(`  live-but-wrong / stale`, `${s.liveWrong} / ${s.liveStale} (unverifiable ${s.liveUnverified})`);
    add(`  age of live state P50 / P99`, `${ms(s.liveAgeP50Ms)} / ${ms(s.liveAgeP99Ms)}`);
    add(`  longest not-live / stall`, `${(s.longestNotLiveMs / 1000).toFixed(1)} s / ${(s.longestStallMs / 1000).toFixed(1)} s`);
  }
  const after = (m: Record<string, number>): string => Object.entries(m).map(([k, n]) => `${k} ${n}`).join(', ');
  if (Object.keys(r.afterFault.stale).length) add('  stale samples after', after(r.afterFault.stale));
  if (Object.keys(r.afterFault.wrong).length) add('  wrong samples after', after(r.afterFault.wrong));
  for (const [sym, k] of Object.entries(r.kinesis.trades)) {
    add(`Kinesis trades ${sym}`, `${k.seen}/${k.expected} (ids ${k.from ?? '-'}..${k.to ?? '-'}), missing ${k.missing}${k.missingExamples.length ? ` [${k.missingExamples.join(', ')}]` : ''}, made while kinesis-local restarted ${k.excused}, duplicated ${k.duplicated}`);
  }
  add('Kinesis undecodable records', r.kinesis.undecodableRecords);
  for (const [sym, l] of Object.entries(r.lake)) {
    const c = l.completeness;
    add(`lake agg trades ${sym}`, `${c.seen}/${c.expected} in ${l.files} files, missing ${c.missing}${c.missingExamples.length ? ` [${c.missingExamples.join(', ')}]` : ''}, duplicated ${c.duplicated}${l.caughtUp ? '' : ', behind the venue'}`);
  }
  add('dead-lettered records', r.deadLettered === null ? 'no deadletter:records stream' : r.deadLettered);
  add('crashes', r.crashes.length ? r.crashes.map((c) => `${c.name} (${c.code ?? c.signal})`).join(', ') : 'none');
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  lines.push('', 'invariants:');
  for (const v of r.invariants) lines.push(`  ${v.ok ? 'PASS' : 'FAIL'}  ${v.name}: ${v.detail}`);
  lines.push('', r.ok ? 'chaos: all invariants hold' : `chaos: ${r.invariants.filter((v) => !v.ok).length} invariant(s) FAILED`);
  return `${lines.join('\n')}\n`;
}
