/**
 * Bench section "core": the pure aggregator core on one thread.
 * - events/s through SymbolState.applyCore (book + windows + dedup + mid history), fed the fixed-point
 *   CoreEvents the SBE decoder yields (converted off the clock), on a realistic mix: 60 % depth
 *   diffs of 10 levels near the top of a 5,000-level-per-side book, 35 % trades, 5 % bestBidAsk;
 * - feature computation (features(wallMs)) and the Redis projection (obHash + trHash 1 s/5 s), median and
 *   P99 per call, sampled while events flow;
 * - process RSS afterwards.
 */
import type { BestBidAskEvent, DepthEvent, Level, MarketEvent, TradeEvent } from '../core/events.js';
import { formatDecimal } from '../core/decimal.js';
import { SymbolState } from '../core/symbol-state.js';
import { toCoreEvent } from '../core/fixed-events.js';
import type { BenchSection } from './index.js';
import { consume } from './timing.js';

export interface CoreBenchResult {
  events: number;
  events_per_s: number;
  ns_per_event: number;
  /** CPU time (user + system, incl. GC) per event: less sensitive than wall time to a busy machine. */
  cpu_ns_per_event: number;
  features_median_us: number;
  features_p99_us: number;
  projection_median_us: number;
  projection_p99_us: number;
  book_levels: number;
  rss_mb: number;
}

const SYMBOL = 'BTCUSDT';
const T0_US = 1_763_700_000_000_000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A BTCUSDT-like stream: tick 0.01, mid random walk, diffs clustered near the top. Events are produced in
 * chunks so the benchmark's own input does not fill the heap (and the GC) it is measuring.
 */
export class CoreScenario {
  readonly snapshot: { lastUpdateId: number; bids: Level[]; asks: Level[] };
  private readonly r: () => number;
  private mid = 9_800_000; // 98,000.00 in ticks
  private u = 77_000_000_000;
  private ts = T0_US;
  private tradeId = 5_000_000_000;
  private lastBbaSeq = -1;

  constructor(seed = 1) {
    this.r = rng(seed);
    const bids: Level[] = [];
    const asks: Level[] = [];
    for (let i = 1; i <= 5000; i++) {
      bids.push([this.price(this.mid - i), this.qty()]);
      asks.push([this.price(this.mid + i), this.qty()]);
    }
    this.snapshot = { lastUpdateId: this.u, bids, asks };
  }

  next(n: number): MarketEvent[] {
    const r = this.r;
    const events: MarketEvent[] = [];
    for (let i = 0; i < n; i++) {
      this.ts += Math.floor(r() * 400); // ~5,000 events/s of event time
      const x = r();
      if (x < 0.6) {
        const move = r() < 0.05 ? (r() < 0.5 ? -1 : 1) : 0;
        this.mid += move;
        const U = this.u + 1;
        this.u = U + Math.floor(r() * 3);
        const b: Level[] = [];
        const a: Level[] = [];
        // The level the mid moved onto leaves the book, as on the venue: the book never crosses.
        if (move > 0) a.push([this.price(this.mid), '0']);
        else if (move < 0) b.push([this.price(this.mid), '0']);
        for (let k = 0; k < 5; k++) {
          b.push([this.price(this.mid - 1 - Math.floor(r() * r() * 200)), r() < 0.2 ? '0' : this.qty()]);
          a.push([this.price(this.mid + 1 + Math.floor(r() * r() * 200)), r() < 0.2 ? '0' : this.qty()]);
        }
        const d: DepthEvent = { type: 'depth', symbol: SYMBOL, event_ts: this.ts, source: 'sbe', first_update_id: U, final_update_id: this.u, bids: b, asks: a };
        events.push(d);
      } else if (x < 0.95) {
        const id = ++this.tradeId;
        const t: TradeEvent = {
          type: 'trade',
          symbol: SYMBOL,
          event_ts: this.ts,
          source: 'sbe',
          trade_id: id,
          sequence_id: id,
          price: this.price(this.mid + (r() < 0.5 ? -1 : 1)),
          quantity: formatDecimal(BigInt(1 + Math.floor(r() * 5_000_000)), -8),
          is_buyer_maker: r() < 0.5,
        };
        events.push(t);
      } else if (this.u !== this.lastBbaSeq) {
        // bestBidAsk carries the book update id; two for the same id would be one event delivered twice.
        this.lastBbaSeq = this.u;
        const b: BestBidAskEvent = {
          type: 'bestBidAsk',
          symbol: SYMBOL,
          event_ts: this.ts,
          source: 'sbe',
          sequence_id: this.u,
          bid_price: this.price(this.mid - 1),
          bid_quantity: this.qty(),
          ask_price: this.price(this.mid + 1),
          ask_quantity: this.qty(),
        };
        events.push(b);
      }
    }
    return events;
  }

