/**
 * Bench section "decode": median ns per message of SBE decode + normalize (decodeFrame) against
 * JSON.parse + normalize (parseJsonLine) of the equivalent Binance JSON, measured in the same run, for a
 * 1-trade TradesStreamEvent vs `trade`, BestBidAsk vs `bookTicker`, and a 20-level depth diff (10 bids +
 * 10 asks) vs `depthUpdate`.
 */
import { decodeFrame } from '../binance/sbe-decode.js';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeTradesFrame } from '../binance/sbe-encode.js';
import { parseJsonLine } from '../binance/json-events.js';
import type { BenchSection } from './index.js';
import { medianNsPerOp } from './timing.js';

export interface DecodeCase {
  sbe_ns_per_msg: number;
  json_ns_per_msg: number;
  /** json / sbe: how many times faster the SBE path is. */
  ratio: number;
}

export type DecodeBenchResult = Record<'trade' | 'bestBidAsk' | 'depth', DecodeCase>;

const SYMBOL = 'BTCUSDT';
const E_MS = 1_763_700_000_123;

function levels(base: number, step: number): [string, string][] {
  return Array.from({ length: 10 }, (_, i) => [(base + i * step).toFixed(2), (0.00123 * (i + 1)).toFixed(8)]);
}

/** Wire-equivalent pairs: the SBE frame and the JSON text Binance sends for the same event. */
function fixtures(): Record<keyof DecodeBenchResult, { frame: Uint8Array; json: string }> {
  const bids = levels(98_000, -0.01);
  const asks = levels(98_000.01, 0.01);
  return {
    trade: {
      frame: encodeTradesFrame({
        symbol: SYMBOL,
        eventTimeUs: E_MS * 1000,
        transactTimeUs: E_MS * 1000 - 1000,
        priceExponent: -8,
        qtyExponent: -8,
        trades: [{ id: 5_123_456_789, price: '98000.01000000', qty: '0.00123000', isBuyerMaker: true }],
      }),
      json: JSON.stringify({ e: 'trade', E: E_MS, s: SYMBOL, t: 5_123_456_789, p: '98000.01000000', q: '0.00123000', T: E_MS - 1, m: true, M: true }),
    },
    bestBidAsk: {
      frame: encodeBestBidAskFrame({
        symbol: SYMBOL,
        eventTimeUs: E_MS * 1000,
        bookUpdateId: 77_000_000_123,
        priceExponent: -8,
        qtyExponent: -8,
        bidPrice: '98000.00',
        bidQty: '1.25000000',
        askPrice: '98000.01',
        askQty: '0.5',
      }),
      json: JSON.stringify({ u: 77_000_000_123, s: SYMBOL, b: '98000.00000000', B: '1.25000000', a: '98000.01000000', A: '0.50000000' }),
    },
    depth: {
      frame: encodeDepthDiffFrame({
        symbol: SYMBOL,
        eventTimeUs: E_MS * 1000,
        firstBookUpdateId: 77_000_000_100,
        lastBookUpdateId: 77_000_000_123,
        priceExponent: -8,
        qtyExponent: -8,
        bids,
        asks,
      }),
      json: JSON.stringify({
        e: 'depthUpdate',
        E: E_MS,
        s: SYMBOL,
        U: 77_000_000_100,
        u: 77_000_000_123,
        b: bids.map(([p, q]) => [Number(p).toFixed(8), q]),
        a: asks.map(([p, q]) => [Number(p).toFixed(8), q]),
      }),
    },
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export async function runDecodeBench(quick: boolean): Promise<DecodeBenchResult> {
  const opts = quick ? { rounds: 7, opsPerRound: 20_000, warmupOps: 20_000 } : { rounds: 21, opsPerRound: 100_000, warmupOps: 200_000 };
  const f = fixtures();
  const recv = E_MS * 1000 + 500;
  const result = {} as DecodeBenchResult;
  for (const name of ['trade', 'bestBidAsk', 'depth'] as const) {
    const { frame, json } = f[name];
    const sbe = medianNsPerOp(() => decodeFrame(frame, recv), opts);
    const js = medianNsPerOp(() => parseJsonLine(json, recv), opts);
    result[name] = { sbe_ns_per_msg: round1(sbe), json_ns_per_msg: round1(js), ratio: round1(js / sbe) };
    // Yield between cases so a long bench does not starve the event loop.
    await new Promise((r) => setImmediate(r));
  }
  return result;
}

export function formatDecodeTable(r: DecodeBenchResult): string {
  const rows = [['message', 'sbe ns/msg', 'json ns/msg', 'json/sbe']];
  for (const [name, c] of Object.entries(r)) rows.push([name, String(c.sbe_ns_per_msg), String(c.json_ns_per_msg), `${c.ratio}×`]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

export const decodeSection: BenchSection = {
  name: 'decode',
  async run({ json, quick }) {
    const result = await runDecodeBench(quick);
    if (!json) process.stdout.write(`decode + normalize, median per message\n${formatDecodeTable(result)}\n`);
    return result;
  },
};
