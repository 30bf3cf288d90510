/**
 * Lua scripts. Each runs atomically inside Redis, which is what makes "never write ob while the re-anchor
 * flag exists" and the staging → live swap race-free. Lua does not roll back, so every script checks all of
 * its preconditions before its first write. Registered with ioredis `defineCommand`: the first call on a
 * socket sends EVAL (loading the script), later calls EVALSHA — also inside MULTI and after reconnects.
 */
import type { RedisClient } from './connect.js';

/**
 * HSET/HDEL of items t[from..to] (ARGV, or a table) in chunks far below Lua's unpack() limit (~8000); and of a
 * packed list (codec.ts packHash/packNames): one argument holding the MessagePack array of the items, unpacked
 * by Redis's built-in cmsgpack.
 */
const CHUNK = `
local function hcall_range(cmd, key, t, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + 999, to)
    redis.call(cmd, key, unpack(t, i, last))
    i = last + 1
  end
end
local function hcall_list(cmd, key, packed)
  local t = cmsgpack.unpack(packed)
  hcall_range(cmd, key, t, 1, #t)
end
`;

/**
 * Fencing of writes by shard-lease epoch (several aggregators sharing a stream). `fence:{SYM}` holds the
 * highest lease epoch that wrote the symbol. A write carrying a lower epoch comes from a worker that lost
 * the shard (paused, partitioned, slow) and is refused whole; a higher one raises the fence first, so from
 * the new owner's first write on the old owner can write nothing. Epoch '' = an aggregator without leases:
 * not checked. The fence key shares the symbol's hash tag, so the check and the write are one atomic step
 * in one slot. Returns true when the write must be refused.
 */
const FENCE = `
local function fenced(fkey, epoch)
  if epoch == '' then return false end
  local e = tonumber(epoch)
  local f = tonumber(redis.call('GET', fkey) or '0') or 0
  if e < f then return true end
  if e > f then redis.call('SET', fkey, epoch) end
  return false
end
`;

/**
 * Everything one projection write does for one symbol, as ONE command: the aggregator sends a batch several
 * times a second, and the client and server cost is per command. The fence is checked once (every part
 * carries the same epoch). A script runs atomically, so readers see all of it or none of it.
 *
 * KEYS: flag, ob, fence, tr1s, tr5s, feat, minutes.
 * ARGV: epoch ('' = unfenced), then the parts, each led by its argument count (0 = part absent):
 *   ob:      3, writeId, [f1, v1, …] (fields to set), [f1, f2, …] (fields to delete)
 *   tr1s, tr5s, feat (each): 2, ttlSeconds, [f1, v1, …] (never empty)
 *   minutes: n, ttlSeconds, cutoffMs, maxFields, m1, v1, …             (n counts the three numbers too)
 * A list [ … ] is one argument, a MessagePack array (codec.ts packHash): the client's cost was per argument.
 * writeId is the write's last_update_id as a decimal integer, or '' when the writer has no book yet. HDEL runs
 * before HSET so a field named in both ends up set. tr 1 s, tr 5 s and feat are replaced whole (DEL + HSET +
 * EXPIRE), so readers see the old hash or the new one. Minutes are set, and once the hash holds more than
 * maxFields those older than cutoffMs are pruned (HLEN is O(1), so the scan runs only when there is something
 * to prune).
 *
 * The guard is decided here, not by the caller, because a GET before the write would race with the swap:
 * - a lower lease epoch than the symbol's fence → nothing is written (not even a status) → 4;
 * - re-anchor flag held → nothing of the write is applied; an existing ob gets `status=resyncing` (only that
 *   field), since nobody keeps its levels current until the swap installs the new live state → 0;
 * - the stored book has a higher last_update_id (a swapped-in snapshot the writer has not caught up with)
 *   → the write is dropped and the stored ob marked `status=resyncing` until the writer catches up → 2;
 * - the write carries no book (writeId '') but a book is stored → it cannot prove it is not older, so it
 *   may only say `status=resyncing` → 3; over no stored book it is applied as given;
 * - otherwise (equal or higher id, or no numeric id stored) the write is applied → 1.
 * Returns that ob outcome (1 without an ob part).
 *
 * The body is the Lua function write_symbol(K, a) (its keys are KEYS[K + 1..K + 7], its arguments start at
 * ARGV[a]), shared with SYMBOLS_WRITE_LUA.
 */
