import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as rd from '../../../src/sbe/bytes.js';

/** Random bytes with a random read position; every reader must agree with DataView at that position. */
const SAMPLE = fc.tuple(fc.uint8Array({ minLength: 8, maxLength: 24 }), fc.nat()).map(([bytes, n]) => ({ bytes, at: n % (bytes.length - 7) }));

describe('Uint8Array readers agree with DataView', () => {
  it('every primitive in both byte orders, at any offset', () => {
    fc.assert(
      fc.property(SAMPLE, ({ bytes, at }) => {
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect(rd.rdInt8(bytes, at)).toBe(v.getInt8(at));
        expect(rd.rdUint16Le(bytes, at)).toBe(v.getUint16(at, true));
        expect(rd.rdUint16Be(bytes, at)).toBe(v.getUint16(at, false));
        expect(rd.rdInt16Le(bytes, at)).toBe(v.getInt16(at, true));
        expect(rd.rdInt16Be(bytes, at)).toBe(v.getInt16(at, false));
        expect(rd.rdInt32Le(bytes, at)).toBe(v.getInt32(at, true));
        expect(rd.rdInt32Be(bytes, at)).toBe(v.getInt32(at, false));
        expect(rd.rdUint32Le(bytes, at)).toBe(v.getUint32(at, true));
        expect(rd.rdUint32Be(bytes, at)).toBe(v.getUint32(at, false));
        expect(rd.rdInt64Le(bytes, at)).toBe(v.getBigInt64(at, true));
        expect(rd.rdInt64Be(bytes, at)).toBe(v.getBigInt64(at, false));
        expect(rd.rdUint64Le(bytes, at)).toBe(v.getBigUint64(at, true));
        expect(rd.rdUint64Be(bytes, at)).toBe(v.getBigUint64(at, false));
        expect(rd.rdFloatLe(bytes, at)).toBe(v.getFloat32(at, true));
        expect(rd.rdFloatBe(bytes, at)).toBe(v.getFloat32(at, false));
        expect(rd.rdDoubleLe(bytes, at)).toBe(v.getFloat64(at, true));
        expect(rd.rdDoubleBe(bytes, at)).toBe(v.getFloat64(at, false));
      }),
      { numRuns: 2000 },
    );
  });

  it('works on a view that starts inside a larger buffer', () => {
    const backing = new Uint8Array([9, 9, 9, 0x34, 0x12, 0xff, 0xff, 0xff, 0x7f]);
    const bytes = backing.subarray(3);
    expect(rd.rdUint16Le(bytes, 0)).toBe(0x1234);
    expect(rd.rdInt32Le(bytes, 2)).toBe(0x7fffffff);
  });
});

describe('int64Number', () => {
  const exact = (m: bigint, littleEndian: boolean): number | undefined => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, m, littleEndian);
    return rd.int64Number(bytes, 0, littleEndian);
  };

  it('is the exact value for every safe integer and undefined beyond ±(2^53 - 1)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.boolean(), (m, le) => {
        const safe = m >= -(2n ** 53n - 1n) && m <= 2n ** 53n - 1n;
        expect(exact(m, le)).toBe(safe ? Number(m) : undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('edges', () => {
    for (const le of [true, false]) {
      expect(exact(2n ** 53n - 1n, le)).toBe(Number.MAX_SAFE_INTEGER);
      expect(exact(-(2n ** 53n - 1n), le)).toBe(Number.MIN_SAFE_INTEGER);
      expect(exact(2n ** 53n, le)).toBeUndefined();
      expect(exact(-(2n ** 53n), le)).toBeUndefined();
      expect(exact(-(2n ** 53n) + (1n << 32n), le)).toBe(Number(-(2n ** 53n) + (1n << 32n)));
      expect(exact(-1n, le)).toBe(-1);
      expect(exact(0n, le)).toBe(0);
    }
  });
});
