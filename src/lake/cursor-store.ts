/**
 * Where archivers remember the last archived position (agg trade id, kline open time) per dataset and
 * symbol, so a restart resumes instead of starting over. Names look like `agg_trades:BTCUSDT`.
 */
export interface CursorStore {
  get(name: string): Promise<number | undefined>;
  set(name: string, value: number): Promise<void>;
}

export class CursorValueError extends Error {
  override readonly name = 'CursorValueError';
  constructor(key: string, raw: string) {
    super(`cursor ${key} holds ${JSON.stringify(raw)}, not a non-negative integer`);
  }
}

export class InMemoryCursorStore implements CursorStore {
  private readonly values = new Map<string, number>();

  async get(name: string): Promise<number | undefined> {
    return this.values.get(name);
  }

  async set(name: string, value: number): Promise<void> {
    this.values.set(name, value);
  }
}

/** The two commands we need; ioredis' Redis and Cluster both fit. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
}

export const REDIS_CURSOR_PREFIX = 'lake:cursor:';

/** Cursors in Redis under `lake:cursor:{name}` (e.g. `lake:cursor:agg_trades:BTCUSDT`), no TTL. */
export class RedisCursorStore implements CursorStore {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix = REDIS_CURSOR_PREFIX,
  ) {}

  async get(name: string): Promise<number | undefined> {
    const key = this.prefix + name;
    const raw = await this.redis.get(key);
    if (raw === null) return undefined;
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v)) throw new CursorValueError(key, raw);
    return v;
  }

  async set(name: string, value: number): Promise<void> {
    await this.redis.set(this.prefix + name, String(value));
  }
}
