/**
 * `btcpipe replay`: a /api/v3/depth snapshot + recorded stream payloads (JSON lines, or hex SBE frames with
 * --sbe) → one JSON object with the book, the 1 s / 5 s windows, the features, gaps and counts. Bad lines are
 * reported in "errors" with their line number and never stop the replay.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { depthSnapshotFromRest, parseJsonLine } from '../../binance/json-events.js';
import { decodeFrame } from '../../binance/sbe-decode.js';
import type { MarketEvent } from '../../core/events.js';
import { ReplayError, runReplay, type ReplayLine, type ReplayResult } from '../../core/replay.js';

const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;

function sbeLine(text: string): MarketEvent[] {
  const hex = text.replace(/\s+/g, '');
  if (!HEX_RE.test(hex)) throw new ReplayError(`not an even-length hex string (${hex.length} chars)`);
  return decodeFrame(Uint8Array.from(Buffer.from(hex, 'hex')));
}

/** Split a recording into per-line events or errors (blank lines are ignored). */
export function parseRecording(text: string, sbe: boolean): ReplayLine[] {
  const out: ReplayLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    try {
      out.push({ line: i + 1, events: sbe ? sbeLine(line) : parseJsonLine(line) });
    } catch (err) {
      out.push({ line: i + 1, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

export interface ReplayFiles {
  snapshotText?: string;
  eventsText: string;
  sbe: boolean;
  depth: number;
  symbol?: string;
}

/** The whole command minus file I/O (tests call this). Throws ReplayError for a bad snapshot or no symbol. */
export function replayFromText(f: ReplayFiles): ReplayResult {
  const lines = parseRecording(f.eventsText, f.sbe);
  let snapshot: { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] } | undefined;
  let symbol = f.symbol;
  if (symbol === undefined) {
    for (const l of lines) if ('events' in l && l.events.length > 0) { symbol = l.events[0].symbol; break; }
  }
  if (f.snapshotText !== undefined) {
    if (symbol === undefined) throw new ReplayError('--symbol is required: no event in --events names a symbol');
    let body: unknown;
    try {
      body = JSON.parse(f.snapshotText);
    } catch (err) {
      throw new ReplayError(`--snapshot is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const ev = depthSnapshotFromRest(symbol, body, 0);
      snapshot = { lastUpdateId: ev.last_update_id, bids: ev.bids, asks: ev.asks };
    } catch (err) {
      throw new ReplayError(`--snapshot is not a /api/v3/depth response: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return runReplay({ symbol, snapshot, lines, depth: f.depth });
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ReplayError(`--depth must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('rebuild book, trade windows and features from a depth snapshot and recorded stream events')
    .option('--snapshot <file>', 'a GET /api/v3/depth JSON response')
    .requiredOption('--events <file>', 'recorded payloads, one per line: Binance JSON (bare or {"stream","data"}), or hex SBE frames with --sbe')
    .option('--sbe', 'the events file holds hex-encoded SBE frames, one per line', false)
    .option('--depth <n>', 'book levels per side in the output', positiveInt, 10)
    .option('--symbol <symbol>', 'symbol (needed when no event names it)')
    .action(async (opts: { snapshot?: string; events: string; sbe: boolean; depth: number; symbol?: string }) => {
      const [snapshotText, eventsText] = await Promise.all([
        opts.snapshot === undefined ? undefined : readFile(opts.snapshot, 'utf8'),
        readFile(opts.events, 'utf8'),
      ]);
      const result = replayFromText({ snapshotText, eventsText, sbe: opts.sbe, depth: opts.depth, symbol: opts.symbol?.toUpperCase() });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}
