/**
 * The live venue: one MarketEngine per symbol driven by the wall clock. Every tick advances each engine
 * to "now" and hands each event (with a lazily encoded SBE frame) to the sink — the WebSocket fan-out.
 */
import { performance } from 'node:perf_hooks';
import { MarketEngine, type EngineEvent, type EngineOptions } from './engine.js';
import { frameMeta, type FrameMeta } from './frames.js';
import { Rng } from './rng.js';
import { WireEncoder } from './wire.js';
import { symbolSpec } from './symbols.js';

export interface MarketFrame {
  /** Stream name as clients subscribe to it, e.g. "btcusdt@depth". */
  stream: string;
  meta: FrameMeta;
  event: EngineEvent;
  /** The SBE frame, encoded on first call and shared by every connection. */
  frame(): Uint8Array;
}

export type FrameSink = (f: MarketFrame) => void;

/** One event on its way out: no closure, and the fault bookkeeping (meta) only computed when asked for. */
class LiveFrame implements MarketFrame {
  private bytes: Uint8Array | undefined;

  constructor(
    readonly stream: string,
    readonly event: EngineEvent,
    private readonly encoder: WireEncoder,
  ) {}

  get meta(): FrameMeta {
    return frameMeta(this.event);
  }

  frame(): Uint8Array {
    return (this.bytes ??= this.encoder.encode(this.event));
  }
}

export interface SimMarketOptions {
  symbols: string[];
  seed: number;
  ratePerSec: number;
  depthIntervalMs?: number;
  depth20IntervalMs?: number;
  tickMs?: number;
  /** Most market time one tick may simulate; beyond it the market skips ahead (default 50 ms). */
  maxCatchUpMs?: number;
  history?: EngineOptions['history'];
  /** Wall clock in µs (tests may pass a virtual one). */
  clockUs?: () => number;
  deepBook?: boolean;
  emptyUpdateProbability?: number;
  /**
   * bestBidAsk auto-culling: a bestBidAsk event with a newer one for the same symbol in the same market
   * tick is dropped with this probability (the newest is always sent). Default 0.
   */
  cullBestBidAsk?: number;
  /** Called once per culled bestBidAsk event, with its stream name. */
  onCulled?: (stream: string) => void;
}

/** Constant for the process; the getter behind it is a native call. */
const TIME_ORIGIN_MS = performance.timeOrigin;

export function wallClockUs(): number {
  return Math.round((TIME_ORIGIN_MS + performance.now()) * 1000);
}

export class SimMarket {
  readonly engines = new Map<string, MarketEngine>();
  private readonly encoders = new Map<string, WireEncoder>();
  /** Stream names per symbol and event kind, built once (not a new string per event). */
  private readonly streamNames = new Map<string, Record<EngineEvent['kind'], string>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly clockUs: () => number;
  private readonly cullP: number;
  private readonly cullRng: Rng;

  constructor(
    private readonly opts: SimMarketOptions,
    private readonly sink: FrameSink,
  ) {
    this.clockUs = opts.clockUs ?? wallClockUs;
    this.cullP = opts.cullBestBidAsk ?? 0;
    if (!(this.cullP >= 0 && this.cullP <= 1)) throw new RangeError(`cullBestBidAsk must be in [0, 1], got ${opts.cullBestBidAsk}`);
    // Its own stream of draws, so culling never shifts the market's random sequence.
    this.cullRng = new Rng(opts.seed ^ 0xc011);
    const startTimeUs = this.clockUs();
    for (const symbol of opts.symbols) {
      const spec = symbolSpec(symbol);
      this.engines.set(
        symbol,
        new MarketEngine({
          spec,
          seed: opts.seed,
          startTimeUs,
          ratePerSec: opts.ratePerSec,
          depthIntervalUs: opts.depthIntervalMs !== undefined ? opts.depthIntervalMs * 1000 : undefined,
          depth20IntervalUs: opts.depth20IntervalMs !== undefined ? opts.depth20IntervalMs * 1000 : undefined,
          history: opts.history,
          deepBook: opts.deepBook,
          emptyUpdateProbability: opts.emptyUpdateProbability,
        }),
      );
      this.encoders.set(symbol, new WireEncoder(spec));
      const l = symbol.toLowerCase();
      this.streamNames.set(symbol, {
        trade: `${l}@trade`,
        bestBidAsk: `${l}@bestBidAsk`,
        depth: `${l}@depth`,
        depth20: `${l}@depth20`,
      });
    }
  }

  engine(symbol: string): MarketEngine | undefined {
    return this.engines.get(symbol);
  }

  start(): void {
    if (this.timer) return;
    // A frame waits in the venue until its tick, and readers measure the book's age from the venue's event
    // time: at load-test rates (all symbols together) tick every 2 ms so the simulator adds ~1 ms, not ~5.
    // Slower, 10 ms: a tick is a timer wake-up and one socket write per connection, most of its CPU.
    const tickMs = this.opts.tickMs ?? (this.opts.ratePerSec * this.engines.size > 5000 ? 2 : 10);
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Virtual time skipped because the process could not keep up with the rate (ms, all symbols). */
  skippedMs = 0;

  /** Advance every symbol to now and emit its events (at most maxCatchUpMs of market time per tick). */
  tick(): void {
    const now = this.clockUs();
    const maxStep = (this.opts.maxCatchUpMs ?? 50) * 1000;
    for (const [symbol, engine] of this.engines) {
      const encoder = this.encoders.get(symbol) as WireEncoder;
      const names = this.streamNames.get(symbol) as Record<EngineEvent['kind'], string>;
      let to = now;
      if (now - engine.timeUs > maxStep) {
        // Overloaded: run a bounded slice, then skip the rest so sockets and timers still get their turn.
        to = engine.timeUs + maxStep;
      }
      const events = engine.advance(to);
      if (to < now) {
        this.skippedMs += (now - to) / 1000;
        engine.skipTo(now);
      }
      const culled = this.cullP > 0 ? this.cullMask(events) : undefined;
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        if (culled?.[i]) {
          this.opts.onCulled?.(names.bestBidAsk);
          continue;
        }
        this.sink(new LiveFrame(names[event.kind], event, encoder));
      }
    }
  }

  /**
   * Which bestBidAsk events of one tick's batch are culled: only those with a newer one behind them, so
   * the latest top of book always goes out and update ids skip, as on the venue under load.
   */
  private cullMask(events: EngineEvent[]): boolean[] | undefined {
    let mask: boolean[] | undefined;
    let newerSeen = false;
    for (let i = events.length - 1; i >= 0; i--) {
      if (events[i].kind !== 'bestBidAsk') continue;
      if (newerSeen && this.cullRng.chance(this.cullP)) (mask ??= [])[i] = true;
      newerSeen = true;
    }
    return mask;
  }
}
