/**
 * Redis key names (SPEC.md "Redis keys"). With Redis Cluster every key of one symbol carries the same
 * hash tag (`{BTCUSDT}`) so that the projection MULTI and the re-anchor Lua script touch one slot only.
 */

/** TTLs in seconds; `null` = no expiry (the live order book never expires). */
export const TTL_SECONDS = {
  ob: null,
  tr: 300,
  feat: 120,
  staging: 600,
  /**
   * Default lease of the re-anchor flag: its owner renews it while it works, so a killed owner frees the
   * symbol (and the aggregator's ob writes) within one lease.
   */
  flag: 15,
  /** Per-minute trade stats: long enough for the REST volume check of closed klines. */
  minutes: 3 * 3600,
} as const;

/** Stream: aggregator → REST mode, "please re-anchor" (fields symbol, reason, ts). */
export const REANCHOR_REQUESTS_STREAM = 'reanchor:requests';
/** Stream: REST mode → aggregator after a swap (fields symbol, last_update_id, snapshot_key). */
export const REANCHOR_DONE_STREAM = 'reanchor:done';
/** Both streams are trimmed with `MAXLEN ~` to roughly this many entries. */
export const STREAM_MAXLEN = 1000;

export interface SymbolKeys {
  symbol: string;
  ob: string;
  tr1s: string;
  tr5s: string;
  feat: string;
  /** The served model prediction of the symbol. */
  pred: string;
  /** Hash minuteStartMs → "count|volume" of the trades the hot path saw (REST volume gap check). */
  minutes: string;
  obNew: string;
  tr1sNew: string;
  tr5sNew: string;
  featNew: string;
  /** Re-anchor in progress flag: a lease (SET NX PX lease, renewed by its owner while it works). */
  flag: string;
  /** Prefix of the full-depth snapshot string keys; one key per re-anchor attempt (see snapshotKey). */
  snapshotPrefix: string;
  /** Highest shard-lease epoch that wrote the symbol; writes with a lower one are refused (scripts.ts). */
  fence: string;
}

export class InvalidKeyPartError extends Error {
  override readonly name: string = 'InvalidKeyPartError';
}

export class InvalidSymbolError extends InvalidKeyPartError {
  override readonly name = 'InvalidSymbolError';
}

const SYMBOL_RE = /^[A-Z0-9_-]{1,40}$/;

/** Throws InvalidSymbolError unless the symbol is safe inside a key (no braces, colons or spaces). */
export function assertSymbol(symbol: string): void {
  if (typeof symbol !== 'string' || !SYMBOL_RE.test(symbol)) {
    throw new InvalidSymbolError(`invalid symbol ${JSON.stringify(symbol)}: expected 1-40 of A-Z 0-9 _ -`);
  }
}

export function symbolKeys(symbol: string, opts: { cluster?: boolean } = {}): SymbolKeys {
  assertSymbol(symbol);
  const s = opts.cluster ? `{${symbol}}` : symbol;
  return {
    symbol,
    ob: `ob:${s}`,
    tr1s: `tr:${s}:1s`,
    tr5s: `tr:${s}:5s`,
    feat: `feat:${s}`,
    pred: `pred:${s}`,
    minutes: `tr:${s}:minutes`,
    obNew: `ob:new:${s}`,
    tr1sNew: `tr:new:${s}:1s`,
    tr5sNew: `tr:new:${s}:5s`,
    featNew: `feat:new:${s}`,
    flag: `reanchor:${s}`,
    snapshotPrefix: `ob:snapshot:${s}`,
    fence: `fence:${s}`,
  };
}

/**
 * The full-depth snapshot of one re-anchor attempt. Unique per attempt so that a later attempt can never
 * overwrite the snapshot an earlier `reanchor:done` entry points at.
 */
export function snapshotKey(keys: SymbolKeys, attemptId: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(attemptId)) throw new InvalidKeyPartError(`invalid attempt id ${attemptId}`);
  return `${keys.snapshotPrefix}:${attemptId}`;
}

/** CRC16-CCITT (XMODEM) table, the checksum Redis Cluster hashes keys with. */
const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/**
 * The Redis Cluster slot of a key (0..16383): CRC16 of its hash tag — the first non-empty `{…}` — or of the
 * whole key. Two keys may be used by one MULTI or script only when their slots are equal.
 */
export function keySlot(key: string): number {
  const buf = Buffer.from(key, 'utf8');
  let start = 0;
  let end = buf.length;
  const open = buf.indexOf(0x7b);
  if (open >= 0) {
    const close = buf.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ buf[i]) & 0xff];
  return crc & 16383;
}
