import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aggregateRecords, deaggregateRecord, deaggregateRecordData, isAggregated } from '../../../src/kinesis/deaggregate.js';
import { KplDecodeError } from '../../../src/kinesis/errors.js';
import { KplAggregator } from '../../../src/kinesis/kpl.js';

const userRecord = fc.record({
  partitionKey: fc.stringMatching(/^[A-Z]{1,12}$/),
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
});

describe('KPL aggregation round trip', () => {
  it('de-aggregating what was aggregated gives the same payloads and keys, in order', () => {
    fc.assert(
      fc.property(fc.array(userRecord, { minLength: 1, maxLength: 60 }), fc.integer({ min: 400, max: 4000 }), (records, max) => {
        const encoded = aggregateRecords(records, max);
        const back = encoded.flatMap((e) => deaggregateRecord(e.data, e.partitionKey, '1'));
        expect(back.map((r) => r.partitionKey)).toEqual(records.map((r) => r.partitionKey));
        expect(back.map((r) => r.data.toString('hex'))).toEqual(records.map((r) => r.data.toString('hex')));
        for (const e of encoded) {
          expect(isAggregated(e.data)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('respects the record size bound when several records are needed', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ partitionKey: 'BTCUSDT', data: Buffer.alloc(100, i) }));
    const encoded = aggregateRecords(records, 1000);
    expect(encoded.length).toBeGreaterThan(5);
    for (const e of encoded) expect(e.data.length + e.partitionKey.length).toBeLessThanOrEqual(1000);
    expect(encoded.flatMap((e) => deaggregateRecordData(e.data)).length).toBe(50);
  });

  it('sizeWith predicts the encoded size exactly', () => {
    const a = new KplAggregator();
    let predicted = 0;
    for (let i = 0; i < 20; i++) {
      const data = Buffer.from(JSON.stringify({ i, price: '100.01' }));
      predicted = a.sizeWith(i % 3 === 0 ? 'A' : 'BB', data);
      a.add(i % 3 === 0 ? 'A' : 'BB', data);
      expect(a.size).toBe(predicted);
    }
    expect(a.build()?.data.length).toBe(predicted);
  });

  it('gives each user record of a multi-key record its own partition key from the key table, not the outer key', () => {
    const keys = ['BTCUSDT', 'ETHUSDT', 'BTCUSDT', 'SOLUSDT', 'ETHUSDT', 'ÉTH"€'];
    const [rec] = aggregateRecords(keys.map((k, i) => ({ partitionKey: k, data: Buffer.from(`${k}:${i}`) })));
    // The Kinesis record travels under its first key; readers hand that in as the outer key.
    expect(rec.partitionKey).toBe('BTCUSDT');
    const users = deaggregateRecord(rec.data, rec.partitionKey, '42');
    expect(users.map((u) => u.partitionKey)).toEqual(keys);
    expect(users.map((u) => u.data.toString())).toEqual(keys.map((k, i) => `${k}:${i}`));
  });

  it('passes a plain record through unchanged', () => {
    const plain = Buffer.from('{"type":"trade"}');
    expect(deaggregateRecordData(plain)).toEqual([plain]);
    expect(deaggregateRecord(plain, 'K', '7')).toEqual([{ data: plain, partitionKey: 'K' }]);
  });

  it('numbers user records with sub-sequence numbers', () => {
    const [rec] = aggregateRecords([
      { partitionKey: 'K', data: Buffer.from('a') },
      { partitionKey: 'K', data: Buffer.from('b') },
    ]);
    expect(deaggregateRecord(rec.data, 'K', '9').map((r) => r.subSequenceNumber)).toEqual([0, 1]);
  });

  it('throws KplDecodeError on a corrupted aggregated record (checksum)', () => {
    const [rec] = aggregateRecords([{ partitionKey: 'K', data: Buffer.from('hello world') }]);
    const bad = Buffer.from(rec.data);
    bad[10] ^= 0xff;
    expect(() => deaggregateRecordData(bad)).toThrow(KplDecodeError);
  });
  it('hands out the user records as views of the record it was given (no copy, no base64 round trip)', () => {
    const [rec] = aggregateRecords([
      { partitionKey: 'K', data: Buffer.from('first') },
      { partitionKey: 'L', data: Buffer.from('second') },
    ]);
    // Its own ArrayBuffer: Node's small-buffer pool would make any two small buffers share one.
    const own = new ArrayBuffer(rec.data.length);
    new Uint8Array(own).set(rec.data);
    const users = deaggregateRecord(new Uint8Array(own), 'K', '1');
    expect(users.map((u) => u.data.toString())).toEqual(['first', 'second']);
    for (const u of users) expect(u.data.buffer).toBe(own);
  });

  it('throws KplDecodeError, never anything else, on any corruption of an aggregated record', () => {
    const [rec] = aggregateRecords([
      { partitionKey: 'BTCUSDT', data: Buffer.from('hello world') },
      { partitionKey: 'ETHUSDT', data: Buffer.alloc(200, 7) },
    ]);
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 255 }), fc.nat(), (at, v, cut) => {
        const bad = Buffer.from(rec.data);
        const i = 4 + (at % (bad.length - 4));
        fc.pre(bad[i] !== v);
        bad[i] = v;
        expect(() => deaggregateRecordData(bad)).toThrow(KplDecodeError);
        const short = rec.data.subarray(0, 20 + (cut % (rec.data.length - 20)));
        expect(() => deaggregateRecordData(short)).toThrow(KplDecodeError);
      }),
    );
  });
});
