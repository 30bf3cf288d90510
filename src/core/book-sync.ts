/**
 * Binance diff-depth synchronisation (PROTOCOL.md §4) around an OrderBook.
 *
 * - Live: a diff with u <= book id is stale (at-least-once delivery) and skipped; a diff is applied when it
 *   straddles the book id (U <= id + 1 <= u). In steady state that is U == previous u + 1; an overlapping
 *   diff (U <= id) is also correct to apply because diffs carry absolute quantities as of u. U > id + 1 is a
 *   gap: the book freezes (`resyncing`), the diff is buffered and a re-anchor is requested.
 * - Resyncing (also the initial state, with no book): diffs are buffered (bounded; overflow drops the
 *   oldest and is counted) until `loadSnapshot` rebuilds the book and replays the buffer.
 * - The last applied diffs are kept too, so a snapshot that is OLDER than the live book (a REST re-anchor
 *   while live) can still be caught up instead of regressing the book.
 * - A book whose best bid reaches its best ask is wrong (the venue's never is: a level we keep was removed
 *   where we could not see it, or input was bad). It is never live: it freezes and asks for a re-anchor.
 */
import type { Level } from './events.js';
import { LevelError, levelsToCore, type CoreLevels } from './fixed-events.js';
import { BookError, checkLevels, OrderBook } from './order-book.js';

export type BookStatus = 'live' | 'resyncing';

export interface SnapshotInput {
  lastUpdateId: number;
  bids: readonly Level[];
  asks: readonly Level[];
}

export interface DiffInput {
  first_update_id: number;
  final_update_id: number;
  bids: readonly Level[];
  asks: readonly Level[];
}

/** A diff whose levels are already fixed point (CoreDepth satisfies it). */
export interface CoreDiffInput extends CoreLevels {
  first_update_id: number;
  final_update_id: number;
}

export type ReanchorReason = 'no-book' | 'gap' | 'buffer-gap' | 'crossed' | 'requested';

export interface GapInfo {
  /** 'crossed': the diff was applied and left best bid >= best ask (the book froze with it). */
  reason: 'gap' | 'buffer-gap' | 'crossed';
  /** Book id before the gap (null when there was no book). */
  lastUpdateId: number | null;
  /** The U the book needed: lastUpdateId + 1. */
  expectedFirstId: number | null;
  firstUpdateId: number;
  finalUpdateId: number;
}

export type DiffOutcome =
  | { kind: 'applied' }
  | { kind: 'skipped'; reason: 'stale' | 'duplicate' | 'invalid'; detail?: string }
  | { kind: 'buffered' }
  | { kind: 'gap'; gap: GapInfo };

export interface SnapshotOutcome {
  status: BookStatus;
  lastUpdateId: number;
  /** Buffered/recent diffs re-applied on top of the snapshot. */
  replayed: number;
  /** Buffered diffs discarded because the snapshot already contains them (u <= lastUpdateId). */
  discarded: number;
  gap?: GapInfo;
}

interface StoredDiff {
  U: number;
  u: number;
  levels: CoreLevels;
}

/** String levels → checked CoreLevels; BookError (naming the level) when one is malformed. */
export function coreLevelsOf(bids: readonly Level[], asks: readonly Level[], what: string): CoreLevels {
  let c: CoreLevels;
  try {
    c = levelsToCore(bids, asks, what);
  } catch (err) {
    if (err instanceof LevelError) throw new BookError(err.message);
    throw err;
  }
  checkLevels(c, what);
  return c;
}

export interface BookSyncOptions {
  /** Diffs buffered while resyncing (default 10,000). */
  maxBuffer?: number;
  /** Applied diffs retained to catch up an older snapshot (default 1,000). */
  maxRecent?: number;
}

