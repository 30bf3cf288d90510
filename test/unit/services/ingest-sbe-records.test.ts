/** The ingestor's 'sbe' record format: the flyweight id reader, and the merge forwarding the venue's bytes. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, SbeDecodeError } from '../../../src/binance/sbe-decode.js';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeDepthSnapshotFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import type { MarketEvent } from '../../../src/core/events.js';
import { decodeUserRecord } from '../../../src/kinesis/record-format.js';
import { SbeFrameIds } from '../../../src/services/ingest-sbe-ids.js';
import { SbeIngestPipeline } from '../../../src/services/ingest-sbe-pipeline.js';

const STREAMS = { trade: 'k-trade', bestbidask: 'k-bba', depth: 'k-depth' };
const T = 1_790_000_000_000_000;
const SYM = 'ETHUSDT';

const trades = (first: number, n: number): Uint8Array =>
  encodeTradesFrame({
    symbol: SYM, eventTimeUs: T + first, transactTimeUs: T + first, priceExponent: -2, qtyExponent: -8,
    trades: Array.from({ length: n }, (_, i) => ({ id: first + i, price: `${100 + i}.25`, qty: '0.5', isBuyerMaker: i % 2 === 0 })),
  });
const diff = (U: number, u: number): Uint8Array =>
  encodeDepthDiffFrame({ symbol: SYM, eventTimeUs: T + u, firstBookUpdateId: U, lastBookUpdateId: u, priceExponent: -2, qtyExponent: -8, bids: [['99.00', '1']], asks: [['101.00', '0']] });
const bba = (id: number): Uint8Array =>
  encodeBestBidAskFrame({ symbol: SYM, eventTimeUs: T + id, bookUpdateId: id, priceExponent: -2, qtyExponent: -8, bidPrice: '99.00', bidQty: '1', askPrice: '100.00', askQty: '2' });
const snap = (id: number): Uint8Array =>
  encodeDepthSnapshotFrame({ symbol: SYM, eventTimeUs: T + id, bookUpdateId: id, priceExponent: -2, qtyExponent: -8, bids: [['99.00', '1']], asks: [['100.00', '2']] });

describe('SbeFrameIds', () => {
  it('reads kind, symbol, event time and ids exactly as the full decoder does', () => {
    const ids = new SbeFrameIds();
    for (const f of [trades(7, 1), trades(10, 5), diff(20, 25), bba(30), snap(40)]) {
      const evs = decodeFrame(f);
      ids.wrap(f);
      expect(ids.kind).toBe(evs[0].type);
      expect(ids.symbol).toBe(evs[0].symbol);
      expect(ids.eventTs).toBe(evs[0].event_ts);
      expect(ids.count).toBe(evs.length);
      const e = evs[0];
      if (e.type === 'trade') {
        expect(Array.from({ length: ids.count }, (_, i) => ids.tradeId(i))).toEqual(evs.map((x) => x.type === 'trade' && x.trade_id));
        expect([ids.firstId, ids.lastId]).toEqual([e.trade_id, (evs[evs.length - 1] as typeof e).trade_id]);
      } else if (e.type === 'depth') expect([ids.firstId, ids.lastId]).toEqual([e.first_update_id, e.final_update_id]);
      else if (e.type === 'bestBidAsk') expect(ids.lastId).toBe(e.sequence_id);
      else if (e.type === 'depthSnapshot') expect(ids.lastId).toBe(e.last_update_id);
    }
  });

  it('refuses every truncation of every kind of message, as the full decoder does', () => {
    const ids = new SbeFrameIds();
    for (const f of [trades(10, 3), diff(20, 25), bba(30), snap(40)]) {
      for (let n = 0; n < f.length; n++) {
        expect(() => decodeFrame(f.subarray(0, n))).toThrow(SbeDecodeError);
        expect(() => ids.wrap(f.subarray(0, n)), `cut at ${n}`).toThrow(SbeDecodeError);
      }
    }
  });

  it('throws nothing but SbeDecodeError on flipped bytes', () => {
    const ids = new SbeFrameIds();
    const base = [trades(10, 3), diff(20, 25), bba(30), snap(40)];
    fc.assert(
      fc.property(fc.nat({ max: 3 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), (k, flips) => {
        const f = Uint8Array.from(base[k]);
        for (const [at, v] of flips) f[at % f.length] = v;
        try {
          ids.wrap(f);
        } catch (err) {
          expect(err).toBeInstanceOf(SbeDecodeError);
        }
      }),
    );
  });
});

/** A venue sequence of messages: trades of 1-3 ids, chained diffs, rising bestBidAsk ids. */
function venue(spec: Array<{ kind: number; n: number }>): Uint8Array[] {
  let tradeId = 1;
  let u = 100;
  let bookId = 1000;
  return spec.map(({ kind, n }) => {
    if (kind === 0) {
      const f = trades(tradeId, n);
      tradeId += n;
      return f;
    }
    if (kind === 1) {
      const f = diff(u + 1, u + n);
      u += n;
      return f;
    }
    bookId += n;
    return bba(bookId);
  });
}

