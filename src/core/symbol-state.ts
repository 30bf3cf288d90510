/**
 * Everything the pipeline knows about one symbol, fed normalized events: the synced order book, the 1 s and
 * 5 s trade windows, the mid history, per-minute trade stats and the de-duplication state. It projects
 * itself into the Redis hashes of SPEC.md (ob, tr, feat). Pure: no I/O, no clock (wall time is a param).
 *
 * `now` (FEATURES.md) is the newest event_ts among the symbol's events that were not skipped.
 *
 * Best bid/ask for the features, the trade windows' vwap_minus_mid and the mid history: from the book while
 * it is live; otherwise from the newest bestBidAsk if it is newer than the (frozen) book; otherwise from the
 * frozen book. ob:{SYM} is one consistent picture: its best bid/ask, spread and mid always come from the
 * same levels and update id it carries (the frozen book while resyncing), never from a bestBidAsk.
 *
 * Event times: apply() takes an optional upper bound (the caller's wall clock plus an allowed skew). An
 * event dated beyond it is skipped ('future') and changes nothing: one bad clock must not move `now`, which
 * would push every later event out of the windows. Replay of recorded data passes no bound.
 */
import type { Level, MarketEvent } from './events.js';
import { BookSync, type DiffOutcome, type GapInfo, type ReanchorReason, type SnapshotInput, type SnapshotOutcome } from './book-sync.js';
import { BookError, type OrderBook } from './order-book.js';
import { midDecimal, subDecimals } from './decimal-ops.js';
import { DecimalError } from './decimal.js';
import { fixedToNumber, formatFixed, type Mantissa } from './fixed.js';
import { toCoreEvent, type AnyEvent, type CoreBestBidAsk, type CoreEvent, type CoreLevels, type CoreTrade } from './fixed-events.js';
import { TradeWindow, windowTradeOf, type TradeWindowStats, type WindowTrade } from './trade-window.js';
import { MidHistory } from './mid-history.js';
import { TradeDedup } from './trade-dedup.js';
import { computeFeatures, type FeatureVector } from './features.js';

export type SkipReason = 'stale' | 'duplicate' | 'invalid' | 'wrong-symbol' | 'stale-snapshot' | 'partial-snapshot' | 'future';

export interface SymbolGap extends GapInfo {
  symbol: string;
  /** event_ts of the diff that exposed the gap (or of the snapshot whose buffer did not connect). */
  eventTs: number;
}

export type ApplyOutcome =
  | { kind: 'applied' }
  | { kind: 'skipped'; reason: SkipReason; detail?: string }
  | { kind: 'buffered' }
  | { kind: 'gap'; gap: SymbolGap };

export interface ReanchorRequest {
  symbol: string;
  reason: ReanchorReason;
}

export interface SymbolStateOptions {
  /** Diffs buffered while resyncing (default 10,000). */
  maxBufferedDiffs?: number;
  /** Applied diffs kept to catch up an older snapshot (default 1,000). */
  maxRecentDiffs?: number;
  /** Distinct recent trade ids remembered for de-duplication (default 10,000). */
  tradeDedupWindow?: number;
}

export interface ObHash {
  set: Record<string, string>;
  /** Fields to delete so nothing stale stays behind (levels beyond the current depth, unknown values). */
  del: string[];
}

interface Bba {
  bidM: Mantissa;
  askM: Mantissa;
  priceE: number;
  seq: number;
}

interface Quote {
  bid: string;
  ask: string;
  bidNum: number;
  askNum: number;
}

// Shared immutable outcomes: the hot path allocates nothing for the common answers.
const APPLIED: ApplyOutcome = Object.freeze({ kind: 'applied' });
const BUFFERED: ApplyOutcome = Object.freeze({ kind: 'buffered' });

export class SymbolState {
  private readonly sync: BookSync;
  private readonly win1 = new TradeWindow(1);
  private readonly win5 = new TradeWindow(5, { extended: true });
  private readonly mids = new MidHistory(10_000_000);
  private readonly dedup: TradeDedup;
  private nowUs = 0;
  private bba: Bba | undefined;
  private lastTradeId = -Infinity;
  private lastPriceM: Mantissa = 0;
  private lastPriceE = 0;
  private lastPriceNum: number | undefined;
  /** The last trade price as text, made when first read. */
  private lastPriceText: string | undefined;

