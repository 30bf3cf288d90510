/**
 * One Kinesis user record (already de-aggregated and gunzipped) → its market events, whatever format the
 * producer wrote: the SBE envelope (record-sbe.ts, first byte 0xB5) or the JSON of one event (first byte
 * '{'). The format is detected per record, so one stream may carry both (a rollout, a mixed fleet).
 *
 * Everything returned is validated completely: a record that is not a well-formed message of either
 * format, or whose values are unusable, throws EventRecordError with a specific message, which the callers
 * dead-letter and count like any other bad record. An SBE record is decoded and validated by the
 * aggregator's decode (decodeSbeUserRecordCore) and its events printed, so both accept the same records.
 */
import type { MarketEvent } from '../core/events.js';
import { toMarketEvent } from '../core/fixed-events.js';
import { decodeEventRecord, type DecodeOptions } from '../services/aggregate-decode.js';
import { decodeSbeUserRecordCore } from '../services/aggregate-decode-core.js';
import { isSbeRecord } from './record-sbe.js';

export type UserRecordFormat = 'sbe' | 'json';

export interface DecodedUserRecord {
  /** Usually one; a trades message of the venue may carry several trades. */
  events: MarketEvent[];
  format: UserRecordFormat;
  /** SBE records: the venue's message bytes (a view into the record). */
  sbe?: Uint8Array;
  /** SBE records: the receive time the ingestor stamped, µs. */
  recvTsUs?: number;
  /** SBE records: the ingestor's WebSocket connection that delivered the frame. */
  connectionId?: number;
}

export type UserRecordOptions = DecodeOptions;

/** The format of a user record by its first byte (anything not SBE is read as JSON). */
export function userRecordFormat(data: Uint8Array): UserRecordFormat {
  return isSbeRecord(data) ? 'sbe' : 'json';
}

/** Decode one user record of either format. Throws only EventRecordError. */
export function decodeUserRecord(data: Uint8Array, opts: UserRecordOptions = {}): DecodedUserRecord {
  if (!isSbeRecord(data)) return { events: [decodeEventRecord(data, opts)], format: 'json' };
  const { rec, events: core } = decodeSbeUserRecordCore(data, opts);
  const events = new Array<MarketEvent>(core.length);
  for (let i = 0; i < core.length; i++) events[i] = toMarketEvent(core[i]);
  return { events, format: 'sbe', sbe: rec.sbe, recvTsUs: rec.recvTsUs, connectionId: rec.connectionId };
}
