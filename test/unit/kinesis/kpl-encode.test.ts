import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deaggregateRecord } from '../../../src/kinesis/deaggregate.js';
import { KplAggregator } from '../../../src/kinesis/kpl.js';
import { encodeKplRecord } from '../../../src/kinesis/kpl-encode.js';

const partitionKey = fc.oneof(fc.constantFrom('BTCUSDT', 'ETHBTC'), fc.string({ unit: 'binary', minLength: 1, maxLength: 256 }));
/** Sizes around the varint boundaries (127/128, 16383/16384) plus small random ones. */
const data = fc
  .oneof(fc.nat({ max: 300 }), fc.constantFrom(0, 1, 124, 125, 126, 127, 128, 129, 16_379, 16_380, 16_383, 16_384, 20_000))
  .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
  .map((a) => Buffer.from(a));

describe('encodeKplRecord', () => {
  it('builds the same bytes as aws-kinesis-agg for one partition key', () => {
    fc.assert(
      fc.property(partitionKey, fc.array(data, { minLength: 1, maxLength: 30 }), (pk, records) => {
        const agg = new KplAggregator();
        for (const r of records) agg.add(pk, r);
        const expected = agg.build();
        expect(expected).toBeDefined();
        expect(encodeKplRecord(pk, records.map((d) => ({ data: d }))).toString('hex')).toBe(expected?.data.toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips through the de-aggregator with a valid checksum, in order', () => {
    fc.assert(
      fc.property(partitionKey, fc.array(data, { minLength: 1, maxLength: 30 }), (pk, records) => {
        const back = deaggregateRecord(encodeKplRecord(pk, records.map((d) => ({ data: d }))), pk, '1');
        expect(back.map((r) => r.partitionKey)).toEqual(records.map(() => pk));
        expect(back.map((r) => r.data.toString('hex'))).toEqual(records.map((r) => r.toString('hex')));
      }),
      { numRuns: 200 },
    );
  });
});
