import type { DepthSnapshot } from '../redis/codec.js';
import { decodeSnapshot, RedisPayloadError } from '../redis/codec.js';
import { REANCHOR_DONE_STREAM } from '../redis/keys.js';
import type { StreamRow } from './datasets.js';
import { DEFAULT_BRONZE_PREFIX, depthSnapshotKey, partitionPrefix, reanchorKey } from './keys.js';
import type { LakeWriter } from './lake-writer.js';
import type { ParquetEncoder } from './parquet-encoder.js';

/** The Redis commands the follower needs (ioredis' Redis and Cluster fit). */
export interface ReanchorRedis {
  xrange(key: string, start: string, end: string, count: 'COUNT', n: number): Promise<Array<[string, string[]]>>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
}

/** Where the follower remembers the last `reanchor:done` entry archived. */
export const REANCHOR_CURSOR_KEY = 'lake:archive:reanchor_done';

export interface ReanchorArchiverOptions {
  redis: ReanchorRedis;
  writer: LakeWriter;
  encoder: Pick<ParquetEncoder, 'depthSnapshot' | 'streamRows'>;
  bronzePrefix?: string;
  /**
   * An entry is archived once it is this old: the REST mode writes its own depth_snapshots file just after
   * announcing the swap, and only a file still missing then is written from the Redis snapshot. Default 30 s
   * (the snapshot lives 600 s in Redis).
   */
  graceMs?: number;
  now?: () => number;
  onArchived?(info: { symbol: string; entryId: string; snapshotFile: string | null; wroteSnapshot: boolean }): void;
}

export interface ReanchorPollResult {
  archived: number;
  /** Entries whose snapshot had expired from Redis before the lake had it. */
  missingSnapshots: number;
}

function fieldsOf(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

/**
 * The re-anchors the online state used, into the lake: one `reanchors` row per `reanchor:done` entry, and the
 * snapshot's full-depth levels in `depth_snapshots` (the REST mode's file when it wrote one, else written here
 * from the snapshot the swap carried). Idempotent: files are named by entry id and update id, and the cursor
 * moves only after an entry's files are stored.
 */
export class ReanchorArchiver {
  private readonly bronze: string;
  private readonly graceMs: number;
  private readonly now: () => number;
  private counts = { archived: 0, snapshots_written: 0, snapshots_missing: 0 };
  private last: string | null = null;

  constructor(private readonly o: ReanchorArchiverOptions) {
    this.bronze = o.bronzePrefix ?? DEFAULT_BRONZE_PREFIX;
    this.graceMs = o.graceMs ?? 30_000;
    this.now = o.now ?? Date.now;
  }

  stats(): Record<string, unknown> {
    return { ...this.counts, last_entry: this.last };
  }

  async poll(): Promise<ReanchorPollResult> {
    const res: ReanchorPollResult = { archived: 0, missingSnapshots: 0 };
    let cursor = (await this.o.redis.get(REANCHOR_CURSOR_KEY)) ?? '0-0';
    for (;;) {
      const entries = await this.o.redis.xrange(REANCHOR_DONE_STREAM, `(${cursor}`, '+', 'COUNT', 100);
      if (entries.length === 0) return res;
      for (const [id, flat] of entries) {
        if (Number(id.split('-')[0]) + this.graceMs > this.now()) return res;
        const missing = await this.archiveEntry(id, fieldsOf(flat));
        if (missing) res.missingSnapshots++;
        res.archived++;
        await this.o.redis.set(REANCHOR_CURSOR_KEY, id);
        cursor = id;
        this.last = id;
      }
    }
  }

  /** Returns true when the snapshot could not be archived (expired and not in the lake). */
  private async archiveEntry(id: string, f: Record<string, string>): Promise<boolean> {
    const symbol = f.symbol ?? '';
    const lastUpdateId = Number(f.last_update_id);
    const snapshotKey = f.snapshot_key ?? '';
    if (!/^[A-Z0-9_-]{1,40}$/.test(symbol) || !Number.isSafeInteger(lastUpdateId) || lastUpdateId < 0) {
      // Not an entry we can place in the lake; skipped (the aggregator refuses it too).
      return false;
    }
    const doneMs = Number(id.split('-')[0]);
    let snapshot: DepthSnapshot | null = null;
    if (snapshotKey) {
      const json = await this.o.redis.get(snapshotKey);
      try {
        snapshot = json === null ? null : decodeSnapshot(json);
      } catch (err) {
        // An unreadable snapshot is a lost one: the entry is still recorded, so the cursor does not stick on it.
        if (!(err instanceof RedisPayloadError)) throw err;
        snapshot = null;
      }
    }
    let file = await this.findSnapshotFile(symbol, lastUpdateId, doneMs);
    let wrote = false;
    if (!file && snapshot && snapshot.bids.length + snapshot.asks.length > 0) {
      file = depthSnapshotKey(this.bronze, symbol, doneMs, lastUpdateId);
      const depth = { lastUpdateId, bids: snapshot.bids.map((l) => [l[0], l[1]] as [string, string]), asks: snapshot.asks.map((l) => [l[0], l[1]] as [string, string]) };
      await this.o.writer.write(file, await this.o.encoder.depthSnapshot(symbol, depth, doneMs), depth.bids.length + depth.asks.length);
      wrote = true;
      this.counts.snapshots_written++;
    }
    const row: StreamRow = {
      symbol,
      last_update_id: lastUpdateId,
      done_ts_ms: doneMs,
      entry_id: id,
      snapshot_key: snapshotKey,
      bid_levels: snapshot ? snapshot.bids.length : null,
      ask_levels: snapshot ? snapshot.asks.length : null,
      snapshot_file: file ?? null,
    };
    await this.o.writer.write(reanchorKey(this.bronze, symbol, id), await this.o.encoder.streamRows('reanchors', [row]), 1);
    this.counts.archived++;
    if (!file) this.counts.snapshots_missing++;
    this.o.onArchived?.({ symbol, entryId: id, snapshotFile: file ?? null, wroteSnapshot: wrote });
    return !file;
  }

  /** The REST mode names its file by the fetch time, shortly before the swap: this hour or the one before. */
  private async findSnapshotFile(symbol: string, lastUpdateId: number, doneMs: number): Promise<string | undefined> {
    const name = `/depth_snapshots_${lastUpdateId}.parquet`;
    for (const t of [doneMs, doneMs - 3_600_000]) {
      const keys = await this.o.writer.store.list(partitionPrefix(this.bronze, 'depth_snapshots', symbol, t));
      const hit = keys.find((k) => k.endsWith(name));
      if (hit) return hit;
    }
    return undefined;
  }
}
