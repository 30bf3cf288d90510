/**
 * Kinesis user record → normalized MarketEvent. The ingestors put each event on Kinesis as the JSON of
 * src/core/events.ts; this checks the shape at the boundary (a malformed record is counted and skipped,
 * never allowed to crash the aggregator or reach the core half-typed).
 */
import type { EventSource, Level, MarketEvent } from '../core/events.js';

export class EventRecordError extends Error {
  override readonly name = 'EventRecordError';
}

type Obj = Record<string, unknown>;

const SOURCES: ReadonlySet<string> = new Set<EventSource>(['sbe', 'json', 'rest']);

function fail(what: string): never {
  throw new EventRecordError(what);
}

function int(o: Obj, key: string, type: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${type}.${key}: not a non-negative integer`);
  return v;
}

function str(o: Obj, key: string, type: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) fail(`${type}.${key}: not a non-empty string`);
  return v;
}

function levels(o: Obj, key: string, type: string): Level[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${type}.${key}: not a list of levels`);
  for (const l of v as unknown[]) {
    if (!Array.isArray(l) || l.length !== 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
      fail(`${type}.${key}: a level is not [price, quantity] strings`);
    }
  }
  return v as Level[];
}

/** Parse and validate one record. Throws EventRecordError (with the offending field) on bad input. */
export function decodeEventRecord(data: Uint8Array | string): MarketEvent {
  let v: unknown;
  try {
    v = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    fail('record is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('record is not a JSON object');
  const o = v as Obj;
  const type = typeof o.type === 'string' ? o.type : fail('record has no event type');
  str(o, 'symbol', type);
  int(o, 'event_ts', type);
  if (typeof o.source !== 'string' || !SOURCES.has(o.source)) fail(`${type}.source: not one of sbe, json, rest`);
  if (o.recv_ts_us !== undefined && (typeof o.recv_ts_us !== 'number' || !Number.isFinite(o.recv_ts_us))) {
    fail(`${type}.recv_ts_us: not a number`);
  }
  switch (type) {
    case 'trade':
      int(o, 'trade_id', type);
      str(o, 'price', type);
      str(o, 'quantity', type);
      if (typeof o.is_buyer_maker !== 'boolean') fail('trade.is_buyer_maker: not a boolean');
      if (o.sequence_id === undefined) o.sequence_id = o.trade_id;
      else int(o, 'sequence_id', type);
      break;
    case 'bestBidAsk':
      int(o, 'sequence_id', type);
      for (const k of ['bid_price', 'bid_quantity', 'ask_price', 'ask_quantity']) str(o, k, type);
      break;
    case 'depth':
      int(o, 'first_update_id', type);
      int(o, 'final_update_id', type);
      levels(o, 'bids', type);
      levels(o, 'asks', type);
      break;
    case 'depthSnapshot':
      int(o, 'last_update_id', type);
      levels(o, 'bids', type);
      levels(o, 'asks', type);
      break;
    default:
      fail(`unknown event type ${JSON.stringify(type).slice(0, 40)}`);
  }
  return o as unknown as MarketEvent;
}
