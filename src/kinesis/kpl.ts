import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { KplDecodeError } from './errors.js';
import { inflateRecord } from './record-compression.js';

/**
 * KPL aggregation format (protobuf inside magic bytes + MD5). Encoding goes through the `aws-kinesis-agg`
 * package; decoding is read here directly (the package's API takes and returns base64 strings).
 * The package is CommonJS with a broken .d.ts (it imports the v2 `aws-sdk`), so it is loaded with
 * createRequire and typed here by the small surface we use.
 */

interface AggEncodedRecord {
  partitionKey: string;
  data: Buffer;
}
interface AggUserRecordIn {
  partitionKey: string;
  data: Buffer;
}
interface AggRecordAggregator {
  addUserRecord(record: AggUserRecordIn): void;
  calculateUserRecordSize(record: AggUserRecordIn): number;
  build(): AggEncodedRecord | undefined;
  length(): number;
  /** Protobuf bytes accumulated so far (magic number and checksum excluded). */
  totalBytes: number;
}
interface AggModule {
  RecordAggregator: new () => AggRecordAggregator;
}

const agg = createRequire(import.meta.url)('aws-kinesis-agg') as AggModule;

/** The KPL magic prefix (0xF3899AC2). */
export const KPL_MAGIC = Buffer.from('f3899ac2', 'hex');
/** Magic number (4) + MD5 (16) framing every aggregated record. */
export const KPL_FRAME_BYTES = 20;

/**
 * Upper bound of what one user record adds to an aggregated record beyond its data: the record's
 * tag/length varints and partition-key index (≤ 12 bytes for data < 2^28) plus, at most once per
 * partition key, the key table entry. Used by the pure batch planner, which must not under-estimate.
 */
export function kplUserRecordOverhead(dataBytes: number): number {
  return 1 + varintSize(dataBytes + 16) + 1 + varintSize(dataBytes) + 1 + 5;
}
export function kplPartitionKeyOverhead(partitionKey: string): number {
  const n = Buffer.byteLength(partitionKey);
  return 1 + varintSize(n) + n;
}
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export interface UserRecord {
  data: Buffer;
  partitionKey: string;
  /** Position inside an aggregated record; undefined for a plain (non-aggregated) Kinesis record. */
  subSequenceNumber?: number;
}

/** True when `data` starts with the KPL magic number (plain JSON records start with `{`). */
export function isAggregated(data: Uint8Array): boolean {
  return data.length >= KPL_FRAME_BYTES && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2;
}

/**
 * Split one Kinesis record into its user records (checksum verified), gunzipping it first when the
 * producer compressed it. A plain record comes back as itself. Each user record's data is a view into
 * the (inflated) record's bytes: no copy and no base64 round trip. Throws KplDecodeError on a corrupt
 * aggregated or gzip record.
 */
export function deaggregateRecord(data: Uint8Array, partitionKey = '', _sequenceNumber = '0'): UserRecord[] {
  const buf = inflateRecord(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  if (!isAggregated(buf)) return [{ data: buf, partitionKey }];
  const body = buf.subarray(4, buf.length - 16);
  const digest = createHash('md5').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - 16))) throw new KplDecodeError('Invalid record checksum');
  return parseAggregated(body);
}

/** Wire types of protocol buffers. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * A minimal reader of the KPL AggregatedRecord message: partition_key_table (1), explicit_hash_key_table
 * (2, skipped), records (3: partition_key_index 1, explicit_hash_key_index 2, data 3, tags 4). Unknown
 * fields are skipped as protobuf requires.
 */
class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new KplDecodeError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new KplDecodeError('varint beyond 2^53');
        return result;
      }
      scale *= 128;
    }
    throw new KplDecodeError('varint longer than 10 bytes');
  }

  /** A length-delimited field's [start, end). */
  span(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (n > this.end - start) throw new KplDecodeError(`field of ${n} bytes past the end of the record`);
    this.pos = start + n;
    return [start, start + n];
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.span();
    else if (wireType === FIXED64 || wireType === FIXED32) {
      const n = wireType === FIXED64 ? 8 : 4;
      if (this.pos + n > this.end) throw new KplDecodeError('truncated fixed-width field');
      this.pos += n;
    } else throw new KplDecodeError(`unsupported protobuf wire type ${wireType}`);
  }
}

function parseAggregated(body: Buffer): UserRecord[] {
  const r = new ProtoReader(body, 0, body.length);
  const keys: string[] = [];
  const spans: Array<{ keyIndex: number; start: number; end: number }> = [];
  while (!r.done()) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === LENGTH_DELIMITED) {
      const [a, b] = r.span();
      keys.push(body.toString('utf8', a, b));
    } else if (field === 3 && wireType === LENGTH_DELIMITED) {
      const [a, b] = r.span();
      spans.push(parseUserRecord(body, a, b));
    } else {
      r.skip(wireType);
    }
  }
  const out = new Array<UserRecord>(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.keyIndex >= keys.length) throw new KplDecodeError(`user record ${i}: partition key index ${s.keyIndex} of ${keys.length}`);
    out[i] = { data: body.subarray(s.start, s.end), partitionKey: keys[s.keyIndex], subSequenceNumber: i };
  }
  return out;
}

function parseUserRecord(body: Buffer, start: number, end: number): { keyIndex: number; start: number; end: number } {
  const r = new ProtoReader(body, start, end);
  let keyIndex = -1;
  let data: [number, number] | undefined;
  while (!r.done()) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === VARINT) keyIndex = r.varint();
    else if (field === 3 && wireType === LENGTH_DELIMITED) data = r.span();
    else r.skip(wireType);
  }
  if (keyIndex < 0) throw new KplDecodeError('user record without a partition key index');
  if (data === undefined) throw new KplDecodeError('user record without data');
  return { keyIndex, start: data[0], end: data[1] };
}

/** Builds one aggregated record at a time from user records of (usually) one partition key. */
export class KplAggregator {
  private inner: AggRecordAggregator = new agg.RecordAggregator();

  /** Encoded size of the record built so far (magic + protobuf + MD5). */
  get size(): number {
    return this.inner.length() === 0 ? 0 : this.inner.totalBytes + KPL_FRAME_BYTES;
  }

  get count(): number {
    return this.inner.length();
  }

  /** The encoded size after adding this user record. */
  sizeWith(partitionKey: string, data: Buffer): number {
    return KPL_FRAME_BYTES + this.inner.totalBytes + this.inner.calculateUserRecordSize({ partitionKey, data });
  }

  add(partitionKey: string, data: Buffer): void {
    this.inner.addUserRecord({ partitionKey, data });
  }

  /** The encoded record (partition key = the first user record's), and a reset; undefined when empty. */
  build(): AggEncodedRecord | undefined {
    if (this.inner.length() === 0) return undefined;
    return this.inner.build();
  }
}

/** Aggregate user records into as few KPL records as fit under `maxRecordBytes` each (tests, tools). */
export function aggregateRecords(
  records: ReadonlyArray<{ partitionKey: string; data: Buffer }>,
  maxRecordBytes = 1024 * 1024,
): AggEncodedRecord[] {
  const out: AggEncodedRecord[] = [];
  const a = new KplAggregator();
  for (const r of records) {
    if (a.count > 0 && a.sizeWith(r.partitionKey, r.data) + Buffer.byteLength(r.partitionKey) > maxRecordBytes) {
      const built = a.build();
      if (built) out.push(built);
    }
    a.add(r.partitionKey, r.data);
  }
  const last = a.build();
  if (last) out.push(last);
  return out;
}
