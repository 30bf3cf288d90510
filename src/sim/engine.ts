/**
 * The market of one symbol: a seeded random order flow (limit orders around a drifting fair price,
 * cancels, marketable orders) against a price-time order book. Pure and clock-driven: `advance(toUs)`
 * runs every action scheduled up to that virtual time and returns the resulting venue events. Action
 * times come from the engine's own Poisson clock, so the same seed and start time give the same market
 * event for event, however the caller slices time.
 */
import { ASK, BID, OrderBook, type Side } from './book.js';
import {
  BookHistory,
  DEFAULT_HISTORY_LIMITS,
  MinuteBars,
  TradeHistory,
  type HistoryLimits,
  type TruthBook,
} from './history.js';
import { Rng } from './rng.js';
import type { SymbolSpec } from './symbols.js';

export interface SimTrade {
  id: number;
  aggId: number;
  price: number;
  qty: number;
  isBuyerMaker: boolean;
}

/** Events in ticks and lots; the servers turn them into frames and JSON. */
export type EngineEvent =
  | { kind: 'trade'; timeUs: number; trades: SimTrade[] }
  | {
      kind: 'bestBidAsk';
      timeUs: number;
      updateId: number;
      bidPrice: number;
      bidQty: number;
      askPrice: number;
      askQty: number;
    }
  | {
      kind: 'depth';
      timeUs: number;
      firstUpdateId: number;
      lastUpdateId: number;
      bids: Array<[number, number]>;
      asks: Array<[number, number]>;
    }
  | { kind: 'depth20'; timeUs: number; updateId: number; bids: Array<[number, number]>; asks: Array<[number, number]> };

export type EngineEventKind = EngineEvent['kind'];

export interface EngineOptions {
  spec: SymbolSpec;
  seed: number;
  /** Virtual start time, µs since the epoch. */
  startTimeUs: number;
  /** Order-flow actions (limit orders, cancels, marketable orders) per second. */
  ratePerSec: number;
  /** Depth-diff aggregation interval; default 100 ms, shorter at high rates. */
  depthIntervalUs?: number;
  /** @depth20 snapshot interval; default 100 ms. */
  depth20IntervalUs?: number;
  maxLevelsPerSide?: number;
  targetOrdersPerSide?: number;
  /** Fair-price volatility in ticks per √second. */
  volatilityTicks?: number;
  /**
   * A book deeper than Binance's 5,000-level snapshot (~8,000 levels per side), so diffs outside a
   * snapshot occur. Costs memory and CPU, hence off by default.
   */
  deepBook?: boolean;
  /**
   * Share of actions that are book updates no level shows (an update id with no visible change), so
   * some depth diffs carry [U..u] and no levels, as Binance sends. Default 0.
   */
  emptyUpdateProbability?: number;
  firstUpdateId?: number;
  firstTradeId?: number;
  firstAggId?: number;
  history?: Partial<HistoryLimits>;
}

export const DEFAULT_RATE = 50;

/** The diff interval a rate gets by default: 100 ms up to 1,000 actions/s, then shorter (≥ 1 ms). */
export function defaultDepthIntervalUs(ratePerSec: number): number {
  if (ratePerSec <= 1000) return 100_000;
  return Math.max(1000, Math.round((100_000 * 1000) / ratePerSec));
}

export class MarketEngine {
  readonly spec: SymbolSpec;
  private readonly rng: Rng;
  private readonly book: OrderBook;
  private readonly bookHistory: BookHistory;
  readonly trades: TradeHistory;
  readonly bars = new MinuteBars();
  private readonly meanGapUs: number;
  private readonly depthIntervalUs: number;
  private readonly depth20IntervalUs: number;
  private readonly maxLevels: number;
  private readonly targetOrders: number;
  private readonly volatility: number;
  private readonly maxOrderLots: number;
  private readonly maxTakerLots: number;
  private readonly farOffsetMean: number;
  private readonly emptyUpdateP: number;

  private fair: number;
  private nowUs: number;
  private nextActionUs: number;
  private nextDepthUs: number;
  private nextDepth20Us: number;
  private updateId: number;
  private nextTradeId: number;
  private nextAggId: number;
  private recording = false;
  private actionTimeUs = 0;

