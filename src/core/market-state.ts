/** Many symbols: routes each event to its SymbolState (created on first sight, with no book yet). */
import type { MarketEvent } from './events.js';
import type { CoreEvent } from './fixed-events.js';
import type { SnapshotInput, SnapshotOutcome } from './book-sync.js';
import { SymbolState, type ApplyOutcome, type ReanchorRequest, type SymbolStateOptions } from './symbol-state.js';

export class MarketState {
  private readonly states = new Map<string, SymbolState>();

  constructor(private readonly opts: SymbolStateOptions = {}) {}

  /** `maxEventTsUs`: see SymbolState.apply (the caller's wall clock plus the allowed skew). */
  apply(ev: MarketEvent, maxEventTsUs?: number): ApplyOutcome {
    return this.ensure(ev.symbol).apply(ev, maxEventTsUs);
  }

  /** A fixed-point event (the hot path). */
  applyCore(ev: CoreEvent, maxEventTsUs?: number): ApplyOutcome {
    return this.ensure(ev.symbol).applyCore(ev, maxEventTsUs);
  }

  loadSnapshot(symbol: string, s: SnapshotInput, eventTsUs?: number): SnapshotOutcome {
    return this.ensure(symbol).loadSnapshot(s, eventTsUs);
  }

  get(symbol: string): SymbolState | undefined {
    return this.states.get(symbol);
  }

  ensure(symbol: string): SymbolState {
    let st = this.states.get(symbol);
    if (!st) {
      st = new SymbolState(symbol, this.opts);
      this.states.set(symbol, st);
    }
    return st;
  }

  /** Drop a symbol's state (e.g. its shard is read by another aggregator now). */
  delete(symbol: string): boolean {
    return this.states.delete(symbol);
  }

  symbols(): string[] {
    return [...this.states.keys()];
  }

  drainReanchorRequests(): ReanchorRequest[] {
    const out: ReanchorRequest[] = [];
    for (const st of this.states.values()) out.push(...st.drainReanchorRequests());
    return out;
  }
}
