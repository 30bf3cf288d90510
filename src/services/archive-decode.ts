/**
 * One Kinesis user record → the events it carries and what its envelope says beside them, for the archiver.
 * The same decoder as the aggregator's (JSON event or SBE envelope, detected per record).
 */
import type { MarketEvent } from '../core/events.js';
import { decodeUserRecord } from '../kinesis/record-format.js';
import type { DecodeOptions } from './aggregate-decode.js';

export interface ArchiveRecord {
  events: MarketEvent[];
  /** The venue's SBE message when the record carried it (a view into the record: copy before keeping). */
  sbe?: Uint8Array;
  /** The receive time the envelope carried, µs. */
  recvTsUs?: number;
}

/** Throws EventRecordError for a record the aggregator would refuse (it is counted, never archived). */
export function decodeArchiveRecord(data: Uint8Array, opts: DecodeOptions = {}): ArchiveRecord {
  const r = decodeUserRecord(data, opts);
  return { events: r.events, sbe: r.sbe, recvTsUs: r.recvTsUs };
}