  private pendingFirstId = 0;
  private readonly pending: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  private lastTop: [number, number, number, number] = [0, 0, 0, 0];
  private out: EngineEvent[] = [];
  /** Both sides flattened, for a history checkpoint (one function for every change, not a closure each). */
  private readonly snapshot = (): [Float64Array, Float64Array] => [this.book.flatten(BID), this.book.flatten(ASK)];

  constructor(opts: EngineOptions) {
    if (!(opts.ratePerSec > 0) || !Number.isFinite(opts.ratePerSec)) {
      throw new RangeError(`rate must be a positive number, got ${opts.ratePerSec}`);
    }
    this.spec = opts.spec;
    this.rng = new Rng(opts.seed ^ hashSymbol(opts.spec.symbol));
    this.meanGapUs = 1e6 / opts.ratePerSec;
    this.depthIntervalUs = opts.depthIntervalUs ?? defaultDepthIntervalUs(opts.ratePerSec);
    this.depth20IntervalUs = opts.depth20IntervalUs ?? 100_000;
    this.maxLevels = opts.maxLevelsPerSide ?? (opts.deepBook ? 12_000 : 2000);
    this.targetOrders = opts.targetOrdersPerSide ?? (opts.deepBook ? 40_000 : 1500);
    this.farOffsetMean = opts.deepBook ? 4000 : 600;
    this.emptyUpdateP = opts.emptyUpdateProbability ?? 0;
    if (!(this.emptyUpdateP >= 0 && this.emptyUpdateP < 1)) {
      throw new RangeError(`emptyUpdateProbability must be in [0, 1), got ${opts.emptyUpdateProbability}`);
    }
    this.volatility = opts.volatilityTicks ?? 30;
    this.maxOrderLots = Math.max(10, 10 ** opts.spec.lotDecimals / 2);
    this.maxTakerLots = Math.max(5, 10 ** opts.spec.lotDecimals / 10);
    const limits = { ...DEFAULT_HISTORY_LIMITS, ...opts.history };

    this.fair = opts.spec.initialPriceTicks;
    this.nowUs = opts.startTimeUs;
    this.nextActionUs = opts.startTimeUs + this.rng.exponential(this.meanGapUs);
    this.nextDepthUs = opts.startTimeUs + this.depthIntervalUs;
    this.nextDepth20Us = opts.startTimeUs + this.depth20IntervalUs;
    this.updateId = opts.firstUpdateId ?? 10_000_000_000;
    this.nextTradeId = opts.firstTradeId ?? 4_000_000_000;
    this.nextAggId = opts.firstAggId ?? 3_000_000_000;

    this.book = new OrderBook((side, price, total) => this.onBookChange(side, price, total));
    this.seedBook();
    this.bookHistory = new BookHistory(
      this.updateId,
      this.book.flatten(BID),
      this.book.flatten(ASK),
      this.nowUs,
      limits,
    );
    this.trades = new TradeHistory(this.nextTradeId, limits);
    this.lastTop = this.top();
    this.pendingFirstId = this.updateId + 1;
    this.recording = true;
  }

  get timeUs(): number {
    return this.nowUs;
  }

  get lastUpdateId(): number {
    return this.updateId;
  }

  get oldestTruthId(): number {
    return this.bookHistory.oldestId;
  }

  levelCount(side: Side): number {
    return this.book.levelCount(side);
  }

  /** Current book, best first (at most `limit` levels per side). */
  currentBook(limit?: number): TruthBook {
    return { lastUpdateId: this.updateId, bids: this.book.top(BID, limit), asks: this.book.top(ASK, limit) };
  }

  /** The book right after update `id` (undefined when outside retained history). */
  bookAt(id: number, limit?: number): TruthBook | undefined {
    return this.bookHistory.bookAt(id, limit);
  }

