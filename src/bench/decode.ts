/**
 * Bench section "decode": median ns per message from the wire to the event the aggregator core consumes
 * (a fixed-point CoreEvent): SBE frame → decodeFrameCore against Binance's JSON text → JSON.parse →
 * parseJsonLineCore, measured in the same run, for 1-trade TradesStreamEvents vs `trade`, BestBidAsk vs
 * `bookTicker`, and 20-level depth diffs (10 bids + 10 asks) vs `depthUpdate`. Both paths yield the same
 * events (test/unit/bench).
 *
 * Each case runs over a corpus of distinct frames from a seeded simulator run (a drifting price on a
 * 0.01 tick, realistic quantities), never one frame in a loop. Every round decodes the first half of the
 * corpus untimed (the recent past of a live stream), then times the second half in order; the JSON path is
 * timed on the same second half.
 */
import { decodeFrameCore } from '../binance/sbe-decode.js';
import type { CoreEvent } from '../core/fixed-events.js';
import { parseJsonLineCore } from '../binance/json-events.js';
import { MarketEngine, type EngineEvent } from '../sim/engine.js';
import { REST_DECIMALS, fixedDecimal, symbolSpec } from '../sim/symbols.js';
import { WireEncoder } from '../sim/wire.js';
import type { BenchSection } from './index.js';
import { consume } from './timing.js';

export interface DecodeCase {
  sbe_ns_per_msg: number;
  json_ns_per_msg: number;
  /** json / sbe: how many times faster the SBE path is. */
  ratio: number;
  /** The same by CPU time (process.cpuUsage): steadier than wall time on a machine other work shares. */
  sbe_cpu_ns_per_msg: number;
  json_cpu_ns_per_msg: number;
  cpu_ratio: number;
  /** Distinct frames the case cycles through. */
  corpus_frames: number;
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
  for (const c of Object.values(out)) c.frames = packed(c.frames);
  return out;
}

/**
 * The frames copied back to back into one buffer, each a view onto it: what a WebSocket client hands
 * out for messages that arrived together (slices of one socket read), rather than one heap allocation
 * per frame scattered over memory.
 */
function packed(frames: Uint8Array[]): Uint8Array[] {
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  return frames.map((f) => {
    all.set(f, at);
    at += f.length;
    return all.subarray(at - f.length, at);
  });
}

/** Frames per case; each timed round replays the second half of a corpus in order after the first half. */
const CORPUS_SIZES: Record<DecodeCaseName, number> = { trade: 65_536, bestBidAsk: 65_536, depth: 8192 };
const QUICK_CORPUS_SIZES: Record<DecodeCaseName, number> = { trade: 16_384, bestBidAsk: 16_384, depth: 2048 };

const round1 = (x: number): number => Math.round(x * 10) / 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** CPU ns (this process, all threads: GC included) per item of the last timePass. */
let lastCpuNs = 0;

/** Wall ns per item of `fn` over items[from..to), once; its CPU ns per item in lastCpuNs. */
function timePass<T>(items: T[], from: number, to: number, fn: (item: T) => unknown): number {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = from; i < to; i++) consume(fn(items[i]));
  const wall = Number(process.hrtime.bigint() - t0) / (to - from);
  const c = process.cpuUsage(c0);
  lastCpuNs = ((c.user + c.system) * 1000) / (to - from);
  return wall;
}

/**
 * Allocates and drops enough short-lived objects for a few young-generation collections, so that what the
 * warm-up pass left young is not copied at the timed pass's expense.
 */
function settleYoungGeneration(): void {
  let keep = 0;
  for (let i = 0; i < 65_536; i++) keep += new Array<number>(128).fill(i).length;
  consume(keep);
}

export async function runDecodeBench(quick: boolean): Promise<DecodeBenchResult> {
  const rounds = quick ? 7 : 21;
  const corpus = decodeCorpus(quick ? QUICK_CORPUS_SIZES : CORPUS_SIZES);
  const recv = START_US + 500;
  const sbe = (frame: Uint8Array): CoreEvent[] => decodeFrameCore(frame, recv);
  const json = (line: string): CoreEvent[] => parseJsonLineCore(line, recv);
  const result = {} as DecodeBenchResult;
  for (const name of ['trade', 'bestBidAsk', 'depth'] as const) {
    const { frames, json: lines } = corpus[name];
    const half = frames.length >> 1;
    const sbeNs: number[] = [];
    const jsonNs: number[] = [];
    const sbeCpu: number[] = [];
    const jsonCpu: number[] = [];
    // Round 0 only warms the JIT.
    for (let r = 0; r <= rounds; r++) {
      timePass(frames, 0, half, sbe);
      settleYoungGeneration();
      const ns = timePass(frames, half, frames.length, sbe);
      const nsCpu = lastCpuNs;
      const js = timePass(lines, half, lines.length, json);
      const jsCpu = lastCpuNs;
      if (r === 0) continue;
      sbeNs.push(ns);
      jsonNs.push(js);
      sbeCpu.push(nsCpu);
      jsonCpu.push(jsCpu);
      // Yield between rounds so a long bench does not starve the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const sbeMedian = median(sbeNs);
    const jsonMedian = median(jsonNs);
    result[name] = {
      sbe_ns_per_msg: round1(sbeMedian),
      json_ns_per_msg: round1(jsonMedian),
      ratio: round1(jsonMedian / sbeMedian),
      sbe_cpu_ns_per_msg: round1(median(sbeCpu)),
      json_cpu_ns_per_msg: round1(median(jsonCpu)),
      cpu_ratio: round1(median(jsonCpu) / median(sbeCpu)),
      corpus_frames: frames.length,
    };
  }
  return result;
}

export function formatDecodeTable(r: DecodeBenchResult): string {
  const rows = [['message', 'sbe ns/msg', 'json ns/msg', 'json/sbe', 'sbe cpu ns', 'json cpu ns', 'cpu json/sbe', 'frames']];
  for (const [name, c] of Object.entries(r)) {
    rows.push([
      name,
      String(c.sbe_ns_per_msg),
      String(c.json_ns_per_msg),
      `${c.ratio}×`,
      String(c.sbe_cpu_ns_per_msg),
      String(c.json_cpu_ns_per_msg),
      `${c.cpu_ratio}×`,
      String(c.corpus_frames),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

export const decodeSection: BenchSection = {
  name: 'decode',
  async run({ json, quick }) {
    const result = await runDecodeBench(quick);
    if (!json) process.stdout.write(`wire → the core's fixed-point event, median per message over in-order passes of distinct simulated frames\n${formatDecodeTable(result)}\n`);
    return result;
  },
};