  constructor(
    readonly symbol: string,
    opts: SymbolStateOptions = {},
  ) {
    this.sync = new BookSync({ maxBuffer: opts.maxBufferedDiffs, maxRecent: opts.maxRecentDiffs });
    this.dedup = new TradeDedup(opts.tradeDedupWindow ?? 10_000);
  }

  get status(): 'live' | 'resyncing' {
    return this.sync.status;
  }

  get lastUpdateId(): number | null {
    return this.sync.lastUpdateId;
  }

  /** Newest event time (µs) of the symbol; 0 before the first event. */
  get now(): number {
    return this.nowUs;
  }

  get book(): Readonly<OrderBook> {
    return this.sync.book;
  }

  get bufferedDiffs(): number {
    return this.sync.bufferedCount;
  }

  get bufferOverflows(): number {
    return this.sync.bufferOverflows;
  }

  get lastTradePrice(): string | undefined {
    if (this.lastPriceNum === undefined) return undefined;
    this.lastPriceText ??= formatFixed(this.lastPriceM, this.lastPriceE);
    return this.lastPriceText;
  }

  /**
   * A decimal-string event: its decimals are parsed once into fixed point, then it is applied as
   * applyCore() would (with the same outcome for every input, malformed ones included).
   * `maxEventTsUs`: events (or trades whose transact_ts is) later than this are skipped as 'future'.
   */
  apply(ev: MarketEvent, maxEventTsUs = Infinity): ApplyOutcome {
    const pre = this.precheck(ev, maxEventTsUs);
    if (pre) return pre;
    switch (ev.type) {
      case 'depth':
        // The diff's ids are checked before its levels are parsed (a stale diff is stale, however malformed).
        return this.depthOutcome(this.sync.applyDiff(ev), ev.event_ts);
      case 'depthSnapshot':
        return this.applySnapshot(ev.source, ev.last_update_id, ev.event_ts, () => this.loadSnapshot({ lastUpdateId: ev.last_update_id, bids: ev.bids, asks: ev.asks }, ev.event_ts));
      case 'trade':
      case 'bestBidAsk': {
        let core: CoreEvent;
        try {
          core = toCoreEvent(ev, true);
        } catch (err) {
          const detail = err instanceof Error ? err.message : String(err);
          if (ev.type === 'bestBidAsk') return this.bbaSeqOutcome(ev.sequence_id) ?? { kind: 'skipped', reason: 'invalid', detail };
          return { kind: 'skipped', reason: 'invalid', detail };
        }
        return core.type === 'trade' ? this.applyTrade(core) : this.applyBba(core as CoreBestBidAsk);
      }
      default:
        return { kind: 'skipped', reason: 'invalid', detail: `unknown event type` };
    }
  }

  /** A fixed-point event (the hot path: nothing is parsed). `maxEventTsUs`: see apply(). */
  applyCore(ev: CoreEvent, maxEventTsUs = Infinity): ApplyOutcome {
    const pre = this.precheck(ev, maxEventTsUs);
    if (pre) return pre;
    switch (ev.type) {
      case 'trade':
        return this.applyTrade(ev);
      case 'bestBidAsk':
        return this.applyBba(ev);
      case 'depth':
        return this.depthOutcome(this.sync.applyDiffCore(ev), ev.event_ts);
      case 'depthSnapshot':
        return this.applySnapshot(ev.source, ev.last_update_id, ev.event_ts, () => this.loadSnapshotCore(ev.last_update_id, ev, ev.event_ts));
      default:
        return { kind: 'skipped', reason: 'invalid', detail: `unknown event type` };
    }
  }

