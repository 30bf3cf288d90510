/**
 * The lease table in Redis: one hash per stream, `kinesis:leases:{<stream>}` (one key, so one Cluster slot
 * and every transition one atomic script), holding `shard:<id>` → lease JSON, `epoch` → the stream's
 * fencing counter and `worker:<id>` → that worker's heartbeat deadline. Each script applies the transition
 * of the same name in lease-model.ts, on the Redis server's clock (TIME inside the script), so "lapsed"
 * means the same to every worker.
 */
import type { RedisClient } from '../redis/connect.js';
import {
  EPOCH_FIELD,
  LEASE_FIELD_PREFIX,
  WORKER_FIELD_PREFIX,
  parseLease,
  type Lease,
} from './lease-model.js';

export function leaseTableKey(stream: string): string {
  return `kinesis:leases:{${stream}}`;
}

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS: table. ARGV: startMarginMs, initialPosition, fresh (1|0), then id, parentsCsv, closed (1|0) per shard. */
const CREATE_LUA = `${NOW}
local created = 0
for i = 4, #ARGV, 3 do
  local id, pcsv, closed = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local f = 'shard:' .. id
  if redis.call('HEXISTS', KEYS[1], f) == 0 then
    local parents = {}
    for p in string.gmatch(pcsv, '[^,]+') do table.insert(parents, p) end
    local start = 'TRIM_HORIZON'
    local finished = false
    if ARGV[2] == 'LATEST' then
      local parentRead = false
      for _, p in ipairs(parents) do
        local pr = redis.call('HGET', KEYS[1], 'shard:' .. p)
        if pr and cjson.decode(pr).start ~= 'SKIPPED' then parentRead = true end
      end
      if not parentRead then
        if ARGV[3] == '1' and closed == '1' then
          start = 'SKIPPED'
          finished = true
        else
          start = 'AT_TIMESTAMP:' .. string.format('%d', now - tonumber(ARGV[1]))
        end
      end
    end
    local l = { owner = '', counter = 0, epoch = 0, expiresMs = 0, checkpoint = '', finished = finished,
      parents = parents, start = start, claim = '' }
    redis.call('HSET', KEYS[1], f, cjson.encode(l))
    created = created + 1
  end
end
return created
`;

/** KEYS: table. ARGV: worker, heartbeatMs. Heartbeat, drop long-dead workers, return {now, field, value, …}. */
const SNAPSHOT_LUA = `${NOW}
redis.call('HSET', KEYS[1], 'worker:' .. ARGV[1], string.format('%d', now + tonumber(ARGV[2])))
local all = redis.call('HGETALL', KEYS[1])
local out = { string.format('%d', now) }
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 7) == 'worker:' and tonumber(v) < now - 10 * tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[1], f)
  else
    table.insert(out, f)
    table.insert(out, v)
  end
end
return out
`;

/** KEYS: table. ARGV: shardId, worker, durationMs. Returns {'ok', leaseJson} or {reason}. */
const TAKE_LUA = `${NOW}
local f = 'shard:' .. ARGV[1]
local raw = redis.call('HGET', KEYS[1], f)
if not raw then return {'missing'} end
local l = cjson.decode(raw)
if l.finished then return {'finished'} end
if l.owner ~= '' and l.expiresMs > now then return {'held'} end
if l.owner == '' and l.claim ~= '' and l.claim ~= ARGV[2] and l.expiresMs > now then return {'held'} end
for _, p in ipairs(l.parents) do
  local pr = redis.call('HGET', KEYS[1], 'shard:' .. p)
  if pr and not cjson.decode(pr).finished then return {'parents'} end
end
l.epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
l.owner = ARGV[2]
l.counter = l.counter + 1
l.expiresMs = now + tonumber(ARGV[3])
l.claim = ''
local out = cjson.encode(l)
redis.call('HSET', KEYS[1], f, out)
return {'ok', out}
`;