  /** Run the market up to virtual time `toUs` and return the events it produced, in time order. */
  advance(toUs: number): EngineEvent[] {
    this.out = [];
    for (;;) {
      const boundary = Math.min(this.nextDepthUs, this.nextDepth20Us);
      if (this.nextActionUs <= toUs && this.nextActionUs < boundary) {
        this.act(this.nextActionUs);
        this.nextActionUs += this.rng.exponential(this.meanGapUs);
      } else if (boundary <= toUs) {
        if (this.nextDepthUs === boundary) {
          this.flushDepth(boundary);
          this.nextDepthUs += this.depthIntervalUs;
        }
        if (this.nextDepth20Us === boundary) {
          this.out.push({
            kind: 'depth20',
            timeUs: boundary,
            updateId: this.updateId,
            bids: this.book.top(BID, 20),
            asks: this.book.top(ASK, 20),
          });
          this.nextDepth20Us += this.depth20IntervalUs;
        }
      } else {
        break;
      }
    }
    if (toUs > this.nowUs) this.nowUs = toUs;
    this.bookHistory.prune(this.nowUs);
    this.trades.prune(this.nowUs);
    return this.out;
  }

  /**
   * Jump the clock to `toUs` without running the actions scheduled before it (the live server does this
   * when it falls behind the wall clock, so it degrades to a lower rate instead of spiralling). Pending
   * book changes stay in the next depth diff, so [U..u] stays contiguous.
   */
  skipTo(toUs: number): void {
    if (toUs <= this.nowUs) return;
    if (this.nextActionUs < toUs) this.nextActionUs = toUs + this.rng.exponential(this.meanGapUs);
    const align = (next: number, step: number) => (next < toUs ? next + Math.ceil((toUs - next) / step) * step : next);
    this.nextDepthUs = align(this.nextDepthUs, this.depthIntervalUs);
    this.nextDepth20Us = align(this.nextDepth20Us, this.depth20IntervalUs);
    this.nowUs = toUs;
  }

  private seedBook(): void {
    for (let i = 0; i < this.targetOrders; i++) {
      this.book.rest(BID, this.bidPrice(), this.orderSize());
      this.book.rest(ASK, this.fair + this.offset(), this.orderSize());
    }
  }

  private offset(): number {
    return this.rng.chance(0.5) ? this.rng.geometric(3) : this.rng.geometric(this.farOffsetMean);
  }

  /** A resting bid below the fair price, never below one tick (a deep book can reach that far down). */
  private bidPrice(): number {
    return Math.max(1, this.fair - 1 - this.offset());
  }

  /** Log-uniform sizes: many small orders, a few large ones. */
  private orderSize(): number {
    return Math.max(1, Math.round(Math.exp(this.rng.next() * Math.log(this.maxOrderLots))));
  }

  private takerSize(): number {
    return Math.max(1, Math.round(Math.exp(this.rng.next() * Math.log(this.maxTakerLots))));
  }

  private act(timeUs: number): void {
    const t = Math.floor(timeUs);
    this.actionTimeUs = t;
    this.drift();
    if (this.emptyUpdateP > 0 && this.rng.chance(this.emptyUpdateP)) {
      this.invisibleUpdate();
      return;
    }
    const side: Side = this.rng.chance(0.5) ? BID : ASK;
    const u = this.rng.next();
    if (u < 0.1) {
      this.taker(side, t);
    } else {
      const orders = this.book.orderCount(side);
      const pAdd = orders < 10 ? 1 : this.targetOrders / (this.targetOrders + orders);
      if (this.rng.chance(pAdd)) {
        const price = side === BID ? this.bidPrice() : this.fair + this.offset();
        this.limit(side, price, this.orderSize(), t);
      } else {
        this.book.cancel(side, this.rng.next());
      }
    }
    while (this.book.levelCount(BID) > this.maxLevels) this.book.dropWorst(BID);
    while (this.book.levelCount(ASK) > this.maxLevels) this.book.dropWorst(ASK);
    // Compared in place: most actions leave the top of book as it was, so nothing is allocated for them.
    const bidPrice = this.book.best(BID) ?? 0;
    const bidQty = this.book.bestQty(BID);
    const askPrice = this.book.best(ASK) ?? 0;
    const askQty = this.book.bestQty(ASK);
    const last = this.lastTop;
    if (bidPrice !== last[0] || bidQty !== last[1] || askPrice !== last[2] || askQty !== last[3]) {
      last[0] = bidPrice;
      last[1] = bidQty;
      last[2] = askPrice;
      last[3] = askQty;
      this.out.push({ kind: 'bestBidAsk', timeUs: t, updateId: this.updateId, bidPrice, bidQty, askPrice, askQty });
    }
  }