  private price(ticks: number): string {
    return formatDecimal(BigInt(ticks), -2);
  }

  private qty(): string {
    return formatDecimal(BigInt(1 + Math.floor(this.r() * 200_000_000)), -8);
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

const CHUNK = 10_000;

export async function runCoreBench(quick: boolean): Promise<CoreBenchResult> {
  const n = quick ? 100_000 : 500_000;

  // Warm-up on its own state so the JIT has seen every path.
  const warmSc = new CoreScenario(2);
  const warm = new SymbolState(SYMBOL);
  warm.loadSnapshot(warmSc.snapshot, T0_US);
  for (let c = 0; c < 5; c++) for (const ev of warmSc.next(CHUNK)) consume(warm.applyCore(toCoreEvent(ev)));
  consume(warm.features(T0_US / 1000));

  // Throughput: only apply() is timed; chunks are generated between timed runs.
  const sc = new CoreScenario(1);
  const st = new SymbolState(SYMBOL);
  st.loadSnapshot(sc.snapshot, T0_US);
  let elapsedNs = 0;
  let cpuUs = 0;
  let count = 0;
  while (count < n) {
    const events = sc.next(CHUNK).map((ev) => toCoreEvent(ev));
    count += events.length;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < events.length; i++) st.applyCore(events[i]);
    elapsedNs += Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    await new Promise((r) => setImmediate(r));
  }

  // Latency of features and of the Redis projection, sampled every 100 events while events flow.
  const sc2 = new CoreScenario(3);
  const st2 = new SymbolState(SYMBOL);
  st2.loadSnapshot(sc2.snapshot, T0_US);
  const feat: number[] = [];
  const proj: number[] = [];
  for (let done = 0; done < n; done += CHUNK) {
    const events = sc2.next(CHUNK).map((ev) => toCoreEvent(ev));
    for (let i = 0; i < events.length; i++) {
      st2.applyCore(events[i]);
      if (i % 100 === 99) {
        const wallMs = st2.now / 1000 + 5;
        let a = process.hrtime.bigint();
        consume(st2.features(wallMs));
        feat.push(Number(process.hrtime.bigint() - a) / 1000);
        a = process.hrtime.bigint();
        consume(st2.obHash(10));
        consume(st2.trHash(1));
        consume(st2.trHash(5));
        proj.push(Number(process.hrtime.bigint() - a) / 1000);
      }
    }
  }
  feat.sort((x, y) => x - y);
  proj.sort((x, y) => x - y);
  return {
    events: count,
    events_per_s: Math.round(count / (elapsedNs / 1e9)),
    ns_per_event: Math.round(elapsedNs / count),
    cpu_ns_per_event: Math.round((cpuUs * 1000) / count),
    features_median_us: round2(quantile(feat, 0.5)),
    features_p99_us: round2(quantile(feat, 0.99)),
    projection_median_us: round2(quantile(proj, 0.5)),
    projection_p99_us: round2(quantile(proj, 0.99)),
    book_levels: st.book.bidCount + st.book.askCount,
    rss_mb: Math.round(process.memoryUsage().rss / 1e5) / 10,
  };
}

export const coreSection: BenchSection = {
  name: 'core',
  async run({ json, quick }) {
    const r = await runCoreBench(quick);
    if (!json) {
      process.stdout.write(
        `core (book + windows + features), one thread\n` +
          `  events         ${r.events} (60% depth diffs of 10 levels, 35% trades, 5% bestBidAsk; book ${r.book_levels} levels)\n` +
          `  throughput     ${r.events_per_s} events/s (${r.ns_per_event} ns/event wall, ${r.cpu_ns_per_event} ns CPU)\n` +
          `  features       median ${r.features_median_us} µs, P99 ${r.features_p99_us} µs\n` +
          `  ob+tr hashes   median ${r.projection_median_us} µs, P99 ${r.projection_p99_us} µs\n` +
          `  RSS            ${r.rss_mb} MB\n`,
      );
    }
    return r;
  },
};