describe("SbeIngestPipeline, record format 'sbe'", () => {
  it('puts each venue message once, byte for byte, on its stream keyed by symbol', () => {
    const put: Array<[string, string, Buffer]> = [];
    const p = new SbeIngestPipeline({ streams: STREAMS, recordFormat: 'sbe', sinkRecord: (s, k, r) => put.push([s, k, r]) });
    const frames = [trades(1, 3), diff(1, 5), bba(9), trades(4, 1), diff(6, 8)];
    frames.forEach((f, i) => p.onFrame(f, T + i, 7));
    frames.forEach((f, i) => p.onFrame(f, T + 100 + i, 8)); // the overlap of a rotation: all duplicates
    expect(put.map(([s, k]) => [s, k])).toEqual([['k-trade', SYM], ['k-depth', SYM], ['k-bba', SYM], ['k-trade', SYM], ['k-depth', SYM]]);
    put.forEach(([, , r], i) => {
      const d = decodeUserRecord(r);
      expect(Buffer.from(d.sbe!).equals(Buffer.from(frames[i]))).toBe(true);
      expect([d.recvTsUs, d.connectionId]).toEqual([T + i, 7]);
      expect(d.events).toEqual(decodeFrame(frames[i], T + i));
    });
    expect(p.stats()).toMatchObject({ messages_decoded: 10, events_out: 7, records_out: 5, duplicates_dropped: 7, gaps: 0 });
  });

  it('delivers the same events as the json format for any interleaving of two connections (after the aggregator drops repeated trade ids)', () => {
    const msg = fc.record({ kind: fc.nat({ max: 2 }), n: fc.integer({ min: 1, max: 3 }) });
    fc.assert(
      fc.property(
        fc.array(msg, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat({ max: 3 }), { maxLength: 120 }),
        (spec, choices) => {
          const frames = venue(spec);
          // Each connection delivers the venue's messages in order, but may lose some; the two interleave.
          const schedule: Array<[Uint8Array, number]> = [];
          const pos = [0, 0];
          let c = 0;
          while (pos[0] < frames.length || pos[1] < frames.length) {
            const choice = choices[c++ % Math.max(1, choices.length)] ?? 0;
            const conn = pos[0] >= frames.length ? 1 : pos[1] >= frames.length ? 0 : choice & 1;
            if (choice < 2 || conn === 0) schedule.push([frames[pos[conn]], conn]); // connection 1 loses some
            pos[conn]++;
          }
          const json: MarketEvent[] = [];
          const pj = new SbeIngestPipeline({ streams: STREAMS, sink: (_s, e) => json.push(e) });
          const records: Buffer[] = [];
          const ps = new SbeIngestPipeline({ streams: STREAMS, recordFormat: 'sbe', sinkRecord: (_s, _k, r) => records.push(r) });
          for (const [f, conn] of schedule) {
            pj.onFrame(f, T, conn);
            ps.onFrame(f, T, conn);
          }
          pj.onConnectionClosed(0);
          ps.onConnectionClosed(0);
          let lastTrade = 0;
          const viaSbe = records.flatMap((r) => decodeUserRecord(r).events).filter((e) => {
            if (e.type !== 'trade') return true;
            if (e.trade_id <= lastTrade) return false;
            lastTrade = e.trade_id;
            return true;
          });
          expect(viaSbe).toEqual(json);
          expect(ps.stats().gaps).toBe(pj.stats().gaps);
          expect(ps.stats().events_out).toBe(pj.stats().events_out);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts malformed frames by code and a refusing sink without throwing', () => {
    const p = new SbeIngestPipeline({
      streams: STREAMS,
      recordFormat: 'sbe',
      sinkRecord: () => {
        throw new Error('closed');
      },
    });
    const unknown = trades(1, 1).slice();
    unknown[2] = 0x99;
    expect(() => [trades(1, 1).slice(0, 10), unknown, new Uint8Array(0), trades(1, 1)].forEach((f) => p.onFrame(f, 1))).not.toThrow();
    const st = p.stats();
    expect(st.decode_errors).toBe(3);
    expect(st.decode_errors_by_code).toMatchObject({ UNKNOWN_TEMPLATE: 1, TRUNCATED: 2 });
    expect(st.sink_errors).toBe(1);
  });

  it('refuses to be built without the sink its format needs', () => {
    expect(() => new SbeIngestPipeline({ streams: STREAMS, recordFormat: 'sbe', sink: () => undefined })).toThrow(/sinkRecord/);
    expect(() => new SbeIngestPipeline({ streams: STREAMS, sinkRecord: () => undefined })).toThrow(/sink/);
  });
});