  private precheck(ev: AnyEvent, maxEventTsUs: number): ApplyOutcome | undefined {
    if (ev.symbol !== this.symbol) {
      return { kind: 'skipped', reason: 'wrong-symbol', detail: `${ev.symbol} is not ${this.symbol}` };
    }
    if (!Number.isSafeInteger(ev.event_ts) || ev.event_ts < 0) {
      return { kind: 'skipped', reason: 'invalid', detail: `bad event_ts ${String(ev.event_ts)}` };
    }
    if (ev.event_ts > maxEventTsUs || (ev.type === 'trade' && ev.transact_ts !== undefined && ev.transact_ts > maxEventTsUs)) {
      return { kind: 'skipped', reason: 'future', detail: `event time ${String(ev.event_ts)} µs is past the bound ${String(maxEventTsUs)}` };
    }
    return undefined;
  }

  private applySnapshot(source: string, lastUpdateId: number, eventTs: number, load: () => SnapshotOutcome): ApplyOutcome {
    // SBE @depth20 snapshots hold only the top 20 levels: they cannot rebuild a full-depth book.
    if (source === 'sbe') return { kind: 'skipped', reason: 'partial-snapshot' };
    if (this.sync.status === 'live' && lastUpdateId <= (this.sync.lastUpdateId as number)) {
      return { kind: 'skipped', reason: 'stale-snapshot' };
    }
    let out: SnapshotOutcome;
    try {
      out = load();
    } catch (err) {
      if (err instanceof BookError) return { kind: 'skipped', reason: 'invalid', detail: err.message };
      throw err;
    }
    return out.gap ? { kind: 'gap', gap: { ...out.gap, symbol: this.symbol, eventTs } } : { kind: 'applied' };
  }

  /**
   * Rebuild the book from a full-depth snapshot (REST re-anchor) and replay buffered diffs with
   * u > lastUpdateId. Throws BookError before changing anything if the snapshot is malformed.
   */
  loadSnapshot(s: SnapshotInput, eventTsUs?: number): SnapshotOutcome {
    if (!Number.isSafeInteger(s.lastUpdateId) || s.lastUpdateId < 0) {
      throw new BookError(`bad snapshot lastUpdateId ${String(s.lastUpdateId)}`);
    }
    const out = this.sync.loadSnapshot(s);
    if (eventTsUs !== undefined && Number.isSafeInteger(eventTsUs)) this.touch(eventTsUs);
    this.recordMid();
    return out;
  }

  /** loadSnapshot with fixed-point levels. */
  loadSnapshotCore(lastUpdateId: number, levels: CoreLevels, eventTsUs?: number): SnapshotOutcome {
    if (!Number.isSafeInteger(lastUpdateId) || lastUpdateId < 0) {
      throw new BookError(`bad snapshot lastUpdateId ${String(lastUpdateId)}`);
    }
    const out = this.sync.loadSnapshotCore(lastUpdateId, levels);
    if (eventTsUs !== undefined && Number.isSafeInteger(eventTsUs)) this.touch(eventTsUs);
    this.recordMid();
    return out;
  }

  /** Freeze the book and buffer diffs (an external re-anchor is running); `request` also asks for one. */
  beginResync(request = false): void {
    this.sync.beginResync(request);
  }

  /** Re-anchor requests raised since the last drain (no book yet, gap, buffer that did not connect). */
  drainReanchorRequests(): ReanchorRequest[] {
    return this.sync.drainRequests().map((reason) => ({ symbol: this.symbol, reason }));
  }

  /** ob:{SYM} fields (SPEC.md) for the top `depth` levels; exact decimal strings. */
  obHash(depth = 10): ObHash {
    const set: Record<string, string> = {};
    const del: string[] = [];
    const q = this.bookQuote();
    if (q) {
      set.best_bid = q.bid;
      set.best_ask = q.ask;
      set.spread = subDecimals(q.ask, q.bid);
      set.mid_price = midDecimal(q.bid, q.ask);
    } else del.push('best_bid', 'best_ask', 'spread', 'mid_price');
    const last = this.lastTradePrice;
    if (last !== undefined) set.last_trade_price = last;
    else del.push('last_trade_price');
    set.ts_us = String(this.nowUs);
    const id = this.sync.lastUpdateId;
    if (id !== null) set.last_update_id = String(id);
    else del.push('last_update_id');
    set.status = this.sync.status;
    this.levelFields('bid', depth, set, del);
    this.levelFields('ask', depth, set, del);
    return { set, del };
  }