const WRITE_SYMBOL = `${CHUNK}${FENCE}
local function write_symbol(K, a)
  if fenced(KEYS[K + 3], ARGV[a]) then return 4 end
  a = a + 1
  local outcome = 1
  local n = tonumber(ARGV[a])
  if n > 0 then
    local function mark_resyncing()
      if redis.call('EXISTS', KEYS[K + 2]) == 1 then redis.call('HSET', KEYS[K + 2], 'status', 'resyncing') end
    end
    local writeId = ARGV[a + 1]
    if redis.call('EXISTS', KEYS[K + 1]) == 1 then
      mark_resyncing()
      outcome = 0
    else
      local stored = tonumber(redis.call('HGET', KEYS[K + 2], 'last_update_id') or '')
      if stored ~= nil and writeId == '' then
        mark_resyncing()
        outcome = 3
      elseif stored ~= nil and tonumber(writeId) < stored then
        mark_resyncing()
        outcome = 2
      else
        hcall_list('HDEL', KEYS[K + 2], ARGV[a + 3])
        hcall_list('HSET', KEYS[K + 2], ARGV[a + 2])
      end
    end
  end
  a = a + n + 1
  for k = 4, 6 do
    n = tonumber(ARGV[a])
    if n > 0 then
      redis.call('DEL', KEYS[K + k])
      hcall_list('HSET', KEYS[K + k], ARGV[a + 2])
      redis.call('EXPIRE', KEYS[K + k], ARGV[a + 1])
    end
    a = a + n + 1
  end
  n = tonumber(ARGV[a])
  if n > 0 then
    if n > 3 then hcall_range('HSET', KEYS[K + 7], ARGV, a + 4, a + n) end
    if redis.call('HLEN', KEYS[K + 7]) > tonumber(ARGV[a + 3]) then
      local cutoff = tonumber(ARGV[a + 2])
      for _, f in ipairs(redis.call('HKEYS', KEYS[K + 7])) do
        local m = tonumber(f)
        if m == nil or m < cutoff then redis.call('HDEL', KEYS[K + 7], f) end
      end
    end
    redis.call('EXPIRE', KEYS[K + 7], ARGV[a + 1])
  end
  return outcome
end
`;

export const SYMBOL_WRITE_LUA = `${WRITE_SYMBOL}
return write_symbol(0, 1)
`;

/**
 * SYMBOL_WRITE_LUA for several symbols as ONE command (a batch of a Redis that is not a cluster, where every
 * key of the batch may be in one call): one command instead of a MULTI of one per symbol, which cost the
 * aggregator's client and Redis per command at 10 symbols a batch. Applied in order, atomically as a whole.
 * KEYS: the 7 keys of SYMBOL_WRITE_LUA for each symbol, in order.
 * ARGV: for each symbol, the length of its SYMBOL_WRITE_LUA arguments, then those arguments.
 * Returns each symbol's outcome as SYMBOL_WRITE_LUA does, in order.
 */
export const SYMBOLS_WRITE_LUA = `${WRITE_SYMBOL}
local out = {}
local a = 1
for i = 0, #KEYS / 7 - 1 do
  out[i + 1] = write_symbol(7 * i, a + 1)
  a = a + 1 + tonumber(ARGV[a])
end
return out
`;

/**
 * Write the staging state of a re-anchor, only while the flag is still ours (so a write that reaches a
 * stalled server late cannot resurrect staging keys after the cleanup released the flag).
 * KEYS: flag, staging hash 1..n, snapshot key. ARGV: owner, ttlSeconds, snapshotJson, then for each hash
 * its argument count followed by f1, v1, ….  Returns 1, or 0 when the flag is not ours.
 */
export const STAGING_WRITE_LUA = `${CHUNK}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = ARGV[2]
local a = 4
for k = 2, #KEYS - 1 do
  local n = tonumber(ARGV[a])
  redis.call('DEL', KEYS[k])
  if n > 0 then hcall_range('HSET', KEYS[k], ARGV, a + 1, a + n) end
  redis.call('EXPIRE', KEYS[k], ttl)
  a = a + n + 1
end
redis.call('SET', KEYS[#KEYS], ARGV[3], 'EX', ttl)
return 1
`;

/**
 * The swap. KEYS: flag, snapshot, staging1, live1, …, stagingN, liveN [, done stream].
 * ARGV: owner, n, symbol, lastUpdateId, maxlen, publish (1|0), ttl1..ttlN (-1 = PERSIST).
 * Checks ownership and that every staging key and the snapshot exist before the first write, then RENAMEs
 * each staging key over its live key (the live key is replaced, never deleted or emptied), restores TTLs,
 * announces the swap on the done stream and releases the flag. Returns 'ok', 'not_owner' or 'missing:<key>'.
 */
