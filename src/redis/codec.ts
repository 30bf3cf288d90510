/**
 * Pure encoding helpers shared by the projection writer and the re-anchor (no I/O): flat argument lists for
 * the Lua scripts, the per-minute trade-stat value and the stream-entry parsers.
 */
import { Packr, unpack } from 'msgpackr';
import type { Level } from '../core/events.js';

export class RedisPayloadError extends Error {
  override readonly name = 'RedisPayloadError';
}

/** [f1, v1, f2, v2, …] of a hash; rejects non-string values so nothing is silently stringified. */
export function flattenHash(hash: Record<string, string>, what: string): string[] {
  const out: string[] = [];
  for (const f in hash) {
    const v = hash[f];
    if (typeof v !== 'string') throw new RedisPayloadError(`${what}.${f}: value must be a string, got ${typeof v}`);
    out.push(f, v);
  }
  return out;
}

/**
 * A hash of the projection travels to its Lua script as ONE argument: the MessagePack array [f1, v1, f2, v2, …],
 * unpacked inside Redis by its built-in cmsgpack. A 10-symbol batch was ~1,500 arguments, and the client's
 * cost (ioredis builds the command string argument by argument) and its garbage were per argument. Binary-safe:
 * any string goes, as the flat arguments did.
 */
const packr = new Packr({ useRecords: false });

/** A hash as the MessagePack array [f1, v1, …] (unpackList's inverse). Values must be strings. */
export function packHash(hash: Record<string, string>, what: string): { packed: Buffer; fields: number } {
  const items: string[] = [];
  for (const f in hash) {
    const v = hash[f];
    if (typeof v !== 'string') throw new RedisPayloadError(`${what}.${f}: value must be a string, got ${typeof v}`);
    items.push(f, v);
  }
  return { packed: packr.pack(items), fields: items.length / 2 };
}

/** Field names as the MessagePack array [n1, n2, …]. */
export function packNames(names: readonly string[], what: string): Buffer {
  for (const n of names) if (typeof n !== 'string') throw new RedisPayloadError(`${what}: field names must be strings`);
  return packr.pack(names);
}

/** The items of a packed list (what the Lua scripts' cmsgpack.unpack gives them). */
export function unpackList(packed: Uint8Array): string[] {
  const v: unknown = unpack(packed);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new RedisPayloadError('a packed list is an array of strings');
  return v as string[];
}

/**
 * Minute stats as stored in `tr:{SYM}:minutes`: "count|volume|lastTradeId" (volume an exact decimal string;
 * lastTradeId the highest trade id counted into the minute, the aggregator's restart watermark). Values
 * written before the id was kept ("count|volume") still decode, without lastTradeId.
 */
export interface MinuteStat {
  minuteStartMs: number;
  count: number;
  volume: string;
  lastTradeId?: number;
}

export function encodeMinuteValue(m: MinuteStat): string {
  if (!Number.isSafeInteger(m.minuteStartMs) || m.minuteStartMs < 0 || m.minuteStartMs % 60_000 !== 0) {
    throw new RedisPayloadError(`minuteStartMs ${m.minuteStartMs} is not a whole minute in ms`);
  }
  if (!Number.isSafeInteger(m.count) || m.count < 0) throw new RedisPayloadError(`count ${m.count} is not a count`);
  if (!/^\d+(\.\d+)?$/.test(m.volume)) throw new RedisPayloadError(`volume ${JSON.stringify(m.volume)} is not a decimal`);
  if (m.lastTradeId === undefined) return `${m.count}|${m.volume}`;
  if (!Number.isSafeInteger(m.lastTradeId) || m.lastTradeId < 0) {
    throw new RedisPayloadError(`lastTradeId ${m.lastTradeId} is not a trade id`);
  }
  return `${m.count}|${m.volume}|${m.lastTradeId}`;
}

export function decodeMinuteValue(minuteStartMs: number, value: string): MinuteStat {
  const m = /^(\d+)\|(\d+(?:\.\d+)?)(?:\|(\d+))?$/.exec(value);
  if (!m) throw new RedisPayloadError(`bad minute value ${JSON.stringify(value)}`);
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count)) throw new RedisPayloadError(`bad minute value ${JSON.stringify(value)}: count too large`);
  const out: MinuteStat = { minuteStartMs, count, volume: m[2] };
  if (m[3] !== undefined) {
    const id = Number(m[3]);
    if (!Number.isSafeInteger(id)) throw new RedisPayloadError(`bad minute value ${JSON.stringify(value)}: trade id too large`);
    out.lastTradeId = id;
  }
  return out;
}

/** The full-depth snapshot that travels with a re-anchor swap (stored as JSON). */
export interface DepthSnapshot {
  lastUpdateId: number;
  bids: readonly Level[];
  asks: readonly Level[];
}

function isLevels(v: unknown): v is Level[] {
  return (
    Array.isArray(v) &&
    v.every((l) => Array.isArray(l) && l.length === 2 && typeof l[0] === 'string' && typeof l[1] === 'string')
  );
}

export function assertSnapshot(s: unknown, what = 'snapshot'): asserts s is DepthSnapshot {
  if (!s || typeof s !== 'object') throw new RedisPayloadError(`${what}: not an object`);
  const o = s as Record<string, unknown>;
  if (typeof o.lastUpdateId !== 'number' || !Number.isSafeInteger(o.lastUpdateId) || o.lastUpdateId < 0) {
    throw new RedisPayloadError(`${what}.lastUpdateId: not a non-negative integer`);
  }
  if (!isLevels(o.bids)) throw new RedisPayloadError(`${what}.bids: not a list of [price, qty] strings`);
  if (!isLevels(o.asks)) throw new RedisPayloadError(`${what}.asks: not a list of [price, qty] strings`);
}

export function encodeSnapshot(s: DepthSnapshot): string {
  return JSON.stringify({ lastUpdateId: s.lastUpdateId, bids: s.bids, asks: s.asks });
}

export function decodeSnapshot(json: string): DepthSnapshot {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new RedisPayloadError('snapshot: invalid JSON');
  }
  assertSnapshot(v);
  return v;
}

/** ioredis' XREAD reply: [[stream, [[id, [f, v, f, v…]], …]], …] or null on timeout. */
export type XReadReply = [string, [string, string[]][]][] | null;

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export function parseXRead(reply: XReadReply): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [, entries] of reply ?? []) {
    for (const [id, flat] of entries) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      out.push({ id, fields });
    }
  }
  return out;
}
