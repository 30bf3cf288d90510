import type { MarketEvent } from './events.js';
import type { AnyEvent } from './fixed-events.js';

/**
 * Sequence rules per symbol and stream: trade ids contiguous, depth diffs chained (U == previous u + 1),
 * best bid/ask ids non-decreasing (that stream is auto-culled by the venue, so skips there are not gaps).
 *
 * StreamSequenceMonitor checks one ordered source (anything at or below the last accepted id is a
 * duplicate). ConnectionSequencer merges the overlapping connections of a rotation into one ordered,
 * duplicate-free sequence: each connection delivers the venue's sequence in order, but they run at
 * different delays, so one cursor for all of them would take the old connection's in-flight ids for
 * duplicates once the new connection has passed them.
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
  check(ev: AnyEvent): SequenceVerdict {
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
function lastId(ev: AnyEvent): number {
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

/** Where the merged sequence sends its outcomes; called synchronously from accept() and closed(). */
export interface SequenceOutput {
  /** The next event of the merged sequence (in order, never a duplicate). */
  forward(ev: MarketEvent): void;
  /** Ids the venue sequence skipped before `got`, reported once, just before the event that follows them. */
  gap(symbol: string, stream: SequenceStream, expected: number, got: number): void;
  duplicate(ev: MarketEvent): void;
}

export interface ConnectionSequencerOptions {
  /** Events one connection may hold ahead of the merged sequence per symbol and stream. Default 10,000. */
  maxHeld?: number;
}

export interface MergedSequencePosition extends SequencePosition {
  /** The connection whose breaks in the sequence count as gaps (-1: none open). */
  primary: number;
  /** Events of other connections waiting for the primary to catch up. */
  held: number;
}

/** Events of one non-primary connection that ran ahead of the merged sequence, oldest first. */
interface HeldQueue {
  conn: number;
  events: MarketEvent[];
  /** Index of the oldest event still held (pops without shifting the array). */
  head: number;
}

interface Lane {
  symbol: string;
  stream: SequenceStream;
  /** Last id forwarded. */
  last: number;
  primary: number;
  gaps: number;
  duplicates: number;
  /** Null while no connection runs ahead: the common case costs one null check. */
  held: HeldQueue[] | null;
}

const NO_CONNECTION = -1;

/**
 * One ordered sequence per symbol and stream out of several connections carrying the same venue
 * streams (the overlap of a rotation, or the venue's serverShutdown followed by a new connection).
 *
 * - An event that continues the forwarded sequence is forwarded, whichever connection brought it; that
 *   connection is then the primary (it is level with what was forwarded).
 * - An event at or below the forwarded position is a duplicate.
 * - An event past the next expected id is a break: from the primary it is the venue's own gap (reported
 *   once, then forwarded); from another connection it is held, because the primary may still be
 *   delivering the ids before it (its frames in flight), and is forwarded once the primary reaches it.
 * - When the primary closes, an open connection holding nothing takes over (it is level or behind, so it
 *   can still deliver what the primary owed); failing that, the one whose held events start earliest
 *   takes over and they flush. What no open connection can deliver is then a gap.
 * - A connection holding more than `maxHeld` events takes over too: the primary has stalled.
 *
 * bestBidAsk and depth20 snapshots carry state, not changes, and the venue culls bestBidAsk: only
 * newer ids are forwarded, with no holding and no gaps.
 */
export class ConnectionSequencer {
  private readonly lanes = new Map<string, Partial<Record<SequenceStream, Lane>>>();
  private readonly maxHeld: number;
  /** Connections that delivered and have not closed: the candidates to take over from a closed primary. */
  private readonly open = new Set<number>();
  private lastConn = NO_CONNECTION;

  constructor(opts: ConnectionSequencerOptions = {}) {
    this.maxHeld = opts.maxHeld ?? 10_000;
    if (!Number.isInteger(this.maxHeld) || this.maxHeld < 1) throw new RangeError(`maxHeld must be a positive integer, got ${this.maxHeld}`);
  }