/** KEYS: table. ARGV: shardId, worker, epoch, durationMs. Returns {'ok', '1' when a hand-over is asked} or {'lost'}. */
const RENEW_LUA = `${NOW}
local f = 'shard:' .. ARGV[1]
local raw = redis.call('HGET', KEYS[1], f)
if not raw then return {'lost'} end
local l = cjson.decode(raw)
if l.owner ~= ARGV[2] or l.epoch ~= tonumber(ARGV[3]) or l.expiresMs <= now then return {'lost'} end
l.counter = l.counter + 1
l.expiresMs = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], f, cjson.encode(l))
if l.claim ~= '' and l.claim ~= ARGV[2] then return {'ok', '1'} end
return {'ok', '0'}
`;

/**
 * KEYS: table. ARGV: shardId, worker, epoch, sequence ('' = keep), mode (save|finish|release), reserveMs.
 * Returns 1 or 0 (not ours).
 */
const CHECKPOINT_LUA = `${NOW}
local f = 'shard:' .. ARGV[1]
local raw = redis.call('HGET', KEYS[1], f)
if not raw then return 0 end
local l = cjson.decode(raw)
if l.owner ~= ARGV[2] or l.epoch ~= tonumber(ARGV[3]) or l.expiresMs <= now then return 0 end
if ARGV[4] ~= '' then l.checkpoint = ARGV[4] end
if ARGV[5] == 'finish' then l.finished = true end
if ARGV[5] ~= 'save' then
  l.owner = ''
  if ARGV[5] == 'release' and l.claim ~= '' and l.claim ~= ARGV[2] then
    l.expiresMs = now + tonumber(ARGV[6])
  else
    l.expiresMs = 0
    l.claim = ''
  end
end
redis.call('HSET', KEYS[1], f, cjson.encode(l))
return 1
`;

/** KEYS: table. ARGV: shardId, worker. Returns 1 when the claim was recorded. */
const CLAIM_LUA = `${NOW}
local f = 'shard:' .. ARGV[1]
local raw = redis.call('HGET', KEYS[1], f)
if not raw then return 0 end
local l = cjson.decode(raw)
if l.finished or l.owner == '' or l.expiresMs <= now or l.owner == ARGV[2] or l.claim ~= '' then return 0 end
l.claim = ARGV[2]
redis.call('HSET', KEYS[1], f, cjson.encode(l))
return 1
`;

type Call<R> = (...args: (string | number)[]) => Promise<R>;
interface LeaseScripts {
  btcpipeLeaseCreate: Call<number>;
  btcpipeLeaseSnapshot: Call<string[]>;
  btcpipeLeaseTake: Call<string[]>;
  btcpipeLeaseRenew: Call<string[]>;
  btcpipeLeaseCheckpoint: Call<number>;
  btcpipeLeaseClaim: Call<number>;
}

const registered = new WeakSet<object>();

