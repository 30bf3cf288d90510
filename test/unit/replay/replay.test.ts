import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseRecording, replayFromText } from '../../../src/cli/commands/replay.js';
import { ReplayError, runReplay } from '../../../src/core/replay.js';
import { SymbolState } from '../../../src/core/symbol-state.js';
import type { MarketEvent } from '../../../src/core/events.js';
import { encodeEventFrame } from '../../../src/binance/sbe-encode.js';
import { generateMarket } from '../core/market-gen.js';
import { RefBook } from '../core/reference.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/replay/${name}`, import.meta.url)), 'utf8');

/** Binance JSON stream payload for a normalized event (event times in ms). */
function wire(ev: MarketEvent): unknown {
  const E = ev.event_ts / 1000;
  switch (ev.type) {
    case 'depth':
      return { e: 'depthUpdate', E, s: ev.symbol, U: ev.first_update_id, u: ev.final_update_id, b: ev.bids, a: ev.asks };
    case 'trade':
      return { e: 'trade', E, s: ev.symbol, t: ev.trade_id, p: ev.price, q: ev.quantity, T: E, m: ev.is_buyer_maker, M: true };
    case 'bestBidAsk':
      return { e: 'bookTicker', E, u: ev.sequence_id, s: ev.symbol, b: ev.bid_price, B: ev.bid_quantity, a: ev.ask_price, A: ev.ask_quantity };
    default:
      throw new Error(`no wire form for ${ev.type}`);
  }
}

/** A synthetic market with event times on whole milliseconds (JSON carries ms). */
function msMarket(seed: number, events: number) {
  const m = generateMarket(seed, { events, maxStepUs: 300_000 });
  for (const ev of m.events) ev.event_ts = Math.floor(ev.event_ts / 1000) * 1000;
  return m;
}

