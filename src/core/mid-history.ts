/**
 * Mid-price history for the as-of lookups behind ret_1s/5s/10s (FEATURES.md): mid(t) is the last mid known
 * at or before t. Points are recorded at the symbol's `now` (newest event time), so times never go back.
 * Pruning keeps exactly what a lookup `horizonUs` behind the newest point can need.
 */
export class MidHistory {
  private ts: number[] = [];
  private mids: number[] = [];
  private head = 0;

  constructor(readonly horizonUs = 10_000_000) {}

  get size(): number {
    return this.ts.length - this.head;
  }

  /** Record the mid in force from `tsUs` on. Same time → replaces; unchanged mid → nothing to record. */
  record(tsUs: number, mid: number): void {
    const n = this.ts.length;
    if (n > this.head) {
      const lastTs = this.ts[n - 1];
      if (this.mids[n - 1] === mid) return;
      if (tsUs <= lastTs) {
        // Same instant (or a late event): the newest mid at the newest time wins.
        this.mids[n - 1] = mid;
        return;
      }
    }
    this.ts.push(tsUs);
    this.mids.push(mid);
    this.prune(tsUs);
  }

  /** The last mid recorded at or before `tsUs`, or undefined when history does not reach back that far. */
  at(tsUs: number): number | undefined {
    let lo = this.head;
    let hi = this.ts.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (this.ts[m] <= tsUs) lo = m + 1;
      else hi = m;
    }
    return lo > this.head ? this.mids[lo - 1] : undefined;
  }

  clear(): void {
    this.ts = [];
    this.mids = [];
    this.head = 0;
  }

  private prune(newestUs: number): void {
    const limit = newestUs - this.horizonUs;
    // Drop a point only when its successor is already at or before the oldest time a lookup may ask for.
    while (this.ts.length - this.head >= 2 && this.ts[this.head + 1] <= limit) this.head++;
    if (this.head > 1024 && this.head * 2 > this.ts.length) {
      this.ts = this.ts.slice(this.head);
      this.mids = this.mids.slice(this.head);
      this.head = 0;
    }
  }
}
