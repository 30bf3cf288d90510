/**
 * Trade de-duplication for at-least-once delivery: a trade id is new unless it was seen among the last
 * `window` distinct ids, or it is more than `window` below the highest id seen (too old to remember, so
 * treated as already processed).
 */
export class TradeDedup {
  private readonly seen = new Set<number>();
  private readonly ring: number[];
  private pos = 0;
  private maxId = -Infinity;

  constructor(readonly window = 10_000) {
    this.ring = new Array<number>(window);
  }

  get maxSeen(): number | undefined {
    return this.maxId === -Infinity ? undefined : this.maxId;
  }

  /** 'new' records the id; 'duplicate' / 'stale' leave the state unchanged. */
  check(id: number): 'new' | 'duplicate' | 'stale' {
    if (this.seen.has(id)) return 'duplicate';
    if (id <= this.maxId - this.window) return 'stale';
    const evicted = this.ring[this.pos];
    if (evicted !== undefined) this.seen.delete(evicted);
    this.ring[this.pos] = id;
    this.pos = (this.pos + 1) % this.window;
    this.seen.add(id);
    if (id > this.maxId) this.maxId = id;
    return 'new';
  }
}
