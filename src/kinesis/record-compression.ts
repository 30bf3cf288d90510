import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { KplDecodeError } from './errors.js';

/**
 * Optional gzip of whole Kinesis records (a KPL aggregate or a single JSON event), self-describing by the
 * gzip magic so readers need no setting: JSON starts with `{`, KPL with F3 89 9A C2, gzip with 1F 8B.
 * The event JSON is repetitive (the same keys in every event), so it shrinks several times. That cuts
 * shard bandwidth (1 MB/s per shard on AWS) and, a little, kinesis-local's time per call.
 */
export type RecordCompression = 'none' | 'gzip';

/** Level 1: most of the size gain at a fraction of the CPU of the default level (hot path). */
const GZIP_LEVEL = 1;
/** A record is at most 1 MiB on the wire; anything inflating past this is refused, not expanded. */
export const MAX_INFLATED_RECORD_BYTES = 32 * 1024 * 1024;

export function compressRecord(data: Buffer, compression: RecordCompression): Buffer {
  return compression === 'gzip' ? gzipSync(data, { level: GZIP_LEVEL }) : data;
}

export function isGzipped(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/** The record's bytes with gzip removed when present. Throws KplDecodeError on a corrupt or oversized one. */
export function inflateRecord(data: Buffer): Buffer {
  if (!isGzipped(data)) return data;
  try {
    return gunzipSync(data, { maxOutputLength: MAX_INFLATED_RECORD_BYTES });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || (err as { errno?: number }).errno === constants.Z_BUF_ERROR;
    const what = tooLarge ? `inflates past ${MAX_INFLATED_RECORD_BYTES} bytes` : (err as Error).message;
    throw new KplDecodeError(`gzip record: ${what}`, { cause: err });
  }
}
