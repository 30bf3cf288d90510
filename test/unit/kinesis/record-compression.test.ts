import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KplDecodeError } from '../../../src/kinesis/errors.js';
import { aggregateRecords, deaggregateRecord } from '../../../src/kinesis/kpl.js';
import { compressRecord, inflateRecord, isGzipped, MAX_INFLATED_RECORD_BYTES } from '../../../src/kinesis/record-compression.js';

describe('gzip Kinesis records', () => {
  it('round-trips KPL aggregates and plain JSON records through deaggregateRecord', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 40 }), fc.boolean(), (payloads, aggregate) => {
        const datas = payloads.map((p) => Buffer.from(JSON.stringify({ p })));
        const records = aggregate ? aggregateRecords(datas.map((data) => ({ partitionKey: 'BTCUSDT', data }))).map((r) => r.data) : datas;
        const out: string[] = [];
        for (const r of records) {
          const zipped = compressRecord(r, 'gzip');
          expect(isGzipped(zipped)).toBe(true);
          for (const u of deaggregateRecord(zipped, 'BTCUSDT', '1')) out.push(u.data.toString());
        }
        expect(out).toEqual(datas.map((d) => d.toString()));
      }),
      { numRuns: 100 },
    );
  });

  it('leaves records alone with compression "none" and passes ungzipped records through', () => {
    const json = Buffer.from('{"type":"trade"}');
    expect(compressRecord(json, 'none')).toBe(json);
    expect(inflateRecord(json)).toBe(json);
  });

  it('shrinks repetitive event JSON several times', () => {
    const events = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ type: 'trade', symbol: 'BTCUSDT', event_ts: 1_763_700_000_000_000 + i, source: 'sbe', trade_id: i, price: '98000.01', quantity: '0.001' }),
    ).join('\n');
    const raw = Buffer.from(events);
    expect(compressRecord(raw, 'gzip').length * 4).toBeLessThan(raw.length);
  });

  it('rejects a corrupt gzip record with KplDecodeError', () => {
    const bad = Buffer.from(compressRecord(Buffer.from('{"a":1}'.repeat(50)), 'gzip'));
    bad[bad.length - 6] ^= 0xff; // breaks the CRC / stream
    expect(() => deaggregateRecord(bad)).toThrow(KplDecodeError);
    expect(() => deaggregateRecord(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toThrow(KplDecodeError);
  });

  it('refuses a record that inflates past the bound instead of expanding it', () => {
    const bomb = gzipSync(Buffer.alloc(MAX_INFLATED_RECORD_BYTES + 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(() => inflateRecord(bomb)).toThrow(/inflates past/);
  });
});
