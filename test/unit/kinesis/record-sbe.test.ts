import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeSbeRecord,
  encodeSbeRecord,
  isSbeRecord,
  SBE_RECORD_HEADER_BYTES,
  SBE_RECORD_MAGIC,
  SbeRecordError,
  type SbeRecordErrorCode,
} from '../../../src/kinesis/record-sbe.js';

const refused = (data: Uint8Array): SbeRecordErrorCode => {
  try {
    decodeSbeRecord(data);
  } catch (err) {
    if (err instanceof SbeRecordError) return err.code;
    throw err;
  }
  throw new Error('accepted');
};

describe('SBE record envelope', () => {
  it('lays out the documented header byte by byte', () => {
    const rec = encodeSbeRecord(Uint8Array.from([9, 8, 7]), 1_790_000_000_123_456, 0x01020304);
    expect([...rec.subarray(0, 4)]).toEqual([0xb5, 1, 20, 0]);
    expect(rec.readUInt32LE(4)).toBe(0x01020304);
    expect(rec.readBigUInt64LE(8)).toBe(1_790_000_000_123_456n);
    expect(rec.readUInt32LE(16)).toBe(3);
    expect([...rec.subarray(20)]).toEqual([9, 8, 7]);
    expect(rec.length).toBe(SBE_RECORD_HEADER_BYTES + 3);
  });

  it('round-trips any message bytes, receive time and connection id', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.maxSafeNat(),
        fc.nat({ max: 2 ** 32 - 1 }),
        (sbe, ts, conn) => {
          const rec = encodeSbeRecord(sbe, ts, conn);
          expect(isSbeRecord(rec)).toBe(true);
          const back = decodeSbeRecord(rec);
          expect(back.recvTsUs).toBe(ts);
          expect(back.connectionId).toBe(conn);
          expect(Buffer.from(back.sbe).equals(Buffer.from(sbe))).toBe(true);
        },
      ),
    );
  });

  it('reads a record inside a larger buffer (a view, as de-aggregation hands it over)', () => {
    const rec = encodeSbeRecord(Uint8Array.from([1, 2, 3, 4]), 42, 7);
    const big = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), rec, Buffer.from([0xee])]);
    const back = decodeSbeRecord(big.subarray(3, 3 + rec.length));
    expect([...back.sbe]).toEqual([1, 2, 3, 4]);
    expect(back.recvTsUs).toBe(42);
  });

  it('refuses every truncation and every extension of a record', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.maxSafeNat(), fc.nat(), (sbe, ts, cut) => {
        const rec = encodeSbeRecord(sbe, ts, 1);
        const n = cut % rec.length;
        expect(['TRUNCATED', 'BAD_MAGIC']).toContain(refused(rec.subarray(0, n)));
        expect(refused(Buffer.concat([rec, Buffer.from([0])]))).toBe('BAD_LENGTH');
      }),
    );
  });

  it('refuses a wrong magic, an unknown version, a short header length and a time past 2^53', () => {
    const rec = encodeSbeRecord(Uint8Array.from([1, 2]), 5, 1);
    expect(refused(Buffer.from('{"type":"trade"}'))).toBe('BAD_MAGIC');
    expect(refused(Uint8Array.from([0x1f, 0x8b, 8, 0]))).toBe('BAD_MAGIC');
    const v2 = Buffer.from(rec);
    v2[1] = 2;
    expect(refused(v2)).toBe('BAD_VERSION');
    const shortHeader = Buffer.from(rec);
    shortHeader.writeUInt16LE(12, 2);
    expect(refused(shortHeader)).toBe('BAD_HEADER');
    const future = Buffer.from(rec);
    future.writeUInt32LE(2 ** 21, 12);
    expect(refused(future)).toBe('BAD_TIMESTAMP');
  });

  it('skips header fields a later compatible writer appends (longer header, same version)', () => {
    const rec = encodeSbeRecord(Uint8Array.from([5, 6]), 99, 3);
    const longer = Buffer.concat([rec.subarray(0, 20), Buffer.from([0xaa, 0xbb]), rec.subarray(20)]);
    longer.writeUInt16LE(22, 2);
    const back = decodeSbeRecord(longer);
    expect([...back.sbe]).toEqual([5, 6]);
    expect(back.recvTsUs).toBe(99);
  });

  it('never throws anything but SbeRecordError on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const data = bytes.length > 0 ? Uint8Array.from([SBE_RECORD_MAGIC, ...bytes]) : bytes;
        try {
          decodeSbeRecord(data);
        } catch (err) {
          expect(err).toBeInstanceOf(SbeRecordError);
        }
      }),
    );
  });

  it('refuses caller bugs: a negative or unsafe time, a connection id beyond 32 bits', () => {
    expect(() => encodeSbeRecord(new Uint8Array(0), -1, 0)).toThrow(RangeError);
    expect(() => encodeSbeRecord(new Uint8Array(0), 2 ** 53, 0)).toThrow(RangeError);
    expect(() => encodeSbeRecord(new Uint8Array(0), 0, 2 ** 32)).toThrow(RangeError);
  });
});