/** A bounded FIFO of diffs with O(1) amortized push/shift. */
class DiffQueue {
  private items: StoredDiff[] = [];
  private head = 0;
  constructor(private readonly cap: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Push; returns the oldest entry if it had to be dropped to stay within the cap. */
  push(d: StoredDiff): StoredDiff | undefined {
    this.items.push(d);
    let dropped: StoredDiff | undefined;
    if (this.size > this.cap) dropped = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  toArray(): StoredDiff[] {
    return this.items.slice(this.head);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class BookSync {
  readonly book = new OrderBook();
  private state: BookStatus = 'resyncing';
  private bookId: number | null = null;
  private readonly buffer: DiffQueue;
  private readonly bufferedIds = new Set<number>();
  private readonly recent: DiffQueue;
  private requests: ReanchorReason[] = ['no-book'];
  private overflow = 0;

  constructor(opts: BookSyncOptions = {}) {
    this.buffer = new DiffQueue(opts.maxBuffer ?? 10_000);
    this.recent = new DiffQueue(opts.maxRecent ?? 1_000);
  }

  get status(): BookStatus {
    return this.state;
  }

  /** The book's update id (null before the first snapshot). */
  get lastUpdateId(): number | null {
    return this.bookId;
  }

  get hasBook(): boolean {
    return this.bookId !== null;
  }

  get bufferedCount(): number {
    return this.buffer.size;
  }

  /** Buffered diffs dropped because the buffer was full (cumulative). */
  get bufferOverflows(): number {
    return this.overflow;
  }

  /** Outgoing re-anchor requests since the last drain. */
  drainRequests(): ReanchorReason[] {
    const out = this.requests;
    this.requests = [];
    return out;
  }

  /**
   * Freeze the book and buffer diffs (e.g. while an external re-anchor runs). `request` also asks the caller
   * for a snapshot.
   */
  beginResync(request: boolean): void {
    this.state = 'resyncing';
    if (request) this.request('requested');
  }

  /** A diff of decimal strings: parsed once here, then as applyDiffCore. */
  applyDiff(d: DiffInput): DiffOutcome {
    const pre = this.precheck(d.first_update_id, d.final_update_id);
    if (pre) return pre;
    let levels: CoreLevels;
    try {
      levels = coreLevelsOf(d.bids, d.asks, 'diff');
    } catch (err) {
      return { kind: 'skipped', reason: 'invalid', detail: err instanceof Error ? err.message : String(err) };
    }
    return this.applyChecked({ U: d.first_update_id, u: d.final_update_id, levels });
  }

  /** A diff in fixed point (the hot path): no text is parsed. */
  applyDiffCore(d: CoreDiffInput): DiffOutcome {
    const pre = this.precheck(d.first_update_id, d.final_update_id);
    if (pre) return pre;
    try {
      checkLevels(d, 'diff');
    } catch (err) {
      return { kind: 'skipped', reason: 'invalid', detail: err instanceof Error ? err.message : String(err) };
    }
    return this.applyChecked({ U: d.first_update_id, u: d.final_update_id, levels: d });
  }

  /** The checks on update ids that come before the levels are looked at; undefined when they pass. */
  private precheck(U: number, u: number): DiffOutcome | undefined {
    if (!Number.isSafeInteger(U) || !Number.isSafeInteger(u) || U > u) {
      return { kind: 'skipped', reason: 'invalid', detail: `bad update id range [${U}, ${u}]` };
    }
    if (this.bookId !== null && u <= this.bookId) return { kind: 'skipped', reason: 'stale' };
    if (this.state === 'resyncing' && this.bufferedIds.has(u)) return { kind: 'skipped', reason: 'duplicate' };
    return undefined;
  }

  private applyChecked(stored: StoredDiff): DiffOutcome {
    const U = stored.U;
    const u = stored.u;
    if (this.state === 'resyncing') {
      this.bufferDiff(stored);
      return { kind: 'buffered' };
    }
    const id = this.bookId as number;
    if (U > id + 1) {
      this.state = 'resyncing';
      this.bufferDiff(stored);
      this.request('gap');
      return {
        kind: 'gap',
        gap: { reason: 'gap', lastUpdateId: id, expectedFirstId: id + 1, firstUpdateId: U, finalUpdateId: u },
      };
    }
    this.applyStored(stored);
    if (this.book.isCrossed()) {
      this.state = 'resyncing';
      this.request('crossed');
      return {
        kind: 'gap',
        gap: { reason: 'crossed', lastUpdateId: id, expectedFirstId: id + 1, firstUpdateId: U, finalUpdateId: u },
      };
    }
    return { kind: 'applied' };
  }

  /**
   * Rebuild the book from a full-depth snapshot and re-apply the buffered (and recently applied) diffs with
   * u > lastUpdateId. Throws BookError (before touching the book) if the snapshot has malformed levels.
   */
  loadSnapshot(s: SnapshotInput): SnapshotOutcome {
    return this.loadSnapshotCore(s.lastUpdateId, coreLevelsOf(s.bids, s.asks, 'snapshot'));
  }

  /** loadSnapshot with fixed-point levels; throws BookError (before touching the book) if one is malformed. */
  loadSnapshotCore(lastUpdateId: number, levels: CoreLevels): SnapshotOutcome {
    checkLevels(levels, 'snapshot');
    const L = lastUpdateId;
    const all = [...this.recent.toArray(), ...this.buffer.toArray()];
    const discarded = this.buffer.toArray().filter((d) => d.u <= L).length;
    const candidates = all.filter((d) => d.u > L).sort((a, b) => a.u - b.u);

    this.book.load(levels);
    this.bookId = L;
    this.buffer.clear();
    this.bufferedIds.clear();
    this.recent.clear();
    this.state = 'live';

    let replayed = 0;
    for (let i = 0; i < candidates.length; i++) {
      const d = candidates[i];
      const id = this.bookId;
      if (d.u <= id) continue; // same u twice (recent + buffer)
      if (d.U > id + 1) {
        this.state = 'resyncing';
        for (let j = i; j < candidates.length; j++) {
          const rest = candidates[j];
          if (!this.bufferedIds.has(rest.u)) this.bufferDiff(rest);
        }
        this.request('buffer-gap');
        const gap: GapInfo = {
          reason: 'buffer-gap',
          lastUpdateId: id,
          expectedFirstId: id + 1,
          firstUpdateId: d.U,
          finalUpdateId: d.u,
        };
        return { status: this.state, lastUpdateId: id, replayed, discarded, gap };
      }
      this.applyStored(d);
      replayed++;
    }
    if (this.book.isCrossed()) {
      this.state = 'resyncing';
      this.request('crossed');
      const gap: GapInfo = { reason: 'crossed', lastUpdateId: L, expectedFirstId: L + 1, firstUpdateId: L, finalUpdateId: this.bookId };
      return { status: this.state, lastUpdateId: this.bookId, replayed, discarded, gap };
    }
    return { status: this.state, lastUpdateId: this.bookId, replayed, discarded };
  }

  private applyStored(d: StoredDiff): void {
    this.book.applyLevels(d.levels);
    this.bookId = d.u;
    this.recent.push(d);
  }

  private bufferDiff(d: StoredDiff): void {
    const dropped = this.buffer.push(d);
    this.bufferedIds.add(d.u);
    if (dropped) {
      this.overflow++;
      this.bufferedIds.delete(dropped.u);
    }
  }

  private request(reason: ReanchorReason): void {
    // One outstanding request is enough: the caller re-anchors once for all of them.
    if (!this.requests.includes(reason)) this.requests.push(reason);
  }
}
