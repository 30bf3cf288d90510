/**
 * Bounded ground truth: the book at any recent update id (checkpoints + change log, never full copies per
 * update), every recent trade (contiguous ids), and per-minute kline aggregates. Pure data structures.
 */
import type { Side } from './book.js';
import { BID } from './book.js';

export const SEGMENT_SIZE = 8192;

export interface HistoryLimits {
  /** Keep at least this much virtual time of history (µs). */
  retentionUs: number;
  /** Never keep more than this many book changes (bounds memory at load-test rates). */
  maxChanges: number;
  /** Never keep more than this many trades. */
  maxTrades: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = {
  retentionUs: 600_000_000,
  maxChanges: 4_000_000,
  maxTrades: 2_000_000,
};

interface BookSegment {
  /** The checkpoint is the book right after update `baseId`; changes are baseId+1 … baseId+count. */
  baseId: number;
  bids: Float64Array;
  asks: Float64Array;
  side: Uint8Array;
  price: Int32Array;
  qty: Float64Array;
  /** Virtual time of the newest change in this segment (µs). */
  lastTimeUs: number;
  count: number;
}

export interface TruthBook {
  lastUpdateId: number;
  /** Best-first [ticks, lots]. */
  bids: Array<[number, number]>;
  asks: Array<[number, number]>;
}

export class BookHistory {
  private readonly segments: BookSegment[] = [];

  constructor(
    initialId: number,
    bids: Float64Array,
    asks: Float64Array,
    nowUs: number,
    private readonly limits: HistoryLimits,
  ) {
    this.segments.push(newSegment(initialId, bids, asks, nowUs));
  }

  /** Oldest update id whose book can still be rebuilt. */
  get oldestId(): number {
    return this.segments[0].baseId;
  }

  get newestId(): number {
    const s = this.segments[this.segments.length - 1];
    return s.baseId + s.count;
  }

  /** Append change `id` (must be newestId + 1); `snapshot` is asked for when a new checkpoint is due. */
  record(
    id: number,
    side: Side,
    price: number,
    qty: number,
    timeUs: number,
    snapshot: () => [Float64Array, Float64Array],
  ): void {
    let seg = this.segments[this.segments.length - 1];
    if (id !== seg.baseId + seg.count + 1) {
      throw new RangeError(`book change ${id} is not contiguous with ${seg.baseId + seg.count}`);
    }
    const i = seg.count;
    seg.side[i] = side;
    seg.price[i] = price;
    seg.qty[i] = qty;
    seg.count = i + 1;
    seg.lastTimeUs = timeUs;
    if (seg.count === SEGMENT_SIZE) {
      const [b, a] = snapshot();
      seg = newSegment(id, b, a, timeUs);
      this.segments.push(seg);
    }
  }

  /** Drop whole segments that are older than the retention and beyond the change budget. */
  prune(nowUs: number): void {
    const maxSegments = Math.max(2, Math.ceil(this.limits.maxChanges / SEGMENT_SIZE));
    while (this.segments.length > 1) {
      const first = this.segments[0];
      const tooOld = first.lastTimeUs < nowUs - this.limits.retentionUs;
      if (!tooOld && this.segments.length <= maxSegments) break;
      this.segments.shift();
    }
  }

  /** The book right after update `id`, or undefined when `id` is outside the retained range. */
  bookAt(id: number, limit = Infinity): TruthBook | undefined {
    if (!Number.isSafeInteger(id) || id < this.oldestId || id > this.newestId) return undefined;
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid].baseId <= id) lo = mid;
      else hi = mid - 1;
    }
    const seg = this.segments[lo];
    const maps: [Map<number, number>, Map<number, number>] = [toMap(seg.bids), toMap(seg.asks)];
    const n = id - seg.baseId;
    for (let i = 0; i < n; i++) {
      const m = maps[seg.side[i]];
      if (seg.qty[i] === 0) m.delete(seg.price[i]);
      else m.set(seg.price[i], seg.qty[i]);
    }
    return {
      lastUpdateId: id,
      bids: sortSide(maps[BID], true, limit),
      asks: sortSide(maps[1], false, limit),
    };
  }
}

function newSegment(baseId: number, bids: Float64Array, asks: Float64Array, timeUs: number): BookSegment {
  return {
    baseId,
    bids,
    asks,
    side: new Uint8Array(SEGMENT_SIZE),
    price: new Int32Array(SEGMENT_SIZE),
    qty: new Float64Array(SEGMENT_SIZE),
    lastTimeUs: timeUs,
    count: 0,
  };
}

function toMap(flat: Float64Array): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < flat.length; i += 2) m.set(flat[i], flat[i + 1]);
  return m;
}

function sortSide(m: Map<number, number>, descending: boolean, limit: number): Array<[number, number]> {
  const out = [...m.entries()];
  out.sort(descending ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]);
  return out.length > limit ? out.slice(0, limit) : out;
}

export interface TruthTrade {
  id: number;
  aggId: number;
  price: number;
  qty: number;
  timeUs: number;
  isBuyerMaker: boolean;
}

interface TradeSegment {
  firstId: number;
  aggId: Float64Array;
  price: Int32Array;
  qty: Float64Array;
  timeUs: Float64Array;
  buyerMaker: Uint8Array;
  count: number;
}

