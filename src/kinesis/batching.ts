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
  /** KPL aggregation: a lane's events of one call go in one Kinesis record (shared with its shard's lanes). */
  aggregate: boolean;
}

/** What the planner sees of one partition key's queue: the sizes of its waiting events, oldest first. */
export interface LaneView {
  partitionKey: string;
  length: number;
  sizeAt(index: number): number;
  /**
   * The shard this key is predicted to land on. With aggregation, lanes of one shard share one KPL record
   * (each user record keeps its own key in the record's key table); undefined keeps the lane on its own.
   */
  shard?: string;
}

/** `events` events from the head of lane `lane`. */
export interface PlannedPart {
  lane: number;
  events: number;
}

/**
 * One Kinesis record of at most `bytes` bytes: the head events of each part's lane, parts in order. Its
 * partition key is that of `lane` (the first part's); `events` counts the events of all parts.
 */
export interface PlannedRecord {
  lane: number;
  events: number;
  bytes: number;
  parts: PlannedPart[];
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
 * first), limits in, records out. With aggregation each lane contributes to at most one record per call,
 * so a partial failure can never let a later event of a key overtake an earlier one; lanes predicted to
 * the same shard are packed into that shard's record (a new one is opened only when the lane gets more
 * events that way).
 */
export function planPutRecords(lanes: readonly LaneView[], limits: BatchLimits): PlannedRecord[] {
  return limits.aggregate ? planAggregated(lanes, limits) : planPlain(lanes, limits);
}

function planAggregated(lanes: readonly LaneView[], limits: BatchLimits): PlannedRecord[] {
  const out: PlannedRecord[] = [];
  /** The record of each shard that later lanes of that shard join. */
  const openByShard = new Map<string, PlannedRecord>();
  let callBytes = 0;
  let callEvents = 0;
  // How many head events of `lane` fit in a record already `recordBytes` big (`counted` of it already in
  // callBytes), and the record's size with them.
  const fill = (lane: LaneView, recordBytes: number, counted: number): [number, number] => {
    let bytes = recordBytes;
    let n = 0;
    while (n < lane.length && callEvents + n < limits.maxEventsPerCall) {
      const size = lane.sizeAt(n);
      const next = bytes + size + kplUserRecordOverhead(size);
      if (next > limits.maxRecordBytes || callBytes - counted + next > limits.maxBytesPerCall) break;
      bytes = next;
      n++;
    }
    return [n, bytes];
  };
  for (let l = 0; l < lanes.length; l++) {
    if (callEvents >= limits.maxEventsPerCall) break;
    const lane = lanes[l];
    const keyBytes = kplPartitionKeyOverhead(lane.partitionKey);
    const open = lane.shard === undefined ? undefined : openByShard.get(lane.shard);
    let joined: [number, number] = [0, 0];
    if (open) joined = fill(lane, open.bytes + keyBytes, open.bytes);
    const wanted = Math.min(lane.length, limits.maxEventsPerCall - callEvents);
    let fresh: [number, number] = [0, 0];
    if (joined[0] < wanted && out.length < limits.maxRecordsPerCall) {
      fresh = fill(lane, Buffer.byteLength(lane.partitionKey) + KPL_FRAME_BYTES + keyBytes, 0);
    }
    if (open && joined[0] > 0 && joined[0] >= fresh[0]) {
      callBytes += joined[1] - open.bytes;
      callEvents += joined[0];
      open.bytes = joined[1];
      open.events += joined[0];
      open.parts.push({ lane: l, events: joined[0] });
    } else if (fresh[0] > 0) {
      const rec: PlannedRecord = { lane: l, events: fresh[0], bytes: fresh[1], parts: [{ lane: l, events: fresh[0] }] };
      out.push(rec);
      if (lane.shard !== undefined) openByShard.set(lane.shard, rec);
      callBytes += fresh[1];
      callEvents += fresh[0];
    }
  }
  return out;
}

function planPlain(lanes: readonly LaneView[], limits: BatchLimits): PlannedRecord[] {
  const out: PlannedRecord[] = [];
  let callBytes = 0;
  let callEvents = 0;
  for (let l = 0; l < lanes.length; l++) {
    const lane = lanes[l];
    const pkBytes = Buffer.byteLength(lane.partitionKey);
    for (let i = 0; i < lane.length; i++) {
      if (out.length >= limits.maxRecordsPerCall || callEvents >= limits.maxEventsPerCall) return out;
      const bytes = lane.sizeAt(i) + pkBytes;
      if (bytes > limits.maxRecordBytes || callBytes + bytes > limits.maxBytesPerCall) break;
      out.push({ lane: l, events: 1, bytes, parts: [{ lane: l, events: 1 }] });
      callBytes += bytes;
      callEvents += 1;
    }
  }
  return out;
}
