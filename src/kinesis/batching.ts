import { KPL_FRAME_BYTES, kplPartitionKeyOverhead, kplUserRecordOverhead } from './kpl.js';

/** Kinesis service limits (PutRecords). Partition keys count toward both byte limits. */
export const KINESIS_LIMITS = Object.freeze({
  maxRecordsPerCall: 500,
  maxBytesPerCall: 5 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
  maxPartitionKeyLength: 256,
});

export interface BatchLimits {
  /** ≤ 500. */
  maxRecordsPerCall: number;
  /** ≤ 5 MiB, data + partition keys. */
  maxBytesPerCall: number;
  /** ≤ 1 MiB, data + partition key of one Kinesis record. */
  maxRecordBytes: number;
  /** User events per call (the adaptive batch size). */
  maxEventsPerCall: number;
  /** KPL aggregation: one Kinesis record per partition key per call. */
  aggregate: boolean;
}

/** What the planner sees of one partition key's queue: the sizes of its waiting events, oldest first. */
export interface LaneView {
  partitionKey: string;
  length: number;
  sizeAt(index: number): number;
}

/** `events` events from the head of lane `lane` form one Kinesis record of at most `bytes` bytes. */
export interface PlannedRecord {
  lane: number;
  events: number;
  bytes: number;
}

/** The largest event payload that can ever be sent for this partition key (bigger ones are rejected). */
export function maxEventBytes(partitionKey: string, aggregate: boolean, maxRecordBytes = KINESIS_LIMITS.maxRecordBytes): number {
  const pk = Buffer.byteLength(partitionKey);
  if (!aggregate) return maxRecordBytes - pk;
  // Solve size + overhead(size) ≤ budget; the overhead varies by a few bytes with size, so step down.
  const budget = maxRecordBytes - pk - KPL_FRAME_BYTES - kplPartitionKeyOverhead(partitionKey);
  let size = budget;
  while (size > 0 && size + kplUserRecordOverhead(size) > budget) size--;
  return size;
}

/**
 * Choose what the next PutRecords call carries. Pure: lanes in priority order (oldest waiting event
 * first), limits in, records out. With aggregation each lane yields at most one record per call, so a
 * partial failure can never let a later record of the same key overtake an earlier one.
 */
export function planPutRecords(lanes: readonly LaneView[], limits: BatchLimits): PlannedRecord[] {
  const out: PlannedRecord[] = [];
  let callBytes = 0;
  let callEvents = 0;
  for (let l = 0; l < lanes.length; l++) {
    if (out.length >= limits.maxRecordsPerCall || callEvents >= limits.maxEventsPerCall) break;
    const lane = lanes[l];
    const pkBytes = Buffer.byteLength(lane.partitionKey);
    if (limits.aggregate) {
      let bytes = pkBytes + KPL_FRAME_BYTES + kplPartitionKeyOverhead(lane.partitionKey);
      let n = 0;
      while (n < lane.length && callEvents + n < limits.maxEventsPerCall) {
        const size = lane.sizeAt(n);
        const next = bytes + size + kplUserRecordOverhead(size);
        if (next > limits.maxRecordBytes || callBytes + next > limits.maxBytesPerCall) break;
        bytes = next;
        n++;
      }
      if (n === 0) continue;
      out.push({ lane: l, events: n, bytes });
      callBytes += bytes;
      callEvents += n;
    } else {
      for (let i = 0; i < lane.length; i++) {
        if (out.length >= limits.maxRecordsPerCall || callEvents >= limits.maxEventsPerCall) break;
        const bytes = lane.sizeAt(i) + pkBytes;
        if (bytes > limits.maxRecordBytes || callBytes + bytes > limits.maxBytesPerCall) break;
        out.push({ lane: l, events: 1, bytes });
        callBytes += bytes;
        callEvents += 1;
      }
    }
  }
  return out;
}