function scripted(redis: RedisClient): RedisClient & LeaseScripts {
  if (!registered.has(redis)) {
    redis.defineCommand('btcpipeLeaseCreate', { numberOfKeys: 1, lua: CREATE_LUA });
    redis.defineCommand('btcpipeLeaseSnapshot', { numberOfKeys: 1, lua: SNAPSHOT_LUA });
    redis.defineCommand('btcpipeLeaseTake', { numberOfKeys: 1, lua: TAKE_LUA });
    redis.defineCommand('btcpipeLeaseRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand('btcpipeLeaseCheckpoint', { numberOfKeys: 1, lua: CHECKPOINT_LUA });
    redis.defineCommand('btcpipeLeaseClaim', { numberOfKeys: 1, lua: CLAIM_LUA });
    registered.add(redis);
  }
  return redis as RedisClient & LeaseScripts;
}

export interface ShardDescriptor {
  shardId: string;
  parents: string[];
  /** The shard has an ending sequence number (split or merged away). */
  closed: boolean;
}

export interface LeaseTableSnapshot {
  /** Redis server time when it was read, ms. */
  nowMs: number;
  leases: Map<string, Lease>;
  /** Workers whose heartbeat has not lapsed. */
  liveWorkers: string[];
  epoch: number;
}

export type TakeOutcome = { ok: true; lease: Lease } | { ok: false; reason: string };

export class RedisLeaseStore {
  private readonly redis: RedisClient & LeaseScripts;
  readonly key: string;

  constructor(redis: RedisClient, readonly stream: string) {
    this.redis = scripted(redis);
    this.key = leaseTableKey(stream);
  }

  /**
   * Create the leases of shards not in the table yet. `fresh`: the table had no lease before (first start
   * of the application): with LATEST, shards already closed then hold only history and are skipped.
   */
  async create(shards: readonly ShardDescriptor[], initialPosition: 'LATEST' | 'TRIM_HORIZON', fresh: boolean, startMarginMs = 1000): Promise<number> {
    if (shards.length === 0) return 0;
    const args: string[] = [String(startMarginMs), initialPosition, fresh ? '1' : '0'];
    for (const s of shards) {
      if (s.shardId.includes(',')) throw new RangeError(`shard id ${s.shardId} contains a comma`);
      args.push(s.shardId, s.parents.join(','), s.closed ? '1' : '0');
    }
    return this.redis.btcpipeLeaseCreate(this.key, ...args);
  }

  /** Heartbeat `worker` (live for heartbeatMs) and read the whole table. */
  async snapshot(worker: string, heartbeatMs: number): Promise<LeaseTableSnapshot> {
    const flat = await this.redis.btcpipeLeaseSnapshot(this.key, worker, heartbeatMs);
    const nowMs = Number(flat[0]);
    const leases = new Map<string, Lease>();
    const liveWorkers: string[] = [];
    let epoch = 0;
    for (let i = 1; i + 1 < flat.length; i += 2) {
      const f = flat[i];
      const v = flat[i + 1];
      if (f.startsWith(LEASE_FIELD_PREFIX)) {
        const id = f.slice(LEASE_FIELD_PREFIX.length);
        const l = parseLease(id, v);
        if (l) leases.set(id, l);
      } else if (f.startsWith(WORKER_FIELD_PREFIX)) {
        if (Number(v) > nowMs) liveWorkers.push(f.slice(WORKER_FIELD_PREFIX.length));
      } else if (f === EPOCH_FIELD) {
        epoch = Number(v) || 0;
      }
    }
    return { nowMs, leases, liveWorkers: liveWorkers.sort(), epoch };
  }

  async take(shardId: string, worker: string, durationMs: number): Promise<TakeOutcome> {
    const r = await this.redis.btcpipeLeaseTake(this.key, shardId, worker, durationMs);
    if (r[0] === 'ok') {
      const lease = parseLease(shardId, r[1]);
      if (lease) return { ok: true, lease };
    }
    return { ok: false, reason: r[0] };
  }

  async renew(shardId: string, worker: string, epoch: number, durationMs: number): Promise<{ ok: boolean; handOver: boolean }> {
    const r = await this.redis.btcpipeLeaseRenew(this.key, shardId, worker, epoch, durationMs);
    return { ok: r[0] === 'ok', handOver: r[1] === '1' };
  }

  /** Conditional on this worker holding this epoch; false = the lease is not ours (any more). */
  async checkpoint(shardId: string, worker: string, epoch: number, sequence: string | null, mode: 'save' | 'finish' | 'release' = 'save', reserveMs = 0): Promise<boolean> {
    return (await this.redis.btcpipeLeaseCheckpoint(this.key, shardId, worker, epoch, sequence ?? '', mode, reserveMs)) === 1;
  }

  async claim(shardId: string, worker: string): Promise<boolean> {
    return (await this.redis.btcpipeLeaseClaim(this.key, shardId, worker)) === 1;
  }
}
