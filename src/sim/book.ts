/**
 * A price-time-priority limit order book in integer ticks and lots. Each price level keeps its resting
 * orders in FIFO order so that one taker order produces one trade per maker order it fills, as on Binance.
 * The book reports every level change (new total at a price, 0 = removed) through `onChange`; the engine
 * gives each change its own book update id.
 */

export const BID = 0;
export const ASK = 1;
export type Side = typeof BID | typeof ASK;

interface Order {
  price: number;
  lots: number;
  /** Index in the side's list of live orders (for O(1) removal and uniform cancels). */
  slot: number;
}

interface Level {
  price: number;
  total: number;
  /** Resting orders, oldest first. */
  orders: Order[];
}

export type ChangeListener = (side: Side, price: number, total: number) => void;
export type FillListener = (price: number, lots: number) => void;

export class OrderBook {
  /** Prices per side sorted so that the best price is LAST (bids ascending, asks descending). */
  private readonly prices: [number[], number[]] = [[], []];
  private readonly levels: [Map<number, Level>, Map<number, Level>] = [new Map(), new Map()];
  private readonly live: [Order[], Order[]] = [[], []];

  constructor(private readonly onChange: ChangeListener) {}

  best(side: Side): number | undefined {
    const p = this.prices[side];
    return p.length ? p[p.length - 1] : undefined;
  }

  bestQty(side: Side): number {
    const b = this.best(side);
    return b === undefined ? 0 : (this.levels[side].get(b)?.total ?? 0);
  }

  levelCount(side: Side): number {
    return this.prices[side].length;
  }

  orderCount(side: Side): number {
    return this.live[side].length;
  }

  qtyAt(side: Side, price: number): number {
    return this.levels[side].get(price)?.total ?? 0;
  }

  /** True when `price` on `side` would trade against the opposite side. */
  crosses(side: Side, price: number): boolean {
    const opp = this.best(side === BID ? ASK : BID);
    if (opp === undefined) return false;
    return side === BID ? price >= opp : price <= opp;
  }

  /** Rest an order that does not cross. */
  rest(side: Side, price: number, lots: number): void {
    if (lots <= 0) throw new RangeError(`order size must be positive, got ${lots}`);
    if (this.crosses(side, price)) throw new RangeError(`resting order at ${price} would cross the book`);
    const map = this.levels[side];
    let level = map.get(price);
    if (!level) {
      level = { price, total: 0, orders: [] };
      map.set(price, level);
      this.insertPrice(side, price);
    }
    const order: Order = { price, lots, slot: this.live[side].length };
    this.live[side].push(order);
    level.orders.push(order);
    level.total += lots;
    this.onChange(side, price, level.total);
  }

  /**
   * Trade an incoming order of `side` against the opposite side while prices allow (limit undefined = any
   * price). Reports each maker fill, then one change per touched level. Returns the unfilled remainder.
   */
  match(side: Side, limit: number | undefined, lots: number, onFill: FillListener): number {
    const opp: Side = side === BID ? ASK : BID;
    const oppPrices = this.prices[opp];
    const oppLevels = this.levels[opp];
    let remaining = lots;
    while (remaining > 0 && oppPrices.length > 0) {
      const price = oppPrices[oppPrices.length - 1];
      if (limit !== undefined && (side === BID ? price > limit : price < limit)) break;
      const level = oppLevels.get(price) as Level;
      while (remaining > 0 && level.orders.length > 0) {
        const maker = level.orders[0];
        const fill = Math.min(maker.lots, remaining);
        onFill(price, fill);
        remaining -= fill;
        level.total -= fill;
        if (fill === maker.lots) {
          level.orders.shift();
          this.unlist(opp, maker);
        } else {
          maker.lots -= fill;
        }
      }
      if (level.orders.length === 0) {
        oppLevels.delete(price);
        oppPrices.pop();
      }
      this.onChange(opp, price, level.total);
    }
    return remaining;
  }

  /** Cancel one resting order, every live order of the side being equally likely (u uniform in [0,1)). */
  cancel(side: Side, u: number): void {
    const live = this.live[side];
    if (live.length === 0) return;
    const order = live[Math.floor(u * live.length)];
    const price = order.price;
    const level = this.levels[side].get(price) as Level;
    level.orders.splice(level.orders.indexOf(order), 1);
    level.total -= order.lots;
    this.unlist(side, order);
    if (level.orders.length === 0) {
      this.levels[side].delete(price);
      const prices = this.prices[side];
      prices.splice(this.indexOf(side, price), 1);
    }
    this.onChange(side, price, level.total);
  }

  /** Remove the worst level of a side entirely (keeps the book bounded). */
  dropWorst(side: Side): void {
    const prices = this.prices[side];
    if (prices.length === 0) return;
    const price = prices[0];
    const level = this.levels[side].get(price) as Level;
    for (const o of level.orders) this.unlist(side, o);
    this.levels[side].delete(price);
    prices.shift();
    this.onChange(side, price, 0);
  }

  /** Best-first [price, total] pairs, at most n (all when n is undefined). */
  top(side: Side, n?: number): Array<[number, number]> {
    const prices = this.prices[side];
    const map = this.levels[side];
    const count = n === undefined ? prices.length : Math.min(n, prices.length);
    const out: Array<[number, number]> = new Array(count);
    for (let i = 0; i < count; i++) {
      const p = prices[prices.length - 1 - i];
      out[i] = [p, (map.get(p) as Level).total];
    }
    return out;
  }

  /** Flat [price, total, price, total, ...] best-first copy of a side (for history checkpoints). */
  flatten(side: Side): Float64Array {
    const prices = this.prices[side];
    const map = this.levels[side];
    const out = new Float64Array(prices.length * 2);
    for (let i = 0; i < prices.length; i++) {
      const p = prices[prices.length - 1 - i];
      out[2 * i] = p;
      out[2 * i + 1] = (map.get(p) as Level).total;
    }
    return out;
  }

  private unlist(side: Side, order: Order): void {
    const live = this.live[side];
    const last = live.pop() as Order;
    if (last !== order) {
      live[order.slot] = last;
      last.slot = order.slot;
    }
  }

  private indexOf(side: Side, price: number): number {
    const i = this.lowerBound(side, price);
    if (this.prices[side][i] !== price) throw new RangeError(`no level at ${price}`);
    return i;
  }

  private insertPrice(side: Side, price: number): void {
    this.prices[side].splice(this.lowerBound(side, price), 0, price);
  }

  /** First index whose price is not before `price` in this side's worst-to-best order. */
  private lowerBound(side: Side, price: number): number {
    const a = this.prices[side];
    // Ascending for bids, descending for asks, so the best price sits at the end.
    let lo = 0;
    let hi = a.length;
    if (side === BID) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (a[mid] < price) lo = mid + 1;
        else hi = mid;
      }
    } else {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (a[mid] > price) lo = mid + 1;
        else hi = mid;
      }
    }
    return lo;
  }
}