describe('replay', () => {
  it('reproduces the book of the committed recording (duplicates skipped, bad lines reported)', () => {
    const snapshotText = fixture('btcusdt-snapshot.json');
    const eventsText = fixture('btcusdt-events.jsonl');
    const r = replayFromText({ snapshotText, eventsText, sbe: false, depth: 5 });

    // Naive reference: the snapshot, then every depthUpdate in the file that follows it, once.
    const snap = JSON.parse(snapshotText) as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
    const ref = RefBook.from(snap);
    const diffsSeen = new Set<number>();
    for (const line of eventsText.split('\n')) {
      let p: { data?: unknown; e?: string; u?: number; U?: number; b?: [string, string][]; a?: [string, string][] };
      try {
        p = JSON.parse(line) as typeof p;
      } catch {
        continue;
      }
      const d = (p.data ?? p) as typeof p;
      if (d.e !== 'depthUpdate' || d.u === undefined || diffsSeen.has(d.u) || d.u <= ref.lastUpdateId) continue;
      diffsSeen.add(d.u);
      ref.applyDiff({ final_update_id: d.u, bids: d.b ?? [], asks: d.a ?? [] });
    }
    const want = ref.levels();
    expect(r.book).toEqual({ symbol: 'BTCUSDT', last_update_id: ref.lastUpdateId, status: 'live', bids: want.bids.slice(0, 5), asks: want.asks.slice(0, 5) });
    expect(r.gaps).toEqual([]);
    expect(r.errors.map((e) => e.line)).toEqual([21, 26]);
    expect(r.errors[0].message).toMatch(/not JSON/);
    expect(r.errors[1].message).toMatch(/unsupported event type "kline"/);
    expect(r.skipped).toBe(1);
    expect(r.skipped_by_reason).toEqual({ duplicate: 1 }); // line 11 re-delivers the trade of line 5
    expect(r.applied).toBe(36);
    expect(Number(r.tr_5s.count)).toBeGreaterThan(0);
    expect(r.features.data_age_ms).toBe(0);
    for (const v of Object.values(r.features)) expect(Number.isFinite(v)).toBe(true);
  });

  it('equals the live core fed the same events, and SBE frames give the same answer as JSON', () => {
    const m = msMarket(314, 400);
    const jsonText = m.events.map((ev, i) => JSON.stringify(i % 2 ? wire(ev) : { stream: 's', data: wire(ev) })).join('\n');
    const snapshotText = JSON.stringify(m.snapshot);
    const r = replayFromText({ snapshotText, eventsText: jsonText, sbe: false, depth: 10 });

    const st = new SymbolState(m.symbol);
    st.loadSnapshot(m.snapshot, m.events[0].event_ts);
    for (const ev of m.events) st.apply(ev);
    const truth = m.truth[m.truth.length - 1].levels();
    expect(r.book.bids).toEqual(truth.bids.slice(0, 10));
    expect(r.book.asks).toEqual(truth.asks.slice(0, 10));
    expect(r.book.last_update_id).toBe(m.diffs[m.diffs.length - 1].final_update_id);
    expect(r.tr_1s).toEqual(st.trHash(1));
    expect(r.tr_5s).toEqual(st.trHash(5));
    expect(r.features).toEqual(st.features(st.now / 1000));
    expect(r.applied).toBe(m.events.length);

    const hex = m.events.map((ev) => Buffer.from(encodeEventFrame(ev)).toString('hex')).join('\n');
    const rs = replayFromText({ snapshotText, eventsText: hex, sbe: true, depth: 10 });
    expect(rs).toEqual(r);
  });

  it('reports a gap when a diff is missing from the recording', () => {
    const m = msMarket(8, 120);
    const lost = m.diffs[5];
    const events = m.events.filter((ev) => ev !== lost);
    const r = replayFromText({ snapshotText: JSON.stringify(m.snapshot), eventsText: events.map((ev) => JSON.stringify(wire(ev))).join('\n'), sbe: false, depth: 3 });
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0]).toMatchObject({ reason: 'gap', symbol: m.symbol, lastUpdateId: m.diffs[4].final_update_id, firstUpdateId: m.diffs[6].first_update_id });
    expect(r.book.status).toBe('resyncing');
    expect(r.book.last_update_id).toBe(m.diffs[4].final_update_id);
    expect(r.buffered).toBe(m.diffs.length - 6);
  });

  it('needs a symbol only when no event names one, and rejects a bad snapshot clearly', () => {
    const snap = JSON.stringify({ lastUpdateId: 7, bids: [['1.00', '2.00']], asks: [['1.50', '1.00']] });
    expect(() => replayFromText({ snapshotText: snap, eventsText: '\n', sbe: false, depth: 10 })).toThrow(ReplayError);
    const r = replayFromText({ snapshotText: snap, eventsText: '', sbe: false, depth: 10, symbol: 'ABC' });
    expect(r.book).toEqual({ symbol: 'ABC', last_update_id: 7, status: 'live', bids: [['1', '2']], asks: [['1.5', '1']] });
    expect(() => replayFromText({ snapshotText: '{', eventsText: '', sbe: false, depth: 10, symbol: 'ABC' })).toThrow(/--snapshot is not JSON/);
    expect(() => replayFromText({ snapshotText: '{"bids":[]}', eventsText: '', sbe: false, depth: 10, symbol: 'ABC' })).toThrow(/not a \/api\/v3\/depth response/);
    expect(() => runReplay({ lines: [], depth: 0, symbol: 'A' })).toThrow(/depth must be a positive integer/);
  });

  it('turns undecodable SBE lines into errors with line numbers', () => {
    const lines = parseRecording('zz\n\n00ff\n', true);
    expect(lines.map((l) => l.line)).toEqual([1, 3]);
    expect(lines.every((l) => 'error' in l)).toBe(true);
  });

  it('runs as `btcpipe replay` and prints one JSON object', () => {
    const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
    const out = execFileSync(
      process.execPath,
      [fileURLToPath(new URL('../../../node_modules/vite-node/vite-node.mjs', import.meta.url)), main, 'replay', '--snapshot', fileURLToPath(new URL('../../fixtures/replay/btcusdt-snapshot.json', import.meta.url)), '--events', fileURLToPath(new URL('../../fixtures/replay/btcusdt-events.jsonl', import.meta.url)), '--depth', '2'],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const r = JSON.parse(out.trim().split('\n').pop() as string) as { book: { bids: unknown[]; status: string }; errors: unknown[] };
    expect(r.book.status).toBe('live');
    expect(r.book.bids).toHaveLength(2);
    expect(r.errors).toHaveLength(2);
  });
});
