import type { RedisClient } from './connect.js';
import { toRedisError } from './errors.js';
import { symbolKeys } from './keys.js';
import { withScripts } from './scripts.js';

/**
 * Marks `ob:{SYM}` stale (status only) when it says `live` but its newest event (`ts_us`) is older than
 * `staleAfterMs` at `nowMs`. The aggregator does this for its own books; this is for a process that outlives
 * it (the REST mode), so a killed aggregator does not leave a frozen book `live`. Returns whether it marked.
 */
export async function markObStaleIfOld(
  redis: RedisClient,
  symbol: string,
  nowMs: number,
  staleAfterMs: number,
  opts: { cluster?: boolean } = {},
): Promise<boolean> {
  const key = symbolKeys(symbol, { cluster: opts.cluster }).ob;
  try {
    const r = await withScripts(redis).btcpipeObMarkStale(key, String(Math.round(nowMs * 1000)), String(Math.round(staleAfterMs * 1000)));
    return r === 1;
  } catch (err) {
    throw toRedisError(err, `mark ${key} stale`);
  }
}