  /** One event from connection `conn`. */
  accept(ev: MarketEvent, conn: number, out: SequenceOutput): void {
    if (conn !== this.lastConn) {
      this.lastConn = conn;
      this.open.add(conn);
    }
    let bySymbol = this.lanes.get(ev.symbol);
    if (!bySymbol) {
      bySymbol = {};
      this.lanes.set(ev.symbol, bySymbol);
    }
    const last = lastId(ev);
    const lane = bySymbol[ev.type];
    if (!lane) {
      bySymbol[ev.type] = { symbol: ev.symbol, stream: ev.type, last, primary: conn, gaps: 0, duplicates: 0, held: null };
      out.forward(ev);
      return;
    }
    if (last <= lane.last) {
      lane.duplicates += 1;
      out.duplicate(ev);
      return;
    }
    if (ev.type === 'bestBidAsk' || ev.type === 'depthSnapshot') {
      lane.last = last;
      out.forward(ev);
      return;
    }
    // The common case: the primary (or the only connection) continues the sequence.
    if (conn === lane.primary && lane.held === null && firstId(ev) === lane.last + 1) {
      lane.last = last;
      out.forward(ev);
      return;
    }
    this.step(lane, ev, last, conn, out);
  }

  /** A connection closed: its held events go; if it was the primary, another connection takes over. */
  closed(conn: number, out: SequenceOutput): void {
    this.open.delete(conn);
    if (this.lastConn === conn) this.lastConn = NO_CONNECTION;
    for (const bySymbol of this.lanes.values()) {
      for (const lane of Object.values(bySymbol)) {
        if (lane.held !== null) {
          // Ids it held past the sequence are still owed by the primary, which delivers them.
          const i = lane.held.findIndex((q) => q.conn === conn);
          if (i >= 0) lane.held.splice(i, 1);
          if (lane.held.length === 0) lane.held = null;
        }
        if (lane.primary === conn) this.takeOver(lane, out);
      }
    }
  }

  /**
   * The primary closed. An open connection holding nothing is level with or behind the sequence, so it
   * can still deliver the ids the primary owed: it takes over and held events wait for it. Otherwise
   * the queue that starts earliest takes over and replays; what nobody delivered is a gap.
   */
  private takeOver(lane: Lane, out: SequenceOutput): void {
    lane.primary = NO_CONNECTION;
    for (const c of this.open) {
      if (lane.held === null || !lane.held.some((q) => q.conn === c)) {
        lane.primary = c;
        return;
      }
    }
    if (lane.held === null) return; // the next event from any connection takes over
    let next = lane.held[0];
    for (const q of lane.held) if (firstId(q.events[q.head]) < firstId(next.events[next.head])) next = q;
    this.promote(lane, next, out);
  }

  positions(): MergedSequencePosition[] {
    const out: MergedSequencePosition[] = [];
    for (const [symbol, bySymbol] of this.lanes) {
      for (const lane of Object.values(bySymbol)) {
        let held = 0;
        for (const q of lane.held ?? []) held += q.events.length - q.head;
        out.push({ symbol, stream: lane.stream, last_id: lane.last, gaps: lane.gaps, duplicates: lane.duplicates, primary: lane.primary, held });
      }
    }
    return out;
  }

  /** Events held across all symbols and streams. */
  heldEvents(): number {
    let n = 0;
    for (const p of this.positions()) n += p.held;
    return n;
  }

  /** Forget a symbol (or everything) so the next event starts afresh. */
  reset(symbol?: string): void {
    if (symbol === undefined) this.lanes.clear();
    else this.lanes.delete(symbol);
  }

  private step(lane: Lane, ev: MarketEvent, last: number, conn: number, out: SequenceOutput): void {
    const own = lane.held === null ? undefined : lane.held.find((q) => q.conn === conn);
    if (own !== undefined) {
      // This connection is already ahead: keep its events in its own order behind what it holds.
      this.hold(lane, own, ev, out);
      return;
    }
    const first = firstId(ev);
    if (first <= lane.last + 1) {
      // Continues the sequence (a diff may overlap it: U <= last + 1 <= u). Whoever brings it is level
      // with the forwarded sequence, so it is the primary from now on.
      lane.primary = conn;
      lane.last = last;
      out.forward(ev);
      this.drain(lane, out);
      return;
    }
    if (conn === lane.primary || lane.primary === NO_CONNECTION) {
      lane.primary = conn;
      this.forwardAfterBreak(lane, ev, out);
      return;
    }
    const q: HeldQueue = { conn, events: [], head: 0 };
    (lane.held ??= []).push(q);
    this.hold(lane, q, ev, out);
  }

