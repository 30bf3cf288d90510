import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateRecords } from '../../../src/kinesis/deaggregate.js';
import { tallyRecord, type TradeTally } from '../../../src/chaos/kinesis-reader.js';
import { encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';
import {
  attributeToFaults,
  buildReport,
  classifySample,
  emptyLogFacts,
  foldLogLine,
  formatReport,
  idCompleteness,
  countIds,
  percentile,
  summarizeSamples,
  type ChaosInput,
  type Sample,
  type TruthBookView,
} from '../../../src/chaos/report.js';
import { buildSchedule, FAULT_KINDS, poisonRecords, venueFaultSpec } from '../../../src/chaos/schedule.js';

const TRUTH: TruthBookView = { lastUpdateId: 7, bids: [['100.00000000', '1.50000000'], ['99.99000000', '2.00000000']], asks: [['100.01000000', '0.10000000']] };

function ob(o: Record<string, string>): Record<string, string> {
  return { status: 'live', last_update_id: '7', ts_us: String(1_000_000 * 1000), bid1_p: '100', bid1_q: '1.5', bid2_p: '99.99', bid2_q: '2', ask1_p: '100.01', ask1_q: '0.1', ...o };
}

describe('samples', () => {
  it('a live book equal to the truth (any decimal spelling) matches; one differing level is live-but-wrong', () => {
    expect(classifySample(1_000_000, 'BTCUSDT', ob({}), TRUTH, 10)).toMatchObject({ state: 'live', matches: true, lastUpdateId: 7, tsMs: 1_000_000 });
    const wrong = classifySample(1_000_000, 'BTCUSDT', ob({ bid2_q: '2.1' }), TRUTH, 10);
    expect(wrong.matches).toBe(false);
    expect(wrong.mismatch).toBe('bid2: 99.99@2.1 != 99.99000000@2.00000000');
    expect(classifySample(1, 'B', ob({ ask2_p: '100.02', ask2_q: '1' }), TRUTH, 10).mismatch).toBe('ask2: 100.02 but the venue has no level');
  });

  it('states: resyncing, no key, no answer; no truth = unverifiable', () => {
    const resyncing = classifySample(1, 'B', ob({ status: 'resyncing' }), TRUTH, 10);
    expect([resyncing.state, resyncing.matches]).toEqual(['resyncing', undefined]);
    expect(classifySample(1, 'B', ob({ status: 'stale' }), TRUTH, 10).state).toBe('stale');
    expect(classifySample(1, 'B', {}, undefined, 10).state).toBe('absent');
    expect(classifySample(1, 'B', undefined, undefined, 10).state).toBe('unreachable');
    expect(classifySample(1, 'B', ob({}), null, 10).matches).toBeUndefined();
  });

  it('summary: wrong, stale, longest not-live, stall outside planned outages', () => {
    const s = (atMs: number, state: Sample['state'], id: number | undefined, extra: Partial<Sample> = {}): Sample => ({ atMs, symbol: 'B', state, lastUpdateId: id, tsMs: atMs - 100, matches: state === 'live' ? true : undefined, ...extra });
    const list: Sample[] = [
      s(0, 'live', 1),
      s(100, 'live', 2, { matches: false, mismatch: 'x' }),
      s(200, 'resyncing', 2),
      s(300, 'unreachable', undefined),
      s(900, 'live', 3, { tsMs: 900 - 5000 }),
      // no new id from 900 to 40 900: a stall of 40 s, unless planned
      s(40_900, 'live', 4),
    ];
    const sum = summarizeSamples(list, 3000, []);
    expect(sum).toMatchObject({ total: 6, live: 4, resyncing: 1, notLiveOther: 1, liveWrong: 1, liveStale: 1, longestNotLiveMs: 700, longestStallMs: 40_000 });
    expect(summarizeSamples(list, 3000, [{ fromMs: 10_000, toMs: 20_000 }]).longestStallMs).toBe(800);
  });

  it('percentile: nearest rank', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 99)).toBe(100);
  });
});

describe('ids against the venue', () => {
  it('missing, seen and duplicated ids of a range; ids outside it are ignored', () => {
    const c = idCompleteness(countIds([5, 6, 6, 8, 11, 12, 100, 100]), 5, 12);
    expect(c).toMatchObject({ expected: 8, seen: 5, missing: 3, excused: 0, duplicated: 1, missingExamples: ['7', '9-10'] });
    const excused = idCompleteness(countIds([5, 6, 8, 11, 12]), 5, 12, (id) => id === 9 || id === 10);
    expect(excused).toMatchObject({ expected: 8, seen: 5, missing: 1, excused: 2, missingExamples: ['7'] });
  });

  it('property: seen + missing = expected, and a complete set has nothing missing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 300 }), fc.array(fc.integer({ min: 0, max: 1400 })), (from, len, extra) => {
        const to = from + len;
        const c = idCompleteness(countIds(extra), from, to);
        expect(c.seen + c.missing + c.excused).toBe(c.expected);
        const full = idCompleteness(countIds([...Array.from({ length: len + 1 }, (_, i) => from + i), ...extra]), from, to);
        expect(full.missing).toBe(0);
      }),
    );
  });
});

