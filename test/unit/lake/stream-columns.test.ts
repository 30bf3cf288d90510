import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parquetReadObjects } from 'hyparquet';
import type { StreamRow } from '../../../src/lake/datasets.js';
import { StreamColumnBuffer, StreamRowError } from '../../../src/lake/stream-columns.js';
import { encodeStreamColumns } from '../../../src/lake/stream-encode.js';

const decimal = fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 99_999_999 })).map(([a, b]) => `${a}.${String(b).padStart(8, '0')}`);
const level = fc.tuple(decimal, decimal);
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(a, { nil: null });

/** A depth_diffs row with every kind of column: numbers, nullable numbers, strings, JSON levels and bytes. */
const depthRow: fc.Arbitrary<StreamRow> = fc.record({
  symbol: fc.constantFrom('BTCUSDT', 'ETHUSDT'),
  event_ts_us: fc.integer({ min: 0, max: 2 ** 52 }),
  first_update_id: fc.integer({ min: 0, max: 2 ** 50 }),
  final_update_id: fc.integer({ min: 0, max: 2 ** 50 }),
  bids: fc.array(level, { maxLength: 5 }),
  asks: fc.array(level, { maxLength: 5 }),
  recv_ts_us: maybe(fc.integer({ min: 0, max: 2 ** 52 })),
  source: fc.constantFrom('sbe', 'json'),
  arrival_ms: maybe(fc.integer({ min: 0, max: 2 ** 45 })),
  kinesis_shard: maybe(fc.constant('shardId-000000000000')),
  kinesis_seq: maybe(fc.stringMatching(/^[0-9]{1,56}$/)),
  kinesis_sub_seq: maybe(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  sbe: maybe(fc.uint8Array({ maxLength: 300 })),
});

type Op = { push: StreamRow } | { dropFront: number } | { dropBack: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: depthRow.map((push) => ({ push })), weight: 6 },
  { arbitrary: fc.integer({ min: 0, max: 8 }).map((dropFront) => ({ dropFront })), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 3 }).map((dropBack) => ({ dropBack })), weight: 1 },
);

async function read(bytes: Uint8Array): Promise<Array<Record<string, unknown>>> {
  return parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, utf8: false });
}

/** A row as hyparquet reads it back. */
function expected(r: StreamRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'number' && k !== 'kinesis_sub_seq') out[k] = BigInt(v);
    else out[k] = v;
  }
  return out;
}

describe('StreamColumnBuffer', () => {
  it('any run of pushes and drops, sliced anywhere, reads back from Parquet as the same rows (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.nat(), fc.nat(), async (ops, a, b) => {
        const buf = new StreamColumnBuffer('depth_diffs', 1);
        const model: StreamRow[] = [];
        for (const o of ops) {
          if ('push' in o) {
            buf.push(o.push, model.length, 0);
            model.push(o.push);
          } else if ('dropFront' in o) {
            buf.dropFront(o.dropFront);
            model.splice(0, o.dropFront);
          } else {
            buf.dropBack(o.dropBack);
            model.splice(Math.max(0, model.length - o.dropBack), o.dropBack);
          }
          expect(buf.length).toBe(model.length);
        }
        if (model.length === 0) return;
        const from = a % model.length;
        const to = from + 1 + (b % (model.length - from));
        const got = await read(encodeStreamColumns(buf.slice(from, to)));
        expect(got.map((g) => ({ ...g, sbe: g.sbe === null ? null : new Uint8Array(g.sbe as Uint8Array) }))).toEqual(model.slice(from, to).map(expected));
        // The SBE arena and strings are counted in the byte bound.
        const sbeBytes = model.reduce((n, r) => n + (r.sbe instanceof Uint8Array ? r.sbe.byteLength : 0), 0);
        expect(buf.bytes).toBeGreaterThanOrEqual(sbeBytes + 16 * model.length);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a bad cell with its dataset, column and row, and keeps the rows before it', () => {
    const buf = new StreamColumnBuffer('trades');
    const good: StreamRow = { symbol: 'BTCUSDT', event_ts_us: 1, transact_ts_us: null, trade_id: 7, price: '1.00', qty: '2.00', is_buyer_maker: true, filled: false, recv_ts_us: null, source: 'sbe', arrival_ms: null, kinesis_shard: null, kinesis_seq: null, kinesis_sub_seq: null, sbe: null };
    buf.push(good, 7, 0);
    expect(() => buf.push({ ...good, price: 97000.1 })).toThrow(StreamRowError);
    expect(() => buf.push({ ...good, trade_id: 2 ** 60 })).toThrow(/trades\.trade_id row 1: .* is not a INT64/);
    expect(() => buf.push({ ...good, symbol: undefined })).toThrow(/trades\.symbol row 1/);
    expect(buf.length).toBe(1);
    expect(buf.slice().columns.price).toEqual({ kind: 'text', values: ['1.00'] });
  });
});