  private hold(lane: Lane, q: HeldQueue, ev: MarketEvent, out: SequenceOutput): void {
    if (q.head >= 1024 && q.head * 2 >= q.events.length) {
      // A queue that keeps a venue gap at its head drains only in part: drop what it already gave up.
      q.events.splice(0, q.head);
      q.head = 0;
    }
    q.events.push(ev);
    if (q.events.length - q.head > this.maxHeld) {
      // The primary has fallen this far behind (stalled): this connection takes over, and what the
      // primary still owes is a gap.
      this.promote(lane, q, out);
    }
  }

  /** `q`'s connection becomes the primary and its held events are replayed as the primary's. */
  private promote(lane: Lane, q: HeldQueue, out: SequenceOutput): void {
    lane.held!.splice(lane.held!.indexOf(q), 1);
    if (lane.held!.length === 0) lane.held = null;
    lane.primary = q.conn;
    for (let i = q.head; i < q.events.length; i++) {
      const ev = q.events[i];
      const last = lastId(ev);
      if (last <= lane.last) {
        lane.duplicates += 1;
        out.duplicate(ev);
      } else if (firstId(ev) <= lane.last + 1) {
        lane.last = last;
        out.forward(ev);
        this.drain(lane, out);
      } else {
        this.forwardAfterBreak(lane, ev, out);
      }
    }
  }

  /**
   * The primary skipped ids before `ev`. Held events of other connections below it come first (a
   * connection that lost a frame the other delivered, e.g. a fault injected on one connection only);
   * what nobody delivered is the gap.
   */
  private forwardAfterBreak(lane: Lane, ev: MarketEvent, out: SequenceOutput): void {
    const first = firstId(ev);
    for (;;) {
      const q = this.earliestHeld(lane);
      if (q === undefined || firstId(q.events[q.head]) >= first) break;
      const h = q.events[q.head++];
      this.dropEmpty(lane, q);
      this.forwardWithGap(lane, h, out);
    }
    this.forwardWithGap(lane, ev, out);
    this.drain(lane, out);
  }

  private forwardWithGap(lane: Lane, ev: MarketEvent, out: SequenceOutput): void {
    const last = lastId(ev);
    if (last <= lane.last) {
      lane.duplicates += 1;
      out.duplicate(ev);
      return;
    }
    const first = firstId(ev);
    if (first > lane.last + 1) {
      lane.gaps += 1;
      out.gap(lane.symbol, lane.stream, lane.last + 1, first);
    }
    lane.last = last;
    out.forward(ev);
  }

  /** Forward held events that the sequence has now reached; drop the ones it has passed. */
  private drain(lane: Lane, out: SequenceOutput): void {
    let moved = true;
    while (moved && lane.held !== null) {
      moved = false;
      for (const q of lane.held) {
        while (q.head < q.events.length) {
          const ev = q.events[q.head];
          const last = lastId(ev);
          if (last <= lane.last) {
            q.head++;
            lane.duplicates += 1;
            out.duplicate(ev);
          } else if (firstId(ev) <= lane.last + 1) {
            q.head++;
            lane.last = last;
            out.forward(ev);
            moved = true;
            // Level with the forwarded sequence again: it leads from here.
            if (q.head === q.events.length) lane.primary = q.conn;
          } else break;
        }
      }
      for (const q of [...lane.held]) this.dropEmpty(lane, q);
    }
  }

  private earliestHeld(lane: Lane): HeldQueue | undefined {
    let best: HeldQueue | undefined;
    for (const q of lane.held ?? []) {
      if (q.head < q.events.length && (best === undefined || firstId(q.events[q.head]) < firstId(best.events[best.head]))) best = q;
    }
    return best;
  }

  private dropEmpty(lane: Lane, q: HeldQueue): void {
    if (q.head < q.events.length || lane.held === null) return;
    const i = lane.held.indexOf(q);
    if (i >= 0) lane.held.splice(i, 1);
    if (lane.held.length === 0) lane.held = null;
  }
}

/** The first id an event covers in its stream's sequence (trades: the trade id; diffs: U). */
function firstId(ev: MarketEvent): number {
  return ev.type === 'depth' ? ev.first_update_id : lastId(ev);
}
