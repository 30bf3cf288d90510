/**
 * The dashboard's in-memory history: what it saw at each poll, kept for a fixed window and numbered so a page
 * can ask only for what is new. Pure.
 */

/** Nearest-rank percentile (q in 0..1) of unsorted values; undefined when there are none. */
export function percentile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** Items with a time and a sequence number; keeps `windowMs` of them. */
export class Series<T extends { t: number }> {
  private items: (T & { seq: number })[] = [];

  constructor(private readonly windowMs: number) {}

  push(item: T, seq: number): void {
    this.items.push({ ...item, seq });
  }

  /** Drops what is older than the window at `now`. */
  trim(now: number): void {
    const cutoff = now - this.windowMs;
    let i = 0;
    while (i < this.items.length && this.items[i].t < cutoff) i++;
    if (i > 0) this.items.splice(0, i);
  }

  /** Items numbered after `seq` (all of them for 0). */
  since(seq: number): (T & { seq: number })[] {
    if (seq <= 0) return this.items.slice();
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.items.slice(lo);
  }

  all(): readonly (T & { seq: number })[] {
    return this.items;
  }

  last(): (T & { seq: number }) | undefined {
    return this.items[this.items.length - 1];
  }
}