export const SWAP_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'not_owner' end
local n = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then return 'missing:' .. KEYS[2] end
for i = 1, n do
  local s = KEYS[1 + 2 * i]
  if redis.call('TYPE', s).ok ~= 'hash' then return 'missing:' .. s end
end
for i = 1, n do
  local live = KEYS[2 + 2 * i]
  redis.call('RENAME', KEYS[1 + 2 * i], live)
  local ttl = tonumber(ARGV[6 + i])
  if ttl < 0 then redis.call('PERSIST', live) else redis.call('EXPIRE', live, ttl) end
end
if ARGV[6] == '1' then
  redis.call('XADD', KEYS[3 + 2 * n], 'MAXLEN', '~', ARGV[5], '*',
    'symbol', ARGV[3], 'last_update_id', ARGV[4], 'snapshot_key', KEYS[2])
end
redis.call('DEL', KEYS[1])
return 'ok'
`;

/**
 * Failure cleanup. KEYS: flag, snapshot, staging1..n. ARGV: owner.
 * - flag ours: the swap cannot have happened → delete staging keys, snapshot and flag → 'released'.
 * - flag gone: expired, or our swap ran and only its reply was lost → delete staging keys (absent after a
 *   swap) but keep the snapshot a done entry may point at → 'absent'.
 * - flag held by another owner: its staging keys have the same names → touch nothing → 'foreign'.
 */
export const CLEANUP_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
  redis.call('DEL', KEYS[1])
  return 'released'
elseif not cur then
  for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
  return 'absent'
end
return 'foreign'
`;

/**
 * Lease renewal. KEYS: flag. ARGV: owner, leaseMs. Extends the flag only while it is still ours, so a
 * renewal that reaches the server late never revives a flag another owner took over. Returns 1 or 0.
 */
export const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: flag. ARGV: owner. Compare-and-delete. */
export const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Mark a live `ob:{SYM}` stale when its newest event is older than a bound, for a watcher outside the
 * aggregator (a dead aggregator cannot say its own book went stale). Checked and set in one step, so a
 * fresh write that lands first is never marked. KEYS: ob. ARGV: nowUs, staleAfterUs. Returns 1 when marked.
 */
export const OB_MARK_STALE_LUA = `
if redis.call('HGET', KEYS[1], 'status') ~= 'live' then return 0 end
local ts = tonumber(redis.call('HGET', KEYS[1], 'ts_us') or '')
if ts == nil then return 0 end
if tonumber(ARGV[1]) - ts > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'status', 'stale')
  return 1
end
return 0
`;

type ScriptCall<R> = (...args: (string | number | Buffer)[]) => Promise<R>;

/** The commands defineCommand adds (numberOfKeys fixed where the key count is fixed). */
export interface BtcpipeScripts {
  btcpipeSymbolWrite: ScriptCall<number>;
  btcpipeSymbolsWrite: ScriptCall<number[]>;
  btcpipeStagingWrite: ScriptCall<number>;
  btcpipeSwap: ScriptCall<string>;
  btcpipeCleanup: ScriptCall<string>;
  btcpipeRelease: ScriptCall<number>;
  btcpipeRenew: ScriptCall<number>;
  btcpipeObMarkStale: ScriptCall<number>;
}

const registered = new WeakSet<object>();

/** Define the scripts on a client once; returns the client typed with them. */
export function withScripts(redis: RedisClient): RedisClient & BtcpipeScripts {
  if (!registered.has(redis)) {
    redis.defineCommand('btcpipeSymbolWrite', { numberOfKeys: 7, lua: SYMBOL_WRITE_LUA });
    // Variable key counts: the caller passes numkeys first.
    redis.defineCommand('btcpipeSymbolsWrite', { lua: SYMBOLS_WRITE_LUA });
    redis.defineCommand('btcpipeStagingWrite', { lua: STAGING_WRITE_LUA });
    redis.defineCommand('btcpipeSwap', { lua: SWAP_LUA });
    redis.defineCommand('btcpipeCleanup', { lua: CLEANUP_LUA });
    redis.defineCommand('btcpipeRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    redis.defineCommand('btcpipeRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand('btcpipeObMarkStale', { numberOfKeys: 1, lua: OB_MARK_STALE_LUA });
    registered.add(redis);
  }
  return redis as RedisClient & BtcpipeScripts;
}
