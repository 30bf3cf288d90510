/**
 * The aggregator's hot decode: one Kinesis user record → the events its core consumes. An SBE record
 * (record-sbe.ts) goes bytes → fixed-point CoreEvents (decodeFrameCore), with no decimal string made; a
 * JSON record goes through decodeEventRecord (strings, parsed once into fixed point when applied).
 *
 * CoreEvents are validated with the rules validateEvent applies to decoded strings (symbol alphabet,
 * event times within the bound, positive prices, unsigned quantities, bid below ask, U <= u). This is the
 * only decode and validation of an SBE record: decodeUserRecord (kinesis/record-format.ts) prints the
 * events it returns, so the two cannot accept or refuse different records.
 */
import { decodeFrameCore, SbeDecodeError } from '../binance/sbe-decode.js';
import { formatFixed, type Mantissa } from '../core/fixed.js';
import type { AnyEvent, CoreEvent, CoreLevels } from '../core/fixed-events.js';
import { decodeSbeRecord, isSbeRecord, SbeRecordError, type SbeRecord } from '../kinesis/record-sbe.js';
import { decodeEventRecord, EventRecordError, type DecodeOptions, type RecordErrorCode } from './aggregate-decode.js';

// Same alphabet as the Redis key names (redis/keys.ts) and validateEvent: anything else could not be projected.
const SYMBOL_RE = /^[A-Z0-9_-]{1,40}$/;

function fail(what: string, code: RecordErrorCode = 'invalid'): never {
  throw new EventRecordError(what, code);
}

function id(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) fail(`${what}: not a non-negative integer`);
  return v;
}

function time(v: number, what: string, maxUs: number): void {
  id(v, what);
  if (v > maxUs) fail(`${what}: ${v} µs is in the future (bound ${maxUs})`, 'future');
}

// The string form's bound (validateEvent): up to 40 digits before and after the point.
const DECIMAL_RE = /^\d{1,40}(?:\.\d{1,40})?$/;

/** The value's decimal text stays within 40 + 40 digits (always so for a safe mantissa at exponent -40..0). */
function digitsFit(m: Mantissa, e: number): boolean {
  if (typeof m === 'number' && e <= 0 && e >= -40) return true;
  const text = formatFixed(m, e);
  return DECIMAL_RE.test(text.charCodeAt(0) === 45 ? text.slice(1) : text);
}

function positive(m: Mantissa, e: number, what: string): void {
  if (!(m > 0)) fail(`${what}: must be positive`);
  if (!digitsFit(m, e)) fail(`${what}: more than 40 digits before or after the point`);
}

function unsigned(m: Mantissa, e: number, what: string): void {
  if (m < 0) fail(`${what}: not an unsigned decimal`);
  if (!digitsFit(m, e)) fail(`${what}: more than 40 digits before or after the point`);
}

function levels(c: CoreLevels, type: string): void {
  const lv = c.levels;
  for (let i = 0; i < c.bid_count + c.ask_count; i++) {
    const at = i < c.bid_count ? `bids[${i}]` : `asks[${i - c.bid_count}]`;
    const p = lv[2 * i];
    const q = lv[2 * i + 1];
    if (!(p > 0)) fail(`${type}.${at} price: must be positive`);
    if (q < 0) fail(`${type}.${at} quantity: not an unsigned decimal`);
    if (!digitsFit(p, c.price_e) || !digitsFit(q, c.qty_e)) fail(`${type}.${at}: more than 40 digits before or after the point`);
  }
}

/** Validate a decoded CoreEvent completely (see the module comment). Throws EventRecordError. */
export function validateCoreEvent(ev: CoreEvent, opts: DecodeOptions = {}): CoreEvent {
  const maxUs = opts.maxEventTsUs ?? Infinity;
  const type = ev.type;
  if (!SYMBOL_RE.test(ev.symbol)) fail(`${type}.symbol: ${JSON.stringify(ev.symbol).slice(0, 50)} is not 1-40 of A-Z 0-9 _ -`);
  time(ev.event_ts, `${type}.event_ts`, maxUs);
  switch (ev.type) {
    case 'trade':
      id(ev.trade_id, 'trade.trade_id');
      positive(ev.price_m, ev.price_e, 'trade.price');
      unsigned(ev.qty_m, ev.qty_e, 'trade.quantity');
      if (ev.transact_ts !== undefined) time(ev.transact_ts, 'trade.transact_ts', maxUs);
      break;
    case 'bestBidAsk':
      id(ev.sequence_id, 'bestBidAsk.sequence_id');
      positive(ev.bid_price_m, ev.price_e, 'bestBidAsk.bid_price');
      unsigned(ev.bid_qty_m, ev.qty_e, 'bestBidAsk.bid_quantity');
      positive(ev.ask_price_m, ev.price_e, 'bestBidAsk.ask_price');
      unsigned(ev.ask_qty_m, ev.qty_e, 'bestBidAsk.ask_quantity');
      // One exponent for both prices: the mantissas compare as the values do.
      if (ev.bid_price_m >= ev.ask_price_m) {
        fail(`bestBidAsk: bid ${formatFixed(ev.bid_price_m, ev.price_e)} is not below ask ${formatFixed(ev.ask_price_m, ev.price_e)}`);
      }
      break;
    case 'depth':
      if (id(ev.first_update_id, 'depth.first_update_id') > id(ev.final_update_id, 'depth.final_update_id')) fail('depth: first_update_id > final_update_id');
      levels(ev, 'depth');
      break;
    case 'depthSnapshot':
      id(ev.last_update_id, 'depthSnapshot.last_update_id');
      levels(ev, 'depthSnapshot');
      break;
  }
  return ev;
}

/** An SBE user record → its envelope and its validated CoreEvents. Throws only EventRecordError. */
export function decodeSbeUserRecordCore(data: Uint8Array, opts: DecodeOptions = {}): { rec: SbeRecord; events: CoreEvent[] } {
  let rec: SbeRecord;
  try {
    rec = decodeSbeRecord(data);
  } catch (err) {
    if (err instanceof SbeRecordError) throw new EventRecordError(`${err.message} (${err.code})`, 'malformed');
    throw err;
  }
  let events: CoreEvent[];
  try {
    events = decodeFrameCore(rec.sbe, rec.recvTsUs);
  } catch (err) {
    if (err instanceof SbeDecodeError) throw new EventRecordError(`SBE message ${err.code}: ${err.message}`, 'malformed');
    throw new EventRecordError(`SBE message: ${err instanceof Error ? err.message : String(err)}`, 'malformed');
  }
  for (const ev of events) validateCoreEvent(ev, opts);
  return { rec, events };
}

/** decodeUserRecord (kinesis/record-format.ts) for the aggregator: SBE records straight into CoreEvents. */
export function decodeUserRecordCore(data: Uint8Array, opts: DecodeOptions = {}): AnyEvent[] {
  if (!isSbeRecord(data)) return [decodeEventRecord(data, opts)];
  return decodeSbeUserRecordCore(data, opts).events;
}
