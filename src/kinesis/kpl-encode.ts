import { hash } from 'node:crypto';
import { KPL_FRAME_BYTES, KPL_MAGIC } from './kpl.js';

/**
 * One KPL aggregated record for user records that share one partition key, written straight into a
 * single buffer: magic, protobuf AggregatedRecord, MD5 of the protobuf. The bytes are identical to what
 * aws-kinesis-agg's RecordAggregator builds for the same records (the tests compare them); this path
 * skips its per-record objects, protobufjs' writer and the final concatenation, which the producer pays
 * for every call. Pure; no I/O.
 *
 * Protobuf layout (kpl.json, as protobufjs emits it):
 *   field 1 partition_key_table: 0x0a len key            (one entry)
 *   field 3 records, each:       0x1a len (
 *       field 1 partition_key_index: 0x08 0x00           (required, index 0)
 *       field 3 data:                0x1a len bytes )    (no hash-key index, no tags)
 */

export interface KplUserData {
  readonly data: Uint8Array;
}

export function encodeKplRecord(partitionKey: string, records: readonly KplUserData[]): Buffer {
  const pkBytes = Buffer.byteLength(partitionKey);
  let size = 1 + varintSize(pkBytes) + pkBytes;
  for (let i = 0; i < records.length; i++) {
    const n = records[i].data.length;
    const inner = 2 + 1 + varintSize(n) + n;
    size += 1 + varintSize(inner) + inner;
  }
  const out = Buffer.allocUnsafe(KPL_FRAME_BYTES + size);
  out[0] = KPL_MAGIC[0];
  out[1] = KPL_MAGIC[1];
  out[2] = KPL_MAGIC[2];
  out[3] = KPL_MAGIC[3];
  let p = 4;
  out[p++] = 0x0a;
  p = writeVarint(out, p, pkBytes);
  p += out.write(partitionKey, p, 'utf8');
  for (let i = 0; i < records.length; i++) {
    const data = records[i].data;
    const n = data.length;
    out[p++] = 0x1a;
    p = writeVarint(out, p, 2 + 1 + varintSize(n) + n);
    out[p++] = 0x08;
    out[p++] = 0x00;
    out[p++] = 0x1a;
    p = writeVarint(out, p, n);
    out.set(data, p);
    p += n;
  }
  hash('md5', out.subarray(4, p), 'buffer').copy(out, p);
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, p: number, n: number): number {
  while (n >= 0x80) {
    buf[p++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[p++] = n;
  return p;
}
