/**
 * Merges events consumed from several independent streams (one Kinesis stream per event type) into one
 * event-time order, releasing an event only once no stream can still deliver an older one: the
 * watermark. Without it, a trade stream running 100 ms behind the depth stream lets depth events advance a
 * symbol's `now` past trades that have not arrived yet, so the 1 s window undercounts and late trades fall
 * out of it for good.
 *
 * Each stream's own order is never changed (a stream carries a symbol's events in order). The watermark is
 * the minimum over the streams of the newest event time each has delivered, except that a stream that is
 * caught up with its shard tip (nothing more to read right now) holds nothing back older than
 * `wall − idleGraceUs`: an idle trade stream must not freeze the book. Nothing is held longer than
 * `maxHoldMs` of wall time, whatever a stalled stream does, so one stream's failure never stops the others;
 * such releases are counted (`forcedReleases`).
 *
 * Pure: the wall clock is a parameter.
 */

export interface MergeItem {
  /** Event time, µs (the venue's clock). */
  readonly tsUs: number;
}

export interface EventTimeMergeOptions {
  /** A caught-up stream is assumed complete up to wall − this (covers venue clock skew and ingest latency). */
  idleGraceMs?: number;
  /** Longest wall time an event may wait for the watermark. */
  maxHoldMs?: number;
}

interface Held<T> {
  item: T;
  heldAtMs: number;
}

interface Lane<T> {
  readonly queue: Held<T>[];
  head: number;
  /** Newest event time delivered by the stream (µs); -Infinity before its first event. */
  newestUs: number;
  caughtUp: boolean;
}

export interface MergeStats {
  held: number;
  watermarkUs: number;
  forcedReleases: number;
}

export class EventTimeMerge<T extends MergeItem> {
  private readonly lanes = new Map<string, Lane<T>>();
  private readonly idleGraceUs: number;
  private readonly maxHoldMs: number;
  private forced = 0;
  private lastWatermarkUs = -Infinity;

  constructor(streams: readonly string[], opts: EventTimeMergeOptions = {}) {
    if (streams.length === 0) throw new RangeError('EventTimeMerge needs at least one stream');
    for (const s of streams) this.lanes.set(s, { queue: [], head: 0, newestUs: -Infinity, caughtUp: false });
    const grace = opts.idleGraceMs ?? 250;
    const hold = opts.maxHoldMs ?? 2000;
    if (!(grace >= 0) || !(hold >= 0)) throw new RangeError('idleGraceMs and maxHoldMs must be ≥ 0');
    this.idleGraceUs = grace * 1000;
    this.maxHoldMs = hold;
  }

  /** Events read from `stream`, in the stream's order. */
  push(stream: string, items: readonly T[], wallMs: number): void {
    const lane = this.lane(stream);
    for (const item of items) {
      lane.queue.push({ item, heldAtMs: wallMs });
      if (item.tsUs > lane.newestUs) lane.newestUs = item.tsUs;
    }
  }

  /** Whether the stream has nothing more to read right now (its consumer is at the shard tip). */
  setCaughtUp(stream: string, caughtUp: boolean): void {
    this.lane(stream).caughtUp = caughtUp;
  }

  /** The current watermark (µs): every event at or before it may be released. */
  watermark(wallMs: number): number {
    let wm = Infinity;
    const idleBound = wallMs * 1000 - this.idleGraceUs;
    for (const lane of this.lanes.values()) {
      const bound = lane.caughtUp ? Math.max(lane.newestUs, idleBound) : lane.newestUs;
      if (bound < wm) wm = bound;
    }
    return wm;
  }

  /**
   * Release, in event-time order across streams (each stream's order kept), every held event at or before
   * the watermark, plus any event held longer than maxHoldMs (and what precedes it in its stream).
   */
  drain(wallMs: number): T[] {
    const wm = this.watermark(wallMs);
    if (wm > this.lastWatermarkUs) this.lastWatermarkUs = wm;
    const out: T[] = [];
    const forceBefore = wallMs - this.maxHoldMs;
    for (;;) {
      let best: Lane<T> | undefined;
      let bestTs = Infinity;
      for (const lane of this.lanes.values()) {
        if (lane.head >= lane.queue.length) continue;
        const h = lane.queue[lane.head];
        const due = h.item.tsUs <= wm || h.heldAtMs <= forceBefore;
        if (due && (best === undefined || h.item.tsUs < bestTs)) {
          best = lane;
          bestTs = h.item.tsUs;
        }
      }
      if (!best) break;
      const h = best.queue[best.head++];
      if (h.item.tsUs > wm) this.forced++;
      out.push(h.item);
    }
    for (const lane of this.lanes.values()) compact(lane);
    return out;
  }

  /** Release everything held, in event-time order across streams (shutdown: nothing more will arrive). */
  drainAll(): T[] {
    const out: T[] = [];
    for (;;) {
      let best: Lane<T> | undefined;
      for (const lane of this.lanes.values()) {
        if (lane.head >= lane.queue.length) continue;
        if (!best || lane.queue[lane.head].item.tsUs < best.queue[best.head].item.tsUs) best = lane;
      }
      if (!best) break;
      out.push(best.queue[best.head++].item);
    }
    for (const lane of this.lanes.values()) compact(lane);
    return out;
  }

  get heldCount(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.queue.length - lane.head;
    return n;
  }

  stats(): MergeStats {
    return { held: this.heldCount, watermarkUs: this.lastWatermarkUs, forcedReleases: this.forced };
  }

  private lane(stream: string): Lane<T> {
    const lane = this.lanes.get(stream);
    if (!lane) throw new RangeError(`unknown stream ${stream}`);
    return lane;
  }
}

function compact<T>(lane: Lane<T>): void {
  if (lane.head === 0) return;
  if (lane.head >= lane.queue.length) {
    lane.queue.length = 0;
    lane.head = 0;
  } else if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
    lane.queue.splice(0, lane.head);
    lane.head = 0;
  }
}