describe('REST ingestor log facts', () => {
  it('gaps by criterion, aggregator requests, re-anchors and their durations', () => {
    const f = emptyLogFacts();
    for (const line of [
      '{"level":40,"msg":"gap detected","criterion":"time"}',
      '{"level":40,"msg":"gap detected","criterion":"volume"}',
      '{"level":40,"msg":"gap detected","criterion":"time"}',
      '{"level":30,"msg":"re-anchor requested by the aggregator","reason":"seq_gap"}',
      '{"level":30,"msg":"re-anchor requested by the aggregator","reason":"chaos_kill_mid_reanchor"}',
      '{"level":30,"msg":"re-anchor ok","total_ms":120}',
      '{"level":30,"msg":"re-anchor ok","total_ms":80}',
      '{"level":50,"msg":"re-anchor failed"}',
      'btcpipe: a banner',
      '{"level":30,',
    ]) foldLogLine(f, line);
    expect(f).toEqual({ gapsByCriterion: { time: 2, volume: 1 }, aggregatorRequests: 1, chaosRequests: 1, reanchorsOk: 2, reanchorsFailed: 1, reanchorMs: [120, 80] });
  });
});

function input(over: Partial<ChaosInput> = {}): ChaosInput {
  const live = (atMs: number, id: number): Sample => ({ atMs, symbol: 'BTCUSDT', state: 'live', lastUpdateId: id, tsMs: atMs - 50, matches: true });
  return {
    durationS: 2,
    seed: 1,
    staleMs: 3000,
    stallLimitMs: 30_000,
    startedAtMs: 0,
    endedAtMs: 2000,
    samples: { BTCUSDT: [live(0, 1), live(1000, 2), live(2000, 3)] },
    plannedOutages: [],
    faults: [{ kind: 'drop', atMs: 10 }, { kind: 'drop', atMs: 20 }, { kind: 'stall', atMs: 30 }],
    skipped: [{ kind: 'rotation_with_delay', reason: 'the simulator refused it' }],
    venue: { 'frames dropped': 4 },
    log: { gapsByCriterion: { sequence: 2 }, aggregatorRequests: 2, chaosRequests: 0, reanchorsOk: 2, reanchorsFailed: 0, reanchorMs: [100, 300] },
    kinesisTrades: { BTCUSDT: idCompleteness(countIds([1, 2, 3]), 1, 3) },
    kinesisUndecodable: 5,
    lake: { BTCUSDT: { files: 2, rows: 3, completeness: idCompleteness(countIds([1, 2, 3]), 1, 3), caughtUp: true } },
    deadLettered: 5,
    crashes: [],
    ...over,
  };
}

describe('report and verdict', () => {
  it('a clean run passes every invariant and prints its figures', () => {
    const r = buildReport(input());
    expect(r.ok).toBe(true);
    expect(r.faults.byKind).toEqual({ drop: 2, stall: 1 });
    expect(r.reanchors).toEqual({ ok: 2, failed: 0, p50Ms: 100, p99Ms: 300 });
    const text = formatReport(r);
    expect(text).toContain('skipped: rotation_with_delay');
    expect(text).toContain('chaos: all invariants hold');
  });

  it('each invariant fails on its own', () => {
    const wrong = buildReport(input({ samples: { BTCUSDT: [{ atMs: 0, symbol: 'BTCUSDT', state: 'live', lastUpdateId: 1, tsMs: 0, matches: false, mismatch: 'bid1' }] } }));
    expect(wrong.invariants.filter((v) => !v.ok).map((v) => v.name)).toEqual(['no live-but-wrong sample']);
    const stale = buildReport(input({ samples: { BTCUSDT: [{ atMs: 10_000, symbol: 'BTCUSDT', state: 'live', lastUpdateId: 1, tsMs: 0, matches: true }] } }));
    expect(stale.invariants.filter((v) => !v.ok).map((v) => v.name)).toEqual(['no live-but-stale sample (ts older than 3000 ms)']);
    const crash = buildReport(input({ crashes: [{ name: 'aggregator', atMs: 1, code: 1, signal: null }] }));
    expect(crash.invariants.filter((v) => !v.ok).map((v) => v.name)).toEqual(['no crash']);
    const lake = buildReport(input({ lake: { BTCUSDT: { files: 1, rows: 2, completeness: idCompleteness(countIds([1, 3]), 1, 3), caughtUp: true } } }));
    expect(lake.invariants.filter((v) => !v.ok).map((v) => v.name)).toEqual(['lake complete at the end']);
    const stall = buildReport(input({ samples: { BTCUSDT: [{ atMs: 0, symbol: 'BTCUSDT', state: 'resyncing', lastUpdateId: 1 }, { atMs: 31_000, symbol: 'BTCUSDT', state: 'resyncing', lastUpdateId: 1 }] } }));
    expect(stall.invariants.filter((v) => !v.ok).map((v) => v.name)).toEqual(['aggregator never stalled > 30 s outside planned outages']);
    expect(stall.ok).toBe(false);
  });
});

