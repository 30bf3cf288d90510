/**
 * Kinesis user record v2: the venue's SBE message exactly as received, behind a small fixed header.
 *
 *   offset  size  type     field
 *        0     1  u8       magic 0xB5 (never '{' 0x7B of a JSON record, 0x1F of gzip, 0xF3 of KPL)
 *        1     1  u8       version, 1
 *        2     2  u16 LE   header length H = offset of the SBE message (20 in version 1)
 *        4     4  u32 LE   connection id of the WebSocket connection that delivered the frame
 *        8     8  u64 LE   receive time, µs since the Unix epoch (< 2^53)
 *       16     4  u32 LE   SBE message length L
 *        H     L  bytes    the SBE message (message header included), byte for byte
 *
 * The record is exactly H + L bytes long. Fields appended to the header in a compatible way raise H and
 * keep the version; a reader of version 1 skips them. A different version is an incompatible layout.
 * Little-endian like the SBE schema itself. Pure; no I/O.
 */

export const SBE_RECORD_MAGIC = 0xb5;
export const SBE_RECORD_VERSION = 1;
/** Header bytes written by this version. */
export const SBE_RECORD_HEADER_BYTES = 20;

const TWO_32 = 2 ** 32;
/** The high word of a receive time must keep the value below 2^53. */
const MAX_HI = 2 ** 21 - 1;

/** Why an envelope was refused, for callers that count by reason. */
export type SbeRecordErrorCode = 'TRUNCATED' | 'BAD_MAGIC' | 'BAD_VERSION' | 'BAD_HEADER' | 'BAD_LENGTH' | 'BAD_TIMESTAMP';

export class SbeRecordError extends Error {
  override readonly name = 'SbeRecordError';
  constructor(
    readonly code: SbeRecordErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SbeRecord {
  /** The SBE message: a view into the record's bytes (not a copy). */
  sbe: Uint8Array;
  recvTsUs: number;
  connectionId: number;
}

/** True when `data` starts like a record of this envelope (any version): the cheap format check. */
export function isSbeRecord(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === SBE_RECORD_MAGIC;
}

/**
 * One record: header + a copy of `sbe`. `recvTsUs` must be a non-negative safe integer and
 * `connectionId` an unsigned 32-bit integer (RangeError otherwise: a caller bug, not bad input).
 */
export function encodeSbeRecord(sbe: Uint8Array, recvTsUs: number, connectionId: number): Buffer {
  if (!Number.isSafeInteger(recvTsUs) || recvTsUs < 0) throw new RangeError(`recvTsUs must be a non-negative safe integer, got ${recvTsUs}`);
  if (!Number.isInteger(connectionId) || connectionId < 0 || connectionId >= TWO_32) {
    throw new RangeError(`connectionId must be an unsigned 32-bit integer, got ${connectionId}`);
  }
  const out = Buffer.allocUnsafe(SBE_RECORD_HEADER_BYTES + sbe.length);
  out[0] = SBE_RECORD_MAGIC;
  out[1] = SBE_RECORD_VERSION;
  out.writeUInt16LE(SBE_RECORD_HEADER_BYTES, 2);
  out.writeUInt32LE(connectionId, 4);
  const hi = Math.floor(recvTsUs / TWO_32);
  out.writeUInt32LE(recvTsUs - hi * TWO_32, 8);
  out.writeUInt32LE(hi, 12);
  out.writeUInt32LE(sbe.length, 16);
  out.set(sbe, SBE_RECORD_HEADER_BYTES);
  return out;
}

/** Parse one record. Throws SbeRecordError (with the offending field) for anything but a whole, consistent record. */
export function decodeSbeRecord(data: Uint8Array): SbeRecord {
  const n = data.length;
  if (n < 4) throw new SbeRecordError('TRUNCATED', `SBE record: ${n} bytes, shorter than its fixed header`);
  if (data[0] !== SBE_RECORD_MAGIC) throw new SbeRecordError('BAD_MAGIC', `SBE record: first byte 0x${data[0].toString(16).padStart(2, '0')} is not 0xb5`);
  if (data[1] !== SBE_RECORD_VERSION) throw new SbeRecordError('BAD_VERSION', `SBE record: version ${data[1]} is not supported (this reader knows version ${SBE_RECORD_VERSION})`);
  const view = new DataView(data.buffer, data.byteOffset, n);
  const headerLength = view.getUint16(2, true);
  if (headerLength < SBE_RECORD_HEADER_BYTES) {
    throw new SbeRecordError('BAD_HEADER', `SBE record: header length ${headerLength} is below the ${SBE_RECORD_HEADER_BYTES} bytes of version ${SBE_RECORD_VERSION}`);
  }
  if (n < headerLength) throw new SbeRecordError('TRUNCATED', `SBE record: ${n} bytes, shorter than its ${headerLength}-byte header`);
  const connectionId = view.getUint32(4, true);
  const lo = view.getUint32(8, true);
  const hi = view.getUint32(12, true);
  if (hi > MAX_HI) throw new SbeRecordError('BAD_TIMESTAMP', 'SBE record: receive time is not below 2^53 µs');
  const length = view.getUint32(16, true);
  if (headerLength + length !== n) {
    const code = headerLength + length > n ? 'TRUNCATED' : 'BAD_LENGTH';
    throw new SbeRecordError(code, `SBE record: header ${headerLength} + message ${length} bytes, but the record has ${n}`);
  }
  return { sbe: data.subarray(headerLength, n), recvTsUs: hi * TWO_32 + lo, connectionId };
}
