/**
 * Bench section "decode": median ns per message of SBE decode + normalize (decodeFrame) against
 * JSON.parse + normalize (parseJsonLine) of the equivalent Binance JSON, measured in the same run, for
 * 1-trade TradesStreamEvents vs `trade`, BestBidAsk vs `bookTicker`, and 20-level depth diffs (10 bids +
 * 10 asks) vs `depthUpdate`.
 *
 * Each case cycles through a corpus of distinct frames taken from a seeded simulator run (a drifting
 * price on a 0.01 tick, realistic quantities and their repetition), never one frame in a loop: the
 * decoder caches decimal strings, and one repeated frame would make that cache hit every time. The cache
 * hit rate seen while timing is reported next to each figure.
 */
import { decodeFrame } from '../binance/sbe-decode.js';
import type { MarketEvent } from '../core/events.js';
import { parseJsonLine } from '../binance/json-events.js';
import { decimalCache } from '../sbe/decimal-cache.js';
import { MarketEngine, type EngineEvent } from '../sim/engine.js';
import { REST_DECIMALS, fixedDecimal, symbolSpec } from '../sim/symbols.js';
import { WireEncoder } from '../sim/wire.js';
import type { BenchSection } from './index.js';
import { consume, medianNsPerOp } from './timing.js';

export interface DecodeCase {
  sbe_ns_per_msg: number;
  json_ns_per_msg: number;
  /** json / sbe: how many times faster the SBE path is. */
  ratio: number;
  /** Distinct frames the case cycles through. */
  corpus_frames: number;
  /** Share of decimal strings the SBE decoder served from its cache during the timed rounds (0..1). */
  decimal_cache_hit_rate: number;
  /** The same share for one in-order pass over the second half of the corpus after the first half. */
  stream_hit_rate: number;
}

export type DecodeCaseName = 'trade' | 'bestBidAsk' | 'depth';
export type DecodeBenchResult = Record<DecodeCaseName, DecodeCase>;

/** Wire-equivalent pairs: the SBE frames and the JSON texts Binance sends for the same events. */
export interface DecodeCorpus {
  frames: Uint8Array[];
  json: string[];
}

const SYMBOL = 'BTCUSDT';
const START_US = 1_763_700_000_000_000;
const DEPTH_LEVELS = 10;

/**
 * A seeded BTCUSDT market run turned into `sizes[case]` frames per case. Times are whole
 * milliseconds so that the JSON (ms) and SBE (µs) texts describe identical events. A trade event with
 * several fills becomes several 1-trade frames; a depth diff is cut to its first 10 bids and 10 asks
 * (diffs with fewer levels on a side are skipped).
 */
export function decodeCorpus(sizes: Record<DecodeCaseName, number>, seed = 7): Record<DecodeCaseName, DecodeCorpus> {
  const spec = symbolSpec(SYMBOL);
  const wire = new WireEncoder(spec);
  const engine = new MarketEngine({ spec, seed, startTimeUs: START_US, ratePerSec: 500 });
  const price = (ticks: number): string => fixedDecimal(ticks, spec.tickDecimals, REST_DECIMALS);
  const qty = (lots: number): string => fixedDecimal(lots, spec.lotDecimals, REST_DECIMALS);
  const levels = (ls: Array<[number, number]>): [string, string][] => ls.map(([p, q]) => [price(p), qty(q)]);
  const out: Record<DecodeCaseName, DecodeCorpus> = {
    trade: { frames: [], json: [] },
    bestBidAsk: { frames: [], json: [] },
    depth: { frames: [], json: [] },
  };
  const add = (name: DecodeCaseName, ev: EngineEvent, json: object): void => {
    if (out[name].frames.length >= sizes[name]) return;
    out[name].frames.push(wire.encode(ev));
    out[name].json.push(JSON.stringify(json));
  };
  const full = (): boolean => out.trade.frames.length >= sizes.trade && out.bestBidAsk.frames.length >= sizes.bestBidAsk && out.depth.frames.length >= sizes.depth;
  for (let t = START_US + 1_000_000; !full(); t += 1_000_000) {
    if (t > START_US + 3600 * 1_000_000) throw new Error(`the simulated hour did not yield ${JSON.stringify(sizes)} frames`);
    for (const ev of engine.advance(t)) {
      const ms = Math.floor(ev.timeUs / 1000);
      const timeUs = ms * 1000;
      if (ev.kind === 'trade') {
        for (const tr of ev.trades) {
          add('trade', { kind: 'trade', timeUs, trades: [tr] }, { e: 'trade', E: ms, s: SYMBOL, t: tr.id, p: price(tr.price), q: qty(tr.qty), T: ms, m: tr.isBuyerMaker, M: true });
        }
      } else if (ev.kind === 'bestBidAsk') {
        add('bestBidAsk', { ...ev, timeUs }, { u: ev.updateId, s: SYMBOL, b: price(ev.bidPrice), B: qty(ev.bidQty), a: price(ev.askPrice), A: qty(ev.askQty) });
      } else if (ev.kind === 'depth' && ev.bids.length >= DEPTH_LEVELS && ev.asks.length >= DEPTH_LEVELS) {
        const bids = ev.bids.slice(0, DEPTH_LEVELS);
        const asks = ev.asks.slice(0, DEPTH_LEVELS);
        add('depth', { ...ev, timeUs, bids, asks }, { e: 'depthUpdate', E: ms, s: SYMBOL, U: ev.firstUpdateId, u: ev.lastUpdateId, b: levels(bids), a: levels(asks) });
      }
    }
  }
  return out;
}

