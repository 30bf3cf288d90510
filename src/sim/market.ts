/**
 * The live venue: one MarketEngine per symbol driven by the wall clock. Every tick advances each engine
 * to "now" and hands each event (with a lazily encoded SBE frame) to the sink — the WebSocket fan-out.
 */
import { MarketEngine, type EngineEvent, type EngineOptions } from './engine.js';
import { FrameEncoder, frameMeta, type FrameMeta } from './frames.js';
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

export interface SimMarketOptions {
  symbols: string[];
  seed: number;
  ratePerSec: number;
  depthIntervalMs?: number;
  depth20IntervalMs?: number;
  tickMs?: number;
  history?: EngineOptions['history'];
  /** Wall clock in µs (tests may pass a virtual one). */
  clockUs?: () => number;
}

export function wallClockUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export class SimMarket {
  readonly engines = new Map<string, MarketEngine>();
  private readonly encoders = new Map<string, FrameEncoder>();
  private readonly lower = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly clockUs: () => number;

  constructor(
    private readonly opts: SimMarketOptions,
    private readonly sink: FrameSink,
  ) {
    this.clockUs = opts.clockUs ?? wallClockUs;
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
        }),
      );
      this.encoders.set(symbol, new FrameEncoder(spec));
      this.lower.set(symbol, symbol.toLowerCase());
    }
  }

  engine(symbol: string): MarketEngine | undefined {
    return this.engines.get(symbol);
  }

  start(): void {
    if (this.timer) return;
    const tickMs = this.opts.tickMs ?? (this.opts.ratePerSec > 5000 ? 2 : 10);
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Advance every symbol to now and emit its events. */
  tick(): void {
    const now = this.clockUs();
    for (const [symbol, engine] of this.engines) {
      const encoder = this.encoders.get(symbol) as FrameEncoder;
      const prefix = this.lower.get(symbol) as string;
      for (const event of engine.advance(now)) {
        let cached: Uint8Array | undefined;
        this.sink({
          stream: `${prefix}@${event.kind}`,
          meta: frameMeta(event),
          event,
          frame: () => (cached ??= encoder.encode(event)),
        });
      }
    }
  }
}
