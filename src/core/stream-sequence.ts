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

export class StreamSequenceMonitor {
  private readonly cursors = new Map<string, Cursor>();

  /** Check one event; the caller drops it when the verdict is `duplicate`. */
  check(ev: MarketEvent): SequenceVerdict {
    const key = `${ev.symbol}\u0000${ev.type}`;
    let c = this.cursors.get(key);
    const [first, last] = idRange(ev);
    if (!c) {
      c = { last, gaps: 0, duplicates: 0 };
      this.cursors.set(key, c);
      return { kind: 'first' };
    }
    if (last <= c.last) {
      c.duplicates += 1;
      return { kind: 'duplicate' };
    }
    const expected = c.last + 1;
    c.last = last;
    if (ev.type === 'bestBidAsk' || ev.type === 'depthSnapshot') return { kind: 'ok' };
    if (first > expected) {
      c.gaps += 1;
      return { kind: 'gap', expected, got: first, missing: first - expected };
    }
    // first < expected <= last: a diff overlapping what we have (rotation overlap) is still new data past `last`.
    return { kind: 'ok' };
  }

  positions(): SequencePosition[] {
    return [...this.cursors.entries()].map(([key, c]) => {
      const [symbol, stream] = key.split('\u0000') as [string, SequenceStream];
      return { symbol, stream, last_id: c.last, gaps: c.gaps, duplicates: c.duplicates };
    });
  }

  /** Forget a symbol/stream (e.g. after a deliberate resubscribe) so the next event starts afresh. */
  reset(symbol?: string): void {
    if (!symbol) return this.cursors.clear();
    for (const k of [...this.cursors.keys()]) if (k.startsWith(`${symbol}\u0000`)) this.cursors.delete(k);
  }
}

/** [first id, last id] an event covers in its stream's sequence. */
function idRange(ev: MarketEvent): [number, number] {
  switch (ev.type) {
    case 'trade':
      return [ev.trade_id, ev.trade_id];
    case 'bestBidAsk':
      return [ev.sequence_id, ev.sequence_id];
    case 'depth':
      return [ev.first_update_id, ev.final_update_id];
    case 'depthSnapshot':
      return [ev.last_update_id, ev.last_update_id];
  }
}