export class TradeHistory {
  private readonly segments: TradeSegment[] = [];
  private nextId: number;

  constructor(
    firstId: number,
    private readonly limits: HistoryLimits,
  ) {
    this.nextId = firstId;
    this.segments.push(newTradeSegment(firstId));
  }

  get oldestId(): number {
    return this.segments[0].firstId;
  }

  /** Id of the newest trade, or oldestId - 1 when there is none. */
  get newestId(): number {
    return this.nextId - 1;
  }

  record(id: number, aggId: number, price: number, qty: number, timeUs: number, isBuyerMaker: boolean): void {
    if (id !== this.nextId) throw new RangeError(`trade ${id} is not contiguous with ${this.nextId - 1}`);
    let seg = this.segments[this.segments.length - 1];
    if (seg.count === SEGMENT_SIZE) {
      seg = newTradeSegment(id);
      this.segments.push(seg);
    }
    const i = seg.count;
    seg.aggId[i] = aggId;
    seg.price[i] = price;
    seg.qty[i] = qty;
    seg.timeUs[i] = timeUs;
    seg.buyerMaker[i] = isBuyerMaker ? 1 : 0;
    seg.count = i + 1;
    this.nextId += 1;
  }

  prune(nowUs: number): void {
    const maxSegments = Math.max(2, Math.ceil(this.limits.maxTrades / SEGMENT_SIZE));
    while (this.segments.length > 1) {
      const first = this.segments[0];
      const tooOld = first.count > 0 && first.timeUs[first.count - 1] < nowUs - this.limits.retentionUs;
      if (!tooOld && this.segments.length <= maxSegments) break;
      this.segments.shift();
    }
  }

  get(id: number): TruthTrade | undefined {
    if (!Number.isSafeInteger(id) || id < this.oldestId || id > this.newestId) return undefined;
    const off = id - this.oldestId;
    const seg = this.segments[Math.floor(off / SEGMENT_SIZE)];
    const i = off % SEGMENT_SIZE;
    return {
      id,
      aggId: seg.aggId[i],
      price: seg.price[i],
      qty: seg.qty[i],
      timeUs: seg.timeUs[i],
      isBuyerMaker: seg.buyerMaker[i] === 1,
    };
  }

  /** Up to `limit` trades starting at id `fromId` (clamped to the retained range). */
  range(fromId: number, limit: number): TruthTrade[] {
    const out: TruthTrade[] = [];
    const start = Math.max(fromId, this.oldestId);
    for (let id = start; id <= this.newestId && out.length < limit; id++) out.push(this.get(id) as TruthTrade);
    return out;
  }

  /** First trade id whose time is ≥ timeUs (newestId + 1 when none). */
  firstAtOrAfter(timeUs: number): number {
    return this.searchId((t) => t.timeUs >= timeUs);
  }

  /** First trade id whose agg id is ≥ aggId (newestId + 1 when none). */
  firstWithAggAtLeast(aggId: number): number {
    return this.searchId((t) => t.aggId >= aggId);
  }

  private searchId(pred: (t: TruthTrade) => boolean): number {
    let lo = this.oldestId;
    let hi = this.newestId + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (pred(this.get(mid) as TruthTrade)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

function newTradeSegment(firstId: number): TradeSegment {
  return {
    firstId,
    aggId: new Float64Array(SEGMENT_SIZE),
    price: new Int32Array(SEGMENT_SIZE),
    qty: new Float64Array(SEGMENT_SIZE),
    timeUs: new Float64Array(SEGMENT_SIZE),
    buyerMaker: new Uint8Array(SEGMENT_SIZE),
    count: 0,
  };
}

export interface MinuteBar {
  openTimeMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** Σ price ticks × qty lots. */
  quote: bigint;
  count: number;
  takerBuyVolume: number;
  takerBuyQuote: bigint;
}

/** 1-minute bars built from every trade; a bounded number of minutes is kept. */
export class MinuteBars {
  private readonly bars: MinuteBar[] = [];

  constructor(private readonly maxBars = 1500) {}

  add(price: number, qty: number, timeUs: number, isBuyerMaker: boolean): void {
    const open = Math.floor(timeUs / 60_000_000) * 60_000;
    let bar = this.bars[this.bars.length - 1];
    if (!bar || bar.openTimeMs !== open) {
      bar = {
        openTimeMs: open,
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 0,
        quote: 0n,
        count: 0,
        takerBuyVolume: 0,
        takerBuyQuote: 0n,
      };
      this.bars.push(bar);
      if (this.bars.length > this.maxBars) this.bars.shift();
    }
    if (price > bar.high) bar.high = price;
    if (price < bar.low) bar.low = price;
    bar.close = price;
    bar.volume += qty;
    const q = BigInt(price) * BigInt(qty);
    bar.quote += q;
    bar.count += 1;
    if (!isBuyerMaker) {
      bar.takerBuyVolume += qty;
      bar.takerBuyQuote += q;
    }
  }

  /** Minutes that had at least one trade, oldest first. */
  all(): readonly MinuteBar[] {
    return this.bars;
  }
}