/**
 * Frames per case, powers of two. Trades and best bid/ask repeat few distinct decimals, so their corpora
 * are long enough that cycling through them hits the cache no more often than one long live stream does
 * (measured: a single in-order pass over a longer run gives the same rate); a depth corpus holds far more
 * distinct values than the cache already.
 */
const CORPUS_SIZES: Record<DecodeCaseName, number> = { trade: 65_536, bestBidAsk: 65_536, depth: 8192 };

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * The hit rate one long in-order stream gets: a fresh cache warmed on the first half of the corpus, then
 * counted over the second half. The timed loop cycles the corpus instead; both are reported so that a
 * cycle-inflated rate would show.
 */
function streamHitRate(frames: Uint8Array[]): number {
  decimalCache.clear();
  const half = frames.length >> 1;
  for (let i = 0; i < half; i++) decodeFrame(frames[i]);
  decimalCache.resetStats();
  for (let i = half; i < frames.length; i++) decodeFrame(frames[i]);
  const { hits, misses } = decimalCache.stats();
  return hits / Math.max(1, hits + misses);
}

export async function runDecodeBench(quick: boolean): Promise<DecodeBenchResult> {
  const opts = quick ? { rounds: 7, opsPerRound: 20_000, warmupOps: 20_000 } : { rounds: 21, opsPerRound: 100_000, warmupOps: 200_000 };
  const corpus = decodeCorpus(CORPUS_SIZES);
  const recv = START_US + 500;
  const result = {} as DecodeBenchResult;
  for (const name of ['trade', 'bestBidAsk', 'depth'] as const) {
    const { frames, json } = corpus[name];
    const mask = frames.length - 1;
    const streamRate = streamHitRate(frames);
    // Each case starts from an empty cache; the warm-up fills it, and the count covers the timed rounds.
    decimalCache.clear();
    let i = 0;
    let j = 0;
    const sbe = (): MarketEvent[] => decodeFrame(frames[i++ & mask], recv);
    for (let k = 0; k < opts.warmupOps; k++) consume(sbe());
    decimalCache.resetStats();
    const sbeNs = medianNsPerOp(sbe, { ...opts, warmupOps: 0 });
    const { hits, misses } = decimalCache.stats();
    const js = medianNsPerOp(() => parseJsonLine(json[j++ & mask], recv), opts);
    result[name] = {
      sbe_ns_per_msg: round1(sbeNs),
      json_ns_per_msg: round1(js),
      ratio: round1(js / sbeNs),
      corpus_frames: frames.length,
      decimal_cache_hit_rate: round3(hits / Math.max(1, hits + misses)),
      stream_hit_rate: round3(streamRate),
    };
    // Yield between cases so a long bench does not starve the event loop.
    await new Promise((r) => setImmediate(r));
  }
  return result;
}

export function formatDecodeTable(r: DecodeBenchResult): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const rows = [['message', 'sbe ns/msg', 'json ns/msg', 'json/sbe', 'cache hits', 'in-order hits', 'frames']];
  for (const [name, c] of Object.entries(r)) {
    rows.push([name, String(c.sbe_ns_per_msg), String(c.json_ns_per_msg), `${c.ratio}×`, pct(c.decimal_cache_hit_rate), pct(c.stream_hit_rate), String(c.corpus_frames)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

export const decodeSection: BenchSection = {
  name: 'decode',
  async run({ json, quick }) {
    const result = await runDecodeBench(quick);
    if (!json) process.stdout.write(`decode + normalize, median per message over a corpus of distinct simulated frames\n${formatDecodeTable(result)}\n`);
    return result;
  },
};
