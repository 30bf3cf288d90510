/**
 * The two coordination streams and the per-minute trade stats reader. Consumers keep their own last-read
 * id (start with '$' for "only new entries", or '0' for "everything retained"). Blocking reads need a
 * connection of their own (createRedis({ blocking: true })) so they never delay projection writes.
 */
import type { RedisClient } from './connect.js';
import { decodeMinuteValue, decodeSnapshot, parseXRead, type DepthSnapshot, type MinuteStat, type XReadReply } from './codec.js';
import { toRedisError } from './errors.js';
import { assertSymbol, REANCHOR_DONE_STREAM, REANCHOR_REQUESTS_STREAM, STREAM_MAXLEN, symbolKeys } from './keys.js';

export interface ReanchorRequest {
  id: string;
  symbol: string;
  reason: string;
  /** ms since epoch when requested */
  ts: number;
}

export interface ReanchorDone {
  id: string;
  symbol: string;
  lastUpdateId: number;
  snapshotKey: string;
  /** The full-depth snapshot, or null when it already expired (TTL 600 s) — then re-request a re-anchor. */
  snapshot: DepthSnapshot | null;
}

/** Aggregator → REST mode: ask for a re-anchor of `symbol`. Returns the entry id. */
export async function requestReanchor(redis: RedisClient, symbol: string, reason: string): Promise<string> {
  assertSymbol(symbol);
  try {
    const id = await redis.xadd(REANCHOR_REQUESTS_STREAM, 'MAXLEN', '~', STREAM_MAXLEN, '*',
      'symbol', symbol, 'reason', reason, 'ts', String(Date.now()));
    return id ?? '';
  } catch (err) {
    throw toRedisError(err, 'request re-anchor');
  }
}

async function xread(redis: RedisClient, stream: string, lastId: string, blockMs: number, count: number): Promise<XReadReply> {
  try {
    const reply = blockMs > 0
      ? await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, lastId)
      : await redis.xread('COUNT', count, 'STREAMS', stream, lastId);
    return reply as XReadReply;
  } catch (err) {
    throw toRedisError(err, `read ${stream}`);
  }
}

/** REST mode: wait up to blockMs for re-anchor requests after lastId (empty array on timeout). */
export async function readReanchorRequests(
  redis: RedisClient,
  lastId: string,
  blockMs: number,
  count = 100,
): Promise<ReanchorRequest[]> {
  const entries = parseXRead(await xread(redis, REANCHOR_REQUESTS_STREAM, lastId, blockMs, count));
  return entries.map((e) => ({
    id: e.id,
    symbol: e.fields.symbol ?? '',
    reason: e.fields.reason ?? '',
    ts: Number(e.fields.ts ?? 0),
  }));
}

/**
 * Aggregator: wait up to blockMs for finished swaps after lastId, with each snapshot JSON loaded.
 * Entries with a malformed snapshot are returned with snapshot null rather than throwing the batch away.
 */
export async function readReanchorDone(
  redis: RedisClient,
  lastId: string,
  blockMs: number,
  count = 100,
): Promise<ReanchorDone[]> {
  const entries = parseXRead(await xread(redis, REANCHOR_DONE_STREAM, lastId, blockMs, count));
  const out: ReanchorDone[] = [];
  for (const e of entries) {
    const snapshotKey = e.fields.snapshot_key ?? '';
    let snapshot: DepthSnapshot | null = null;
    if (snapshotKey) {
      let json: string | null;
      try {
        json = await redis.get(snapshotKey);
      } catch (err) {
        throw toRedisError(err, 'load re-anchor snapshot');
      }
      try {
        snapshot = json === null ? null : decodeSnapshot(json);
      } catch {
        snapshot = null;
      }
    }
    out.push({
      id: e.id,
      symbol: e.fields.symbol ?? '',
      lastUpdateId: Number(e.fields.last_update_id ?? -1),
      snapshotKey,
      snapshot,
    });
  }
  return out;
}

/** REST mode volume check: the hot path's trade count/volume of the given minutes (missing ones omitted). */
export async function readMinuteStats(
  redis: RedisClient,
  symbol: string,
  minuteStartsMs: readonly number[],
  opts: { cluster?: boolean } = {},
): Promise<MinuteStat[]> {
  if (minuteStartsMs.length === 0) return [];
  const k = symbolKeys(symbol, opts);
  let values: (string | null)[];
  try {
    values = await redis.hmget(k.minutes, ...minuteStartsMs.map(String));
  } catch (err) {
    throw toRedisError(err, 'read minute stats');
  }
  const out: MinuteStat[] = [];
  values.forEach((v, i) => {
    if (v !== null) out.push(decodeMinuteValue(minuteStartsMs[i], v));
  });
  return out;
}
