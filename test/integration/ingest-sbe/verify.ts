/**
 * Checks of what a plain Kinesis reader got back against the simulator's truth and the gaps the
 * ingestor reported: nothing lost except inside a reported gap, nothing duplicated, per-shard order kept.
 */
import { expect } from 'vitest';
import { normalizeDecimal } from '../../../src/core/decimal.js';
import type { SequenceGap } from '../../../src/services/ingest-sbe-pipeline.js';
import { truthTrades } from './harness.js';

export interface StreamNames {
  trade: string;
  bestbidask: string;
  depth: string;
}

export interface VerifyResult {
  trades: number;
  tradesInGaps: number;
  depth: number;
  depthGaps: number;
  bestBidAsk: number;
}

type Ev = Record<string, unknown>;

function gapsOf(gaps: SequenceGap[], symbol: string, stream: string): SequenceGap[] {
  return gaps.filter((g) => g.symbol === symbol && g.stream === stream);
}

export async function verifyAgainstTruth(opts: {
  restUrl: string;
  symbol: string;
  trades: Ev[];
  depth: Ev[];
  bestBidAsk: Ev[];
  gaps: SequenceGap[];
}): Promise<VerifyResult> {
  const { symbol } = opts;
  for (const e of [...opts.trades, ...opts.depth, ...opts.bestBidAsk]) {
    expect(e.symbol).toBe(symbol);
    expect(e.source).toBe('sbe');
    expect(typeof e.recv_ts_us).toBe('number');
  }

  // Trades: strictly increasing ids (order kept, no duplicate) and, against the truth, every id either
  // delivered (with the venue's price and quantity) or inside a gap the ingestor reported.
  const ids = opts.trades.map((t) => t.trade_id as number);
  for (let i = 1; i < ids.length; i++) expect(ids[i], `trade order at ${i}`).toBeGreaterThan(ids[i - 1]);
  expect(ids.length).toBeGreaterThan(0);
  const first = ids[0];
  const last = ids[ids.length - 1];
  const truth = await truthTrades(opts.restUrl, symbol, first, last);
  expect(truth.length).toBe(last - first + 1);
  const inGap = new Set<number>();
  for (const g of gapsOf(opts.gaps, symbol, 'trade')) for (let id = g.expected; id < g.got; id++) inGap.add(id);
  const byId = new Map(opts.trades.map((t) => [t.trade_id as number, t]));
  for (const t of truth) {
    const got = byId.get(t.id);
    if (got) {
      expect(inGap.has(t.id), `trade ${t.id} delivered but reported missing`).toBe(false);
      expect(normalizeDecimal(got.price as string)).toBe(normalizeDecimal(t.price));
      expect(normalizeDecimal(got.quantity as string)).toBe(normalizeDecimal(t.qty));
    } else {
      expect(inGap.has(t.id), `trade ${t.id} lost without a reported gap`).toBe(true);
    }
  }

  // Depth diffs: each chains onto the previous one (U = previous u + 1) unless the ingestor reported
  // exactly that gap; u strictly increases (no duplicate).
  const depthGaps = gapsOf(opts.gaps, symbol, 'depth');
  const gapAt = new Map(depthGaps.map((g) => [`${g.expected}:${g.got}`, g]));
  let chainedGaps = 0;
  for (let i = 1; i < opts.depth.length; i++) {
    const prevU = opts.depth[i - 1].final_update_id as number;
    const U = opts.depth[i].first_update_id as number;
    const u = opts.depth[i].final_update_id as number;
    expect(u, `depth order at ${i}`).toBeGreaterThan(prevU);
    if (U !== prevU + 1) {
      expect(gapAt.has(`${prevU + 1}:${U}`), `depth break ${prevU} → ${U} without a reported gap`).toBe(true);
      chainedGaps++;
    }
  }

  const seq = opts.bestBidAsk.map((e) => e.sequence_id as number);
  for (let i = 1; i < seq.length; i++) expect(seq[i], `bestBidAsk order at ${i}`).toBeGreaterThan(seq[i - 1]);

  return { trades: ids.length, tradesInGaps: inGap.size, depth: opts.depth.length, depthGaps: chainedGaps, bestBidAsk: seq.length };
}
