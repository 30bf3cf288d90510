import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parquetReadObjects } from 'hyparquet';
import type { MarketEvent, TradeEvent, DepthEvent, BestBidAskEvent } from '../../../src/core/events.js';
import { STREAM_DATASETS, type StreamDatasetName, type StreamRow } from '../../../src/lake/datasets.js';
import { encodeStreamColumns, encodeStreamRows } from '../../../src/lake/stream-encode.js';
import { hourIndex, parseRangeFileKey } from '../../../src/lake/keys.js';
import { LakeWriter } from '../../../src/lake/lake-writer.js';
import { MemoryObjectStore } from '../../../src/lake/memory-store.js';
import { cutFiles, eventRow } from '../../../src/lake/stream-rows.js';
import { StreamArchiver, type StreamHole, type TradeFiller } from '../../../src/lake/stream-archiver.js';

const T0 = Date.UTC(2026, 10, 30, 9, 59, 0) * 1000; // µs, one minute before an hour boundary

function trade(id: number, tsUs = T0 + id * 1000): TradeEvent {
  return { type: 'trade', symbol: 'BTCUSDT', event_ts: tsUs, source: 'sbe', trade_id: id, sequence_id: id, price: `97000.${String(id % 100).padStart(2, '0')}000000`, quantity: '0.00100000', is_buyer_maker: id % 2 === 0, transact_ts: tsUs - 5, recv_ts_us: tsUs + 300 };
}
function diff(first: number, last: number, tsUs = T0 + last * 1000): DepthEvent {
  return { type: 'depth', symbol: 'BTCUSDT', event_ts: tsUs, source: 'sbe', first_update_id: first, final_update_id: last, bids: [['97000.10', '1.50000000']], asks: [['97000.20', '0.00000000']] };
}
function bba(id: number): BestBidAskEvent {
  return { type: 'bestBidAsk', symbol: 'BTCUSDT', event_ts: T0 + id * 1000, source: 'sbe', sequence_id: id, bid_price: '97000.10', bid_quantity: '1.5', ask_price: '97000.20', ask_quantity: '2' };
}

async function readRows(store: MemoryObjectStore, dataset: StreamDatasetName): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const key of await store.list(`bronze/${dataset}/`)) {
    const body = (await store.get(key)) as Uint8Array;
    const rows = await parquetReadObjects({ file: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, utf8: false });
    out.push(...rows);
  }
  return out;
}

function archiver(store: MemoryObjectStore, opts: { fill?: TradeFiller; holes?: StreamHole[]; maxRowsPerFile?: number } = {}): StreamArchiver {
  return new StreamArchiver({
    writer: new LakeWriter(store),
    encode: (columns) => Promise.resolve(encodeStreamColumns(columns)),
    fill: opts.fill,
    maxRowsPerFile: opts.maxRowsPerFile,
    hooks: { onHole: (h) => opts.holes?.push(h) },
  });
}

describe('whole-stream rows', () => {
  it('every event type gives exactly the columns of its dataset', () => {
    const evs: MarketEvent[] = [trade(1), diff(1, 2), bba(3), { type: 'depthSnapshot', symbol: 'BTCUSDT', event_ts: T0, source: 'sbe', last_update_id: 9, bids: [], asks: [] }];
    for (const ev of evs) {
      const r = eventRow(ev, { arrivalMs: 1, shardId: 'shardId-000000000000', sequenceNumber: '495', subSequenceNumber: 0 });
      expect(Object.keys(r.row).sort()).toEqual(STREAM_DATASETS[r.dataset].columns.map((c) => c.name).sort());
    }
  });

  it('round-trips exact decimals, levels, SBE bytes and nulls through Parquet', async () => {
    const sbe = new Uint8Array([0x12, 0x00, 0xff, 0x7b]);
    const rows = [eventRow(diff(5, 7), { sbe, arrivalMs: 42, shardId: 's', sequenceNumber: '1', subSequenceNumber: 3 }).row, eventRow(diff(8, 9)).row];
    const [a, b] = await parquetReadObjects({ file: encodeStreamRows('depth_diffs', rows).buffer as ArrayBuffer, utf8: false });
    expect(a.bids).toEqual([['97000.10', '1.50000000']]);
    expect(a.asks).toEqual([['97000.20', '0.00000000']]);
    expect(new Uint8Array(a.sbe as Uint8Array)).toEqual(sbe);
    expect(a.first_update_id).toBe(5n);
    expect(a.kinesis_sub_seq).toBe(3);
    expect(b.sbe).toBeNull();
    expect(b.arrival_ms).toBeNull();
    expect(() => encodeStreamRows('trades', [{ ...eventRow(trade(1)).row, price: 97000.1 } as StreamRow])).toThrow(/trades.price row 0/);
  });

  it('cutFiles: ids above the mark, in order, one hour and at most maxRows per file (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 7_200_000 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
        (gapsMs, maxRows, after) => {
          let ts = Date.UTC(2026, 0, 1);
          const rows = gapsMs.map((g, i) => ({ id: i + 1, tsMs: (ts += g % 100_000) }));
          const files = cutFiles({ length: rows.length, id: (i) => rows[i].id, tsMs: (i) => rows[i].tsMs }, maxRows, after).map(({ from, to }) => rows.slice(from, to));
          expect(files.flat().map((r) => r.id)).toEqual(rows.filter((r) => after === undefined || r.id > after).map((r) => r.id));
          for (const f of files) {
            expect(f.length).toBeGreaterThan(0);
            expect(f.length).toBeLessThanOrEqual(maxRows);
            expect(new Set(f.map((r) => hourIndex(r.tsMs))).size).toBe(1);
          }
        },
      ),
    );
  });
});

