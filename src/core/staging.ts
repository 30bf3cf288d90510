/**
 * Staging state for the atomic re-anchor (SPEC.md): the ob/tr/feat hashes a fresh SymbolState produces
 * from a REST depth snapshot and the recent REST trades — the same code path as the live aggregator.
 */
import type { Level, TradeEvent } from './events.js';
import { SymbolState } from './symbol-state.js';

/** Structurally a /api/v3/depth response (src/binance/rest-types.ts DepthResponse). */
export interface DepthSnapshotBody {
  lastUpdateId: number;
  bids: readonly Level[];
  asks: readonly Level[];
}

export interface StagingState {
  ob: Record<string, string>;
  tr1s: Record<string, string>;
  tr5s: Record<string, string>;
  feat: Record<string, string>;
  /** The state the hashes came from (e.g. for minuteStats or tests). */
  state: SymbolState;
}

export interface StagingOptions {
  /** Event time given to the snapshot, µs (default wallMs·1000: the REST snapshot describes "now"). */
  snapshotTsUs?: number;
  depth?: number;
}

/** Throws BookError when the depth body has malformed levels. Trades are applied in trade-id order. */
export function buildStagingState(
  symbol: string,
  depth: DepthSnapshotBody,
  recentTrades: readonly TradeEvent[],
  wallMs: number,
  opts: StagingOptions = {},
): StagingState {
  const state = new SymbolState(symbol);
  state.loadSnapshot(depth, opts.snapshotTsUs ?? Math.round(wallMs * 1000));
  state.drainReanchorRequests();
  const trades = [...recentTrades].sort((a, b) => a.trade_id - b.trade_id);
  for (const t of trades) state.apply(t);
  const feat = state.featHash(wallMs).hash;
  return {
    ob: state.obHash(opts.depth ?? 10).set,
    tr1s: state.trHash(1),
    tr5s: state.trHash(5),
    feat,
    state,
  };
}
