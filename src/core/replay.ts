/**
 * Replay: a full-depth snapshot plus a recorded event sequence → the state the aggregator would hold, as
 * one JSON-ready object. Pure over arrays: parsing the recording (JSON / SBE) happens in the caller, which
 * hands over per-line events or per-line errors.
 *
 * The snapshot is loaded first and stamped with the first event's time, then every event is applied in
 * order: diffs the snapshot already contains are skipped (u <= lastUpdateId), the first later diff must
 * straddle it, and a hole shows up in `gaps`. Features use wallMs = the last event time, so the output is
 * a function of the input alone.
 */
import type { Level, MarketEvent } from './events.js';
import type { SnapshotInput } from './book-sync.js';
import { SymbolState, type SkipReason, type SymbolGap } from './symbol-state.js';
import type { FeatureVector } from './features.js';

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/** One input line: the events it decoded to, or why it could not be decoded. */
export type ReplayLine = { line: number; events: MarketEvent[] } | { line: number; error: string };

export interface ReplayInput {
  /** Required when no event names the symbol (e.g. a snapshot alone). */
  symbol?: string;
  snapshot?: SnapshotInput;
  lines: readonly ReplayLine[];
  /** Book levels per side in the output (default 10). */
  depth?: number;
}

export interface ReplayResult {
  book: { symbol: string; last_update_id: number | null; status: 'live' | 'resyncing'; bids: Level[]; asks: Level[] };
  tr_1s: Record<string, string>;
  tr_5s: Record<string, string>;
  features: FeatureVector;
  gaps: SymbolGap[];
  applied: number;
  skipped: number;
  buffered: number;
  skipped_by_reason: Partial<Record<SkipReason, number>>;
  errors: Array<{ line: number; message: string }>;
}

export function runReplay(input: ReplayInput): ReplayResult {
  const depth = input.depth ?? 10;
  if (!Number.isInteger(depth) || depth < 1) throw new ReplayError(`depth must be a positive integer, got ${depth}`);
  const errors: ReplayResult['errors'] = [];
  const events: MarketEvent[] = [];
  for (const l of input.lines) {
    if ('error' in l) errors.push({ line: l.line, message: l.error });
    else events.push(...l.events);
  }
  const symbol = input.symbol ?? events[0]?.symbol;
  if (symbol === undefined) throw new ReplayError('no event names a symbol: pass the symbol explicitly');

  const state = new SymbolState(symbol);
  const firstTs = events.find((e) => e.symbol === symbol)?.event_ts;
  if (input.snapshot) state.loadSnapshot(input.snapshot, firstTs);

  const gaps: SymbolGap[] = [];
  const skippedBy: Partial<Record<SkipReason, number>> = {};
  let applied = 0;
  let skipped = 0;
  let buffered = 0;
  for (const ev of events) {
    const out = state.apply(ev);
    switch (out.kind) {
      case 'applied':
        applied++;
        break;
      case 'buffered':
        buffered++;
        break;
      case 'gap':
        buffered++; // the diff that exposed the gap waits in the buffer
        gaps.push(out.gap);
        break;
      case 'skipped':
        skipped++;
        skippedBy[out.reason] = (skippedBy[out.reason] ?? 0) + 1;
        break;
    }
  }
  const levels = state.bookLevels(depth);
  return {
    book: { symbol, last_update_id: state.lastUpdateId, status: state.status, bids: levels.bids, asks: levels.asks },
    tr_1s: state.trHash(1),
    tr_5s: state.trHash(5),
    features: state.features(state.now / 1000),
    gaps,
    applied,
    skipped,
    buffered,
    skipped_by_reason: skippedBy,
    errors,
  };
}