describe('StreamArchiver', () => {
  it('drops duplicates, reports trade and depth holes, fills trades from the REST API', async () => {
    const store = new MemoryObjectStore();
    const holes: StreamHole[] = [];
    const fill: TradeFiller = (_s, from, to) => Promise.resolve([{ id: from, price: '1.0', qty: '2.0', timeMs: Math.floor(T0 / 1000), isBuyerMaker: true }].filter((t) => t.id <= to));
    const a = archiver(store, { fill, holes });
    await a.ingest([trade(1), trade(2), trade(2), trade(5), diff(1, 3), diff(4, 6), diff(9, 10), bba(7), bba(7), bba(12)].map((ev) => ({ ev })));
    await a.flush();
    expect(holes.map((h) => [h.stream, h.expected, h.got, h.missing, h.filled, h.status])).toEqual([
      ['trade', 3, 5, 2, 1, 'partial'],
      ['depth', 7, 9, 2, 0, 'open'],
    ]);
    const trades = await readRows(store, 'trades');
    expect(trades.map((t) => [Number(t.trade_id), t.filled])).toEqual([[1, false], [2, false], [5, false], [3, true]]);
    expect((await readRows(store, 'depth_diffs')).map((d) => Number(d.final_update_id))).toEqual([3, 6, 10]);
    expect((await readRows(store, 'best_bid_ask')).map((d) => Number(d.update_id))).toEqual([7, 12]);
    const h = await readRows(store, 'stream_holes');
    expect(h.map((x) => [x.stream, Number(x.expected_id), Number(x.got_id), x.status])).toEqual([['depth', 7n, 9n, 'open'].map((v) => (typeof v === 'bigint' ? Number(v) : v)), ['trade', 3, 5, 'partial']]);
    expect(a.drained).toBe(true);
  });

  it('a restart from the last checkpoint after a flush cut short writes every event exactly once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 10 }),
        async (gapsMs, batch, maxRows, failAfterPuts) => {
          let ts = T0;
          const events: MarketEvent[] = gapsMs.flatMap((g, i) => {
            ts += g * 10;
            return [trade(i + 1, ts), diff(2 * i + 1, 2 * i + 2, ts)];
          });
          const store = new MemoryObjectStore();
          let puts = 0;
          const flaky = new LakeWriter({ ...store, put: (k, b) => (++puts > failAfterPuts ? Promise.reject(new Error('crash')) : store.put(k, b)), list: (p) => store.list(p), get: (k) => store.get(k), describe: () => 'flaky' });
          const first = new StreamArchiver({ writer: flaky, encode: (c) => Promise.resolve(encodeStreamColumns(c)), maxRowsPerFile: maxRows });
          // The consumer's checkpoint: the end of the last batch after which a flush drained every buffer.
          let checkpoint = 0;
          try {
            for (let i = 0; i < events.length; i += batch) {
              await first.ingest(events.slice(i, i + batch).map((ev) => ({ ev })));
              await first.flush();
              checkpoint = Math.min(events.length, i + batch);
            }
          } catch {
            // crashed mid-flush: some files of the batch may be in the lake
          }
          const second = new StreamArchiver({ writer: new LakeWriter(store), encode: (c) => Promise.resolve(encodeStreamColumns(c)), maxRowsPerFile: maxRows });
          for (let i = checkpoint; i < events.length; i += batch) await second.ingest(events.slice(i, i + batch).map((ev) => ({ ev })));
          await second.flush();
          const ids = (await readRows(store, 'trades')).map((t) => Number(t.trade_id)).sort((x, y) => x - y);
          expect(ids).toEqual(events.filter((e) => e.type === 'trade').map((e) => (e as TradeEvent).trade_id));
          const u = (await readRows(store, 'depth_diffs')).map((t) => Number(t.final_update_id)).sort((x, y) => x - y);
          expect(u).toEqual(events.filter((e) => e.type === 'depth').map((e) => (e as DepthEvent).final_update_id));
          for (const key of await store.list('bronze/trades/')) expect(parseRangeFileKey('trades', key)).toBeDefined();
        },
      ),
      { numRuns: 40 },
    );
  });
});
