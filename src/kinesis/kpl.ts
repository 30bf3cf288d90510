import { createRequire } from 'node:module';
import { KplDecodeError } from './errors.js';
import { inflateRecord } from './record-compression.js';

/**
 * KPL aggregation format (protobuf inside magic bytes + MD5) through the `aws-kinesis-agg` package.
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
interface AggUserRecordOut {
  partitionKey: string;
  sequenceNumber: string;
  subSequenceNumber?: number;
  data: string;
}
interface AggModule {
  RecordAggregator: new () => AggRecordAggregator;
  deaggregateSync(
    record: { partitionKey: string; sequenceNumber: string; data: string },
    computeChecksums: boolean,
    done: (err: Error | null | undefined, records?: AggUserRecordOut[]) => void,
  ): void;
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
 * producer compressed it. A plain record comes back as itself. Throws KplDecodeError on a corrupt
 * aggregated or gzip record.
 */
export function deaggregateRecord(data: Uint8Array, partitionKey = '', sequenceNumber = '0'): UserRecord[] {
  const buf = inflateRecord(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  if (!isAggregated(buf)) return [{ data: buf, partitionKey }];
  let failure: Error | undefined;
  let out: AggUserRecordOut[] = [];
  agg.deaggregateSync({ partitionKey, sequenceNumber, data: buf.toString('base64') }, true, (err, records) => {
    // The package may report a per-record error and then the final result; keep the first error.
    if (err) failure ??= err;
    else if (records) out = records;
  });
  if (failure) throw new KplDecodeError(failure.message, { cause: failure });
  return out.map((r) => ({
    data: Buffer.from(r.data, 'base64'),
    partitionKey: r.partitionKey,
    subSequenceNumber: r.subSequenceNumber ?? 0,
  }));
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
