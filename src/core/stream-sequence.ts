import type { MarketEvent } from './events.js';

/**
 * The ingestor's sequence monitor. Per symbol and stream it checks what the hot path receives:
 * trade ids contiguous, depth diffs chained (U == previous u + 1), best bid/ask ids non-decreasing
 * (that stream is auto-culled by the venue, so skips there are not gaps). It also de-duplicates the
 * overlap of two connections during rotation: anything at or below the last accepted id is a duplicate.
 */

export type SequenceStream = 'trade' | 'depth' | 'bestBidAsk' | 'depthSnapshot';

export type SequenceVerdict =
  | { kind: 'first' }
  | { kind: 'ok' }
  | { kind: 'duplicate' }
  | { kind: 'gap'; expected: number; got: number; missing: number };

export interface SequencePosition {
  symbol: string;
  stream: SequenceStream;
  last_id: number;
  gaps: number;
  duplicates: number;
}

interface Cursor {
  last: number;
  gaps: number;
  duplicates: number;
}

type SymbolCursors = Partial<Record<SequenceStream, Cursor>>;

// Shared verdicts: check() runs once per event on the ingest hot path and must not allocate for the
// common outcomes.
const FIRST: SequenceVerdict = Object.freeze({ kind: 'first' });
const OK: SequenceVerdict = Object.freeze({ kind: 'ok' });
const DUPLICATE: SequenceVerdict = Object.freeze({ kind: 'duplicate' });

export class StreamSequenceMonitor {
  private readonly cursors = new Map<string, SymbolCursors>();

  /** Check one event; the caller drops it when the verdict is `duplicate`. */
  check(ev: MarketEvent): SequenceVerdict {
    let bySymbol = this.cursors.get(ev.symbol);
    if (!bySymbol) {
      bySymbol = {};
      this.cursors.set(ev.symbol, bySymbol);
    }
    const last = lastId(ev);
    const c = bySymbol[ev.type];
    if (!c) {
      bySymbol[ev.type] = { last, gaps: 0, duplicates: 0 };
      return FIRST;
    }
    if (last <= c.last) {
      c.duplicates += 1;
      return DUPLICATE;
    }
    const expected = c.last + 1;
    c.last = last;
    if (ev.type === 'bestBidAsk' || ev.type === 'depthSnapshot') return OK;
    const first = ev.type === 'depth' ? ev.first_update_id : ev.trade_id;
    if (first > expected) {
      c.gaps += 1;
      return { kind: 'gap', expected, got: first, missing: first - expected };
    }
    // first < expected <= last: a diff overlapping what we have (rotation overlap) is still new data past `last`.
    return OK;
  }

  positions(): SequencePosition[] {
    const out: SequencePosition[] = [];
    for (const [symbol, bySymbol] of this.cursors) {
      for (const [stream, c] of Object.entries(bySymbol) as Array<[SequenceStream, Cursor]>) {
        out.push({ symbol, stream, last_id: c.last, gaps: c.gaps, duplicates: c.duplicates });
      }
    }
    return out;
  }

  /** Forget a symbol/stream (e.g. after a deliberate resubscribe) so the next event starts afresh. */
  reset(symbol?: string): void {
    if (symbol === undefined) this.cursors.clear();
    else this.cursors.delete(symbol);
  }
}

/** The last id an event covers in its stream's sequence. */
function lastId(ev: MarketEvent): number {
  switch (ev.type) {
    case 'trade':
      return ev.trade_id;
    case 'bestBidAsk':
      return ev.sequence_id;
    case 'depth':
      return ev.final_update_id;
    case 'depthSnapshot':
      return ev.last_update_id;
  }
}
