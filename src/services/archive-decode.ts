/**
 * One Kinesis user record → the events it carries and what its envelope says beside them, for the archiver.
 * One place to follow the record formats the aggregator reads.
 */
import type { MarketEvent } from '../core/events.js';
import { decodeEventRecord, type DecodeOptions } from './aggregate-decode.js';

export interface ArchiveRecord {
  events: MarketEvent[];
  /** The venue's SBE message when the record carried it (a copy: the record's buffer is not kept alive). */
  sbe?: Uint8Array;
  /** The receive time the envelope carried, µs. */
  recvTsUs?: number;
}

/** Throws EventRecordError for a record the aggregator would refuse (it is counted, never archived). */
export function decodeArchiveRecord(data: Uint8Array, opts: DecodeOptions = {}): ArchiveRecord {
  return { events: [decodeEventRecord(data, opts)] };
}
