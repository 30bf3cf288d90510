/** Small helpers the generated codec (generated.ts) calls; kept hand-written so the emitter stays short. */
import { int64Number, rdInt64Be, rdInt64Le } from './bytes.js';
import { SbeDecodeError, SbeEncodeError } from './errors.js';

export { SbeDecodeError, SbeEncodeError } from './errors.js';
export type { SbeDecodeErrorCode } from './errors.js';
export { cachedMantissaAt } from './decimal-cache.js';
export * from './bytes.js';

/** An int64 as a JS number, exactly, or VALUE_OUT_OF_RANGE when it is beyond ±(2^53 - 1). */
export function int64AsNumber(b: Uint8Array, offset: number, field: string, littleEndian = true): number {
  const v = int64Number(b, offset, littleEndian);
  if (v === undefined) throw outOfRange(b, offset, field, littleEndian);
  return v;
}

function outOfRange(b: Uint8Array, offset: number, field: string, littleEndian: boolean): SbeDecodeError {
  const v = littleEndian ? rdInt64Le(b, offset) : rdInt64Be(b, offset);
  return new SbeDecodeError('VALUE_OUT_OF_RANGE', `${field} ${v} does not fit a safe integer`);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes → string; ASCII without the TextDecoder round trip. Invalid UTF-8 → SbeDecodeError(code). */
export function decodeUtf8(b: Uint8Array, offset: number, length: number, code: 'BAD_STRING' | 'BAD_SYMBOL', field: string): string {
  if (length <= 64) {
    let s = '';
    let i = 0;
    for (; i < length; i++) {
      const c = b[offset + i];
      if (c >= 0x80) break;
      s += String.fromCharCode(c);
    }
    if (i === length) return s;
  }
  try {
    return strictUtf8.decode(b.subarray(offset, offset + length));
  } catch {
    throw new SbeDecodeError(code, `${field} is not valid UTF-8`);
  }
}

export function truncated(what: string, need: number, have: number): SbeDecodeError {
  return new SbeDecodeError('TRUNCATED', `${what} needs ${need} bytes, only ${have} remain`);
}

export function checkEncodeRange(field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new SbeEncodeError(`${field} ${v} is outside [${min}, ${max}]`);
  return v;
}

export const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function checkInt64(field: string, v: bigint): void {
  if (v < INT64_MIN || v > INT64_MAX) throw new SbeEncodeError(`${field} ${v} does not fit an int64`);
}