describe('attribution', () => {
  it('each sample counts for the latest fault at or before it', () => {
    const faults = [{ kind: 'stall', atMs: 100 }, { kind: 'drop', atMs: 50 }, { kind: 'stall', atMs: 300 }];
    expect(attributeToFaults([10, 50, 120, 299, 300, 1000], faults)).toEqual({ 'before any fault': 1, drop: 1, stall: 4 });
  });
});

describe('schedule', () => {
  it('every fault kind once, in order, inside the first 80% of the run, windows not overlapping', () => {
    fc.assert(
      fc.property(fc.integer({ min: 30, max: 3600 }), (s) => {
        const sched = buildSchedule(s * 1000);
        expect(sched.map((f) => f.kind)).toEqual([...FAULT_KINDS]);
        for (let i = 0; i < sched.length; i++) {
          expect(sched[i].atMs).toBeGreaterThanOrEqual(s * 100 - 1);
          expect(sched[i].atMs + sched[i].windowMs).toBeLessThanOrEqual(s * 800 + 1000);
          if (i > 0 && sched[i].windowMs > 1000) expect(sched[i - 1].atMs + sched[i - 1].windowMs).toBeLessThanOrEqual(sched[i].atMs);
        }
      }),
    );
  });

  it('venue faults name only faults of the simulator contract', () => {
    expect(venueFaultSpec('rotation_with_delay', 5000)).toEqual({ delayMs: { ms: 300, connection: 'oldest' } });
    expect(venueFaultSpec('rest_429_storm', 5400)).toEqual({ rest: { status: 429, forSeconds: 5 } });
    expect(venueFaultSpec('redis_restart', 5000)).toBeUndefined();
  });

  it('poison records: one not JSON, the others JSON of the bad kinds', () => {
    const p = poisonRecords('BTCUSDT', 1_700_000_000_000);
    expect(p.map((r) => r.what)).toEqual(['not JSON', 'transact_ts -1', 'trade event_ts in 2100', 'bestBidAsk event_ts in 2100', 'lowercase symbol']);
    expect(() => JSON.parse(p[0].data)).toThrow();
    expect(JSON.parse(p[4].data)).toMatchObject({ symbol: 'btcusdt', type: 'trade' });
  });
});

describe('Kinesis trade tally', () => {
  it('counts trades in plain, gzipped and KPL-aggregated records; undecodable ones are counted', () => {
    const t: TradeTally = { trades: new Map(), undecodable: 0, records: 0 };
    const trade = (id: number): string => JSON.stringify({ type: 'trade', symbol: 'BTCUSDT', trade_id: id });
    tallyRecord(t, Buffer.from(trade(1)));
    tallyRecord(t, gzipSync(Buffer.from(trade(2))));
    const agg = aggregateRecords([{ partitionKey: 'BTCUSDT', data: Buffer.from(trade(2)) }, { partitionKey: 'BTCUSDT', data: Buffer.from(JSON.stringify({ type: 'depth', symbol: 'BTCUSDT' })) }]);
    for (const rec of agg) tallyRecord(t, rec.data);
    tallyRecord(t, Buffer.from('{"type":"trade"'));
    expect([...(t.trades.get('BTCUSDT') ?? [])]).toEqual([[1, 1], [2, 2]]);
    expect(t.undecodable).toBe(1);
  });

  it('counts the trades of SBE records (a message may hold several); a broken one is undecodable', () => {
    const t: TradeTally = { trades: new Map(), undecodable: 0, records: 0 };
    const frame = encodeTradesFrame({
      symbol: 'BTCUSDT', eventTimeUs: 1_700_000_000_000_000, transactTimeUs: 1_700_000_000_000_000, priceExponent: -2, qtyExponent: -8,
      trades: [{ id: 3, price: '1.00', qty: '1', isBuyerMaker: true }, { id: 4, price: '1.00', qty: '1', isBuyerMaker: false }],
    });
    const rec = encodeSbeRecord(frame, 1, 0);
    const agg = aggregateRecords([{ partitionKey: 'BTCUSDT', data: rec }, { partitionKey: 'BTCUSDT', data: rec.subarray(0, 30) }]);
    for (const r of agg) tallyRecord(t, r.data);
    expect([...(t.trades.get('BTCUSDT') ?? [])]).toEqual([[3, 1], [4, 1]]);
    expect(t.undecodable).toBe(1);
  });
});
