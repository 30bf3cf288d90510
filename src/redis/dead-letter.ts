/**
 * The dead-letter stream: records the aggregator could not use (malformed, impossible values, event times
 * beyond the wall-clock bound), kept for a person to inspect with XRANGE / XREVRANGE. Capped (MAXLEN ~) so
 * a flood of bad input cannot grow Redis without bound; the counters keep the full count.
 */
import type { RedisClient } from './connect.js';
import { toRedisError } from './errors.js';

export const DEAD_LETTER_STREAM = 'deadletter:records';
export const DEAD_LETTER_MAXLEN = 10_000;

export interface DeadLetter {
  /** Kinesis stream the record came from ('' when unknown). */
  stream: string;
  shard: string;
  sequence: string;
  /** Why it was rejected (the validation message). */
  reason: string;
  /** The record bytes, base64. */
  data: string;
  /** Wall clock when it was dead-lettered, ms since the epoch. */
  ts: number;
}

export interface DeadLetterEntry extends DeadLetter {
  id: string;
}

/** One pipelined XADD per entry (MAXLEN ~ keeps the trim cheap). Throws RedisError subclasses. */
export async function appendDeadLetters(redis: RedisClient, entries: readonly DeadLetter[]): Promise<void> {
  if (entries.length === 0) return;
  const pipe = redis.pipeline();
  for (const e of entries) {
    pipe.xadd(
      DEAD_LETTER_STREAM, 'MAXLEN', '~', String(DEAD_LETTER_MAXLEN), '*',
      'stream', e.stream, 'shard', e.shard, 'sequence', e.sequence, 'reason', e.reason, 'data', e.data, 'ts', String(e.ts),
    );
  }
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await pipe.exec();
  } catch (err) {
    throw toRedisError(err, 'dead-letter write');
  }
  const failed = replies?.find(([e]) => e);
  if (failed?.[0]) throw toRedisError(failed[0], 'dead-letter write');
}

/** The newest `count` entries, oldest first. */
export async function readDeadLetters(redis: RedisClient, count = 100): Promise<DeadLetterEntry[]> {
  let raw: [string, string[]][];
  try {
    raw = (await redis.xrevrange(DEAD_LETTER_STREAM, '+', '-', 'COUNT', count)) as [string, string[]][];
  } catch (err) {
    throw toRedisError(err, 'dead-letter read');
  }
  return raw.reverse().map(([id, flat]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
    return {
      id,
      stream: f.stream ?? '',
      shard: f.shard ?? '',
      sequence: f.sequence ?? '',
      reason: f.reason ?? '',
      data: f.data ?? '',
      ts: Number(f.ts ?? 0),
    };
  });
}