  /** tr:{SYM}:{W}s fields for W = 1 or 5. */
  trHash(windowSeconds: 1 | 5): Record<string, string> {
    return this.window(windowSeconds).toHash(this.quote()?.mid);
  }

  tradeStats(windowSeconds: 1 | 5): TradeWindowStats {
    return this.window(windowSeconds).stats();
  }

  /** feat:{SYM} (FEATURES.md); all values finite. `wallMs` is the wall clock (data_age_ms, feature_ts). */
  features(wallMs: number): FeatureVector {
    const q = this.quote();
    const book = this.sync.book;
    return computeFeatures(
      {
        nowUs: this.nowUs,
        lastTradePrice: this.lastPriceNum,
        bestBid: q?.bidNum,
        bestAsk: q?.askNum,
        bookLive: this.sync.status === 'live',
        bidQtys: book.topQuantities('bid', 10),
        askQtys: book.topQuantities('ask', 10),
        tr1: this.win1.stats(),
        tr5: this.win5.stats(),
        midAt: (t) => this.mids.at(t),
      },
      wallMs,
    );
  }

  /**
   * feat:{SYM} as strings: the feature vector, with mid_price the exact decimal mid of the same quote the
   * floats were computed from (as ob.mid_price is) and price the exact last trade price.
   */
  featHash(wallMs: number): { hash: Record<string, string>; completeness: number } {
    const f = this.features(wallMs);
    const hash: Record<string, string> = {};
    for (const k in f) hash[k] = String(f[k as keyof FeatureVector]);
    const q = this.quote();
    if (q) hash.mid_price = midDecimal(q.bid, q.ask);
    const last = this.lastTradePrice;
    if (last !== undefined) hash.price = last;
    return { hash, completeness: f.completeness };
  }

  /** The last mid at or before `tsUs` (as the ret_* features look it up); undefined past the kept history. */
  midAt(tsUs: number): number | undefined {
    return this.mids.at(tsUs);
  }

  /** The current mid as a float (undefined without both sides); same source rule as quote(), no allocation. */
  midPrice(): number | undefined {
    const book = this.sync.book;
    if (this.sync.status !== 'live' && this.bbaIsNewer()) return this.quote()?.mid;
    const bid = book.bestBidNumber();
    const ask = book.bestAskNumber();
    return bid === undefined || ask === undefined ? undefined : (bid + ask) / 2;
  }

  private bbaIsNewer(): boolean {
    const id = this.sync.lastUpdateId;
    return this.bba !== undefined && (id === null || this.bba.seq > id);
  }

  /** Top `depth` levels per side, best first. */
  bookLevels(depth = Infinity): { bids: Level[]; asks: Level[] } {
    const book = this.sync.book;
    return { bids: book.top('bid', depth), asks: book.top('ask', depth) };
  }

  private applyTrade(ev: CoreTrade): ApplyOutcome {
    let wt: WindowTrade;
    try {
      if (!Number.isSafeInteger(ev.trade_id)) throw new DecimalError(`bad trade id ${String(ev.trade_id)}`);
      wt = windowTradeOf(ev);
    } catch (err) {
      return { kind: 'skipped', reason: 'invalid', detail: err instanceof Error ? err.message : String(err) };
    }
    const seen = this.dedup.check(ev.trade_id);
    if (seen !== 'new') return { kind: 'skipped', reason: seen };
    this.touch(ev.event_ts);
    this.win1.add(wt);
    this.win5.add(wt);
    if (ev.trade_id > this.lastTradeId) {
      this.lastTradeId = ev.trade_id;
      this.lastPriceM = ev.price_m;
      this.lastPriceE = ev.price_e;
      this.lastPriceNum = wt.price;
      this.lastPriceText = undefined;
    }
    return APPLIED;
  }

  /** stale/duplicate for a bestBidAsk sequence id at or below the last one applied. */
  private bbaSeqOutcome(seq: number): ApplyOutcome | undefined {
    const prev = this.bba;
    if (prev && seq <= prev.seq) return { kind: 'skipped', reason: seq === prev.seq ? 'duplicate' : 'stale' };
    return undefined;
  }

