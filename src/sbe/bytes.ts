/**
 * Primitive reads straight from a Uint8Array, for the generated decoders. Decoding a frame through a
 * DataView needs `frame.buffer` and `new DataView(...)` per frame, which on Node 20 cost more than the
 * whole rest of decoding a small message; indexed byte loads need neither. Callers check bounds first
 * (every decoder does before it reads), so no read here goes past the end.
 */

const TWO_POW_32 = 4294967296;

export const EMPTY_BYTES = new Uint8Array(0);

export function rdInt8(b: Uint8Array, o: number): number {
  return (b[o] << 24) >> 24;
}

export function rdUint16Le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

export function rdUint16Be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function rdInt16Le(b: Uint8Array, o: number): number {
  return ((b[o] | (b[o + 1] << 8)) << 16) >> 16;
}

export function rdInt16Be(b: Uint8Array, o: number): number {
  return (((b[o] << 8) | b[o + 1]) << 16) >> 16;
}

export function rdInt32Le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}

export function rdInt32Be(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

export function rdUint32Le(b: Uint8Array, o: number): number {
  return rdInt32Le(b, o) >>> 0;
}

export function rdUint32Be(b: Uint8Array, o: number): number {
  return rdInt32Be(b, o) >>> 0;
}

/** The two 32-bit words of an int64 at `o`: [low as uint32, high as int32]. */
function words(b: Uint8Array, o: number, littleEndian: boolean): [number, number] {
  return littleEndian ? [rdUint32Le(b, o), rdInt32Le(b, o + 4)] : [rdUint32Be(b, o + 4), rdInt32Be(b, o)];
}

export function rdInt64Le(b: Uint8Array, o: number): bigint {
  const [lo, hi] = words(b, o, true);
  return (BigInt(hi) << 32n) + BigInt(lo);
}

export function rdInt64Be(b: Uint8Array, o: number): bigint {
  const [lo, hi] = words(b, o, false);
  return (BigInt(hi) << 32n) + BigInt(lo);
}

export function rdUint64Le(b: Uint8Array, o: number): bigint {
  const [lo, hi] = words(b, o, true);
  return (BigInt(hi >>> 0) << 32n) + BigInt(lo);
}

export function rdUint64Be(b: Uint8Array, o: number): bigint {
  const [lo, hi] = words(b, o, false);
  return (BigInt(hi >>> 0) << 32n) + BigInt(lo);
}

// Floats are rare in market data: copy through a scratch DataView rather than decode IEEE 754 by hand.
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function toScratch(b: Uint8Array, o: number, n: number): DataView {
  for (let i = 0; i < n; i++) scratchBytes[i] = b[o + i];
  return scratch;
}

export function rdFloatLe(b: Uint8Array, o: number): number {
  return toScratch(b, o, 4).getFloat32(0, true);
}

export function rdFloatBe(b: Uint8Array, o: number): number {
  return toScratch(b, o, 4).getFloat32(0, false);
}

export function rdDoubleLe(b: Uint8Array, o: number): number {
  return toScratch(b, o, 8).getFloat64(0, true);
}

export function rdDoubleBe(b: Uint8Array, o: number): number {
  return toScratch(b, o, 8).getFloat64(0, false);
}

/**
 * An int64 as an exact JS number when |v| ≤ 2^53 - 1; otherwise undefined. Reads the two words without
 * allocating (no BigInt, no tuple).
 */
export function int64Number(b: Uint8Array, o: number, littleEndian: boolean): number | undefined {
  const lo = littleEndian ? rdUint32Le(b, o) : rdUint32Be(b, o + 4);
  const hi = littleEndian ? rdInt32Le(b, o + 4) : rdInt32Be(b, o);
  // hi in ±(2^21 - 1) is always safe; hi = -2^21 is safe unless lo = 0 (that is -2^53).
  if (hi <= 0x1fffff && (hi >= -0x1fffff || (hi === -0x200000 && lo !== 0))) return hi * TWO_POW_32 + lo;
  return undefined;
}
