/**
 * One Kinesis user record (already de-aggregated and gunzipped) → its market events, whatever format the
 * producer wrote: the SBE envelope (record-sbe.ts, first byte 0xB5) or the JSON of one event (first byte
 * '{'). The format is detected per record, so one stream may carry both (a rollout, a mixed fleet).
 *
 * Everything returned is validated completely (see validateEvent): a record that is not a well-formed
 * message of either format, or whose values are unusable, throws EventRecordError with a specific
 * message, which the callers dead-letter and count like any other bad record.
 */
import { decodeFrame, SbeDecodeError } from '../binance/sbe-decode.js';
import type { MarketEvent } from '../core/events.js';
import { EventRecordError, validateEvent, decodeEventRecord, type DecodeOptions } from '../services/aggregate-decode.js';
import { decodeSbeRecord, isSbeRecord, SbeRecordError } from './record-sbe.js';

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
  let rec;
  try {
    rec = decodeSbeRecord(data);
  } catch (err) {
    if (err instanceof SbeRecordError) throw new EventRecordError(`${err.message} (${err.code})`, 'malformed');
    throw err;
  }
  let decoded: MarketEvent[];
  try {
    decoded = decodeFrame(rec.sbe, rec.recvTsUs);
  } catch (err) {
    if (err instanceof SbeDecodeError) throw new EventRecordError(`SBE message ${err.code}: ${err.message}`, 'malformed');
    throw new EventRecordError(`SBE message: ${err instanceof Error ? err.message : String(err)}`, 'malformed');
  }
  const events = new Array<MarketEvent>(decoded.length);
  for (let i = 0; i < decoded.length; i++) events[i] = validateEvent(decoded[i], opts);
  return { events, format: 'sbe', sbe: rec.sbe, recvTsUs: rec.recvTsUs, connectionId: rec.connectionId };
}