  private applyBba(ev: CoreBestBidAsk): ApplyOutcome {
    const seqOut = this.bbaSeqOutcome(ev.sequence_id);
    if (seqOut) return seqOut;
    if (!Number.isSafeInteger(ev.sequence_id)) {
      return { kind: 'skipped', reason: 'invalid', detail: `bad sequence_id ${String(ev.sequence_id)}` };
    }
    for (const m of [ev.bid_price_m, ev.bid_qty_m, ev.ask_price_m, ev.ask_qty_m]) {
      if (typeof m === 'number' ? !(Number.isSafeInteger(m) && m >= 0) : m < 0n) {
        return { kind: 'skipped', reason: 'invalid', detail: `bestBidAsk ${ev.sequence_id}: ${String(m)} is not an unsigned decimal mantissa` };
      }
    }
    this.bba = { bidM: ev.bid_price_m, askM: ev.ask_price_m, priceE: ev.price_e, seq: ev.sequence_id };
    this.touch(ev.event_ts);
    this.recordMid();
    return APPLIED;
  }

  private depthOutcome(out: DiffOutcome, eventTs: number): ApplyOutcome {
    switch (out.kind) {
      case 'skipped':
        return out;
      case 'buffered':
        this.touch(eventTs);
        return BUFFERED;
      case 'gap':
        this.touch(eventTs);
        return { kind: 'gap', gap: { ...out.gap, symbol: this.symbol, eventTs } };
      case 'applied':
        this.touch(eventTs);
        this.recordMid();
        return APPLIED;
    }
  }

  private touch(tsUs: number): void {
    if (tsUs <= this.nowUs) return;
    this.nowUs = tsUs;
    this.win1.advance(tsUs);
    this.win5.advance(tsUs);
  }

  private recordMid(): void {
    // Before any timed event there is no instant to attach a mid to (it would look known since 1970).
    if (this.nowUs === 0) return;
    const mid = this.midPrice();
    if (mid !== undefined) this.mids.record(this.nowUs, mid);
  }

  private quote(): (Quote & { mid: number }) | undefined {
    if (this.sync.status !== 'live' && this.bba && this.bbaIsNewer()) {
      const b = this.bba;
      const bidNum = fixedToNumber(b.bidM, b.priceE);
      const askNum = fixedToNumber(b.askM, b.priceE);
      return { bid: formatFixed(b.bidM, b.priceE), ask: formatFixed(b.askM, b.priceE), bidNum, askNum, mid: (bidNum + askNum) / 2 };
    }
    return this.bookQuote();
  }

  /** Best bid/ask of the book (live or frozen), never of a bestBidAsk. */
  private bookQuote(): (Quote & { mid: number }) | undefined {
    const book = this.sync.book;
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (!bid || !ask) return undefined;
    const bidNum = book.bestBidNumber() as number;
    const askNum = book.bestAskNumber() as number;
    return { bid: bid[0], ask: ask[0], bidNum, askNum, mid: (bidNum + askNum) / 2 };
  }

  private window(seconds: 1 | 5): TradeWindow {
    if (seconds === 1) return this.win1;
    if (seconds === 5) return this.win5;
    throw new RangeError(`no ${String(seconds)} s trade window (1 or 5)`);
  }

  private levelFields(side: 'bid' | 'ask', depth: number, set: Record<string, string>, del: string[]): void {
    const levels = this.sync.book.top(side, depth);
    const names = levelFieldNames(side, depth);
    for (let i = 0; i < depth; i++) {
      const lv = levels[i];
      if (lv) {
        set[names[2 * i]] = lv[0];
        set[names[2 * i + 1]] = lv[1];
      } else del.push(names[2 * i], names[2 * i + 1]);
    }
  }
}

/** bid1_p, bid1_q, bid2_p, … per side, made once: obHash runs for every symbol of every batch. */
const LEVEL_FIELD_NAMES = { bid: [] as string[], ask: [] as string[] };
function levelFieldNames(side: 'bid' | 'ask', depth: number): readonly string[] {
  const names = LEVEL_FIELD_NAMES[side];
  for (let i = names.length / 2; i < depth; i++) names.push(`${side}${i + 1}_p`, `${side}${i + 1}_q`);
  return names;
}
