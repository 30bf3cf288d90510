/**
 * Kinesis user record → normalized MarketEvent. The ingestors put each event on Kinesis as the JSON of
 * src/core/events.ts; this checks the shape AND the values at the boundary (a bad record is counted and
 * dead-lettered, never allowed to crash the aggregator, reach the core half-typed, or fail a Redis write
 * later): symbols fit a key, prices and quantities are decimals, times are non-negative and not past the
 * wall-clock bound the caller gives.
 */
import type { EventSource, Level, MarketEvent } from '../core/events.js';
import { compareDecimals } from '../core/decimal.js';

/** Why a record was rejected, for the metric label (bounded) — the message carries the detail. */
export type RecordErrorCode = 'malformed' | 'invalid' | 'future';

export class EventRecordError extends Error {
  override readonly name = 'EventRecordError';
  constructor(
    message: string,
    readonly code: RecordErrorCode = 'invalid',
  ) {
    super(message);
  }
}

export interface DecodeOptions {
  /** Event times (event_ts, a trade's transact_ts) later than this, µs, are rejected ('future'). */
  maxEventTsUs?: number;
}

type Obj = Record<string, unknown>;

const SOURCES: ReadonlySet<string> = new Set<EventSource>(['sbe', 'json', 'rest']);
// Same alphabet as the Redis key names (redis/keys.ts): anything else could not be projected.
const SYMBOL_RE = /^[A-Z0-9_-]{1,40}$/;
// Venue decimals are int64 mantissas with small exponents; the length cap keeps BigInt work bounded.
const DECIMAL_RE = /^\d{1,40}(?:\.\d{1,40})?$/;
const NONZERO_RE = /[1-9]/;

function fail(what: string, code: RecordErrorCode = 'invalid'): never {
  throw new EventRecordError(what, code);
}

function int(o: Obj, key: string, type: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${type}.${key}: not a non-negative integer`);
  return v;
}

/** An unsigned decimal string; `positive` also rejects zero (prices). */
function dec(v: unknown, what: string, positive: boolean): string {
  if (typeof v !== 'string' || !DECIMAL_RE.test(v)) fail(`${what}: not an unsigned decimal string`);
  if (positive && !NONZERO_RE.test(v)) fail(`${what}: must be positive`);
  return v;
}

function eventTime(o: Obj, key: string, type: string, maxUs: number): void {
  const t = int(o, key, type);
  if (t > maxUs) fail(`${type}.${key}: ${t} µs is in the future (bound ${maxUs})`, 'future');
}

function levels(o: Obj, key: string, type: string): Level[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${type}.${key}: not a list of levels`);
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length !== 2) fail(`${type}.${key}[${i}]: not a [price, quantity] pair`);
    dec(l[0], `${type}.${key}[${i}] price`, true);
    dec(l[1], `${type}.${key}[${i}] quantity`, false);
  }
  return v as Level[];
}

/**
 * Parse and validate one record completely: whatever passes can be applied and projected without any later
 * step throwing. Throws EventRecordError (with the offending field) on bad input.
 */
export function decodeEventRecord(data: Uint8Array | string, opts: DecodeOptions = {}): MarketEvent {
  let v: unknown;
  try {
    v = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    fail('record is not JSON', 'malformed');
  }
  return validateEvent(v, opts);
}

/**
 * Validate an event object completely, whatever produced it (a JSON record, or the SBE decoder, whose
 * mantissas may be negative or whose bid may cross the ask on a malformed frame). Returns it typed;
 * throws EventRecordError with the offending field.
 */
export function validateEvent(v: unknown, opts: DecodeOptions = {}): MarketEvent {
  const maxUs = opts.maxEventTsUs ?? Infinity;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('record is not a JSON object', 'malformed');
  const o = v as Obj;
  const type = typeof o.type === 'string' ? o.type : fail('record has no event type', 'malformed');
  if (typeof o.symbol !== 'string' || !SYMBOL_RE.test(o.symbol)) {
    fail(`${type}.symbol: ${JSON.stringify(o.symbol)?.slice(0, 50)} is not 1-40 of A-Z 0-9 _ -`);
  }
  eventTime(o, 'event_ts', type, maxUs);
  if (typeof o.source !== 'string' || !SOURCES.has(o.source)) fail(`${type}.source: not one of sbe, json, rest`);
  if (o.recv_ts_us !== undefined && (typeof o.recv_ts_us !== 'number' || !Number.isFinite(o.recv_ts_us))) {
    fail(`${type}.recv_ts_us: not a number`);
  }
  switch (type) {
    case 'trade':
      int(o, 'trade_id', type);
      dec(o.price, 'trade.price', true);
      dec(o.quantity, 'trade.quantity', false);
      if (typeof o.is_buyer_maker !== 'boolean') fail('trade.is_buyer_maker: not a boolean');
      if (o.sequence_id === undefined) o.sequence_id = o.trade_id;
      else int(o, 'sequence_id', type);
      if (o.transact_ts !== undefined) eventTime(o, 'transact_ts', type, maxUs);
      break;
    case 'bestBidAsk': {
      int(o, 'sequence_id', type);
      const bid = dec(o.bid_price, 'bestBidAsk.bid_price', true);
      dec(o.bid_quantity, 'bestBidAsk.bid_quantity', false);
      const ask = dec(o.ask_price, 'bestBidAsk.ask_price', true);
      dec(o.ask_quantity, 'bestBidAsk.ask_quantity', false);
      if (compareDecimals(bid, ask) >= 0) fail(`bestBidAsk: bid ${bid} is not below ask ${ask}`);
      break;
    }
    case 'depth':
      if (int(o, 'first_update_id', type) > int(o, 'final_update_id', type)) fail('depth: first_update_id > final_update_id');
      levels(o, 'bids', type);
      levels(o, 'asks', type);
      break;
    case 'depthSnapshot':
      int(o, 'last_update_id', type);
      levels(o, 'bids', type);
      levels(o, 'asks', type);
      break;
    default:
      fail(`unknown event type ${JSON.stringify(type).slice(0, 40)}`, 'malformed');
  }
  return o as unknown as MarketEvent;
}