  private drift(): void {
    const dtSec = this.meanGapUs / 1e6;
    // Uniform step with the variance of a Gaussian of σ·√dt; reflect at the band edges.
    this.fair += Math.round((this.rng.next() - 0.5) * Math.sqrt(12 * dtSec) * this.volatility);
    const { minPriceTicks: lo, maxPriceTicks: hi } = this.spec;
    if (this.fair < lo + 1000) this.fair = lo + 1000 + (lo + 1000 - this.fair);
    if (this.fair > hi - 1000) this.fair = hi - 1000 - (this.fair - (hi - 1000));
  }

  /** An immediate-or-cancel order a few ticks through the opposite best. */
  private taker(side: Side, timeUs: number): void {
    const opp = this.book.best(side === BID ? ASK : BID);
    if (opp === undefined) return;
    const slip = this.rng.int(10);
    this.execute(side, side === BID ? opp + slip : opp - slip, this.takerSize(), timeUs);
  }

  /** A good-till-cancel limit order: trades what crosses, rests the rest. */
  private limit(side: Side, price: number, lots: number, timeUs: number): void {
    const left = this.book.crosses(side, price) ? this.execute(side, price, lots, timeUs) : lots;
    if (left > 0) this.book.rest(side, price, left);
  }

  private execute(side: Side, limit: number, lots: number, timeUs: number): number {
    const fills: SimTrade[] = [];
    let lastPrice = -1;
    const isBuyerMaker = side === ASK;
    const left = this.book.match(side, limit, lots, (price, qty) => {
      if (price !== lastPrice) {
        if (lastPrice !== -1) this.nextAggId += 1;
        lastPrice = price;
      }
      const trade: SimTrade = { id: this.nextTradeId++, aggId: this.nextAggId, price, qty, isBuyerMaker };
      fills.push(trade);
      this.trades.record(trade.id, trade.aggId, price, qty, timeUs, isBuyerMaker);
      this.bars.add(price, qty, timeUs, isBuyerMaker);
    });
    if (fills.length > 0) {
      this.nextAggId += 1;
      this.out.push({ kind: 'trade', timeUs, trades: fills });
    }
    return left;
  }

  /**
   * An update id whose change no level shows: recorded in the truth as the best level set to its own
   * quantity (a no-op on replay) and left out of the pending diff.
   */
  private invisibleUpdate(): void {
    const side: Side = this.book.best(BID) !== undefined ? BID : ASK;
    const price = this.book.best(side);
    if (price === undefined) return;
    this.updateId += 1;
    this.bookHistory.record(this.updateId, side, price, this.book.qtyAt(side, price), this.actionTimeUs, this.snapshot);
  }

  private onBookChange(side: Side, price: number, total: number): void {
    if (!this.recording) return;
    this.updateId += 1;
    this.pending[side].set(price, total);
    this.bookHistory.record(this.updateId, side, price, total, this.actionTimeUs, this.snapshot);
  }

  private flushDepth(timeUs: number): void {
    if (this.updateId < this.pendingFirstId) return;
    const [bids, asks] = this.pending;
    this.out.push({
      kind: 'depth',
      timeUs,
      firstUpdateId: this.pendingFirstId,
      lastUpdateId: this.updateId,
      bids: [...bids.entries()].sort((a, b) => b[0] - a[0]),
      asks: [...asks.entries()].sort((a, b) => a[0] - b[0]),
    });
    bids.clear();
    asks.clear();
    this.pendingFirstId = this.updateId + 1;
  }

  private top(): [number, number, number, number] {
    return [this.book.best(BID) ?? 0, this.book.bestQty(BID), this.book.best(ASK) ?? 0, this.book.bestQty(ASK)];
  }
}

function hashSymbol(symbol: string): number {
  let h = 2166136261;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 16777619);
  return h >>> 0;
}
