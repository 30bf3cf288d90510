/**
 * Moves the served-feature log (`feat:log:{SYM}`) from Redis to the lake:
 *   {bronze}/features_served/symbol={SYM}/date=/hour=/features_served_{firstEntryId}_{lastEntryId}.parquet
 * one file per (call, hour), rows in log order, the partition from each entry's wall clock. The lake itself is
 * the cursor: the next call reads the stream after the newest entry id a file name holds, so a restart neither
 * loses nor repeats entries (a crash between two hours' files of one call rewrites the second; the same name).
 * Numbers are DOUBLE (every id and time is below 2^53), the served vector one JSON text column.
 */
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import type { RedisClient } from '../redis/connect.js';
import type { ObjectStore } from '../lake/object-store.js';
import { DEFAULT_BRONZE_PREFIX, hourPartition } from '../lake/keys.js';
import { assertValidKey } from '../lake/object-key.js';
import { toRedisError } from '../redis/errors.js';
import { decodeEntry, servedLogKey, ServedLogDecodeError, type EventCut, type ServedEntry } from './served-log.js';

export const SERVED_DATASET = 'features_served';

const CUT_COLUMNS = [
  'n', 'firstId', 'firstTs', 'depthU', 'depthTs', 'depthRecv', 'tradeId', 'tradeTs', 'tradeRecv', 'bbaSeq', 'bbaTs', 'bbaRecv', 'anchorId',
] as const satisfies readonly (keyof EventCut)[];

export function servedPrefix(bronzePrefix: string, symbol: string): string {
  const base = bronzePrefix.replace(/^\/+|\/+$/g, '');
  return `${base ? `${base}/` : ''}${SERVED_DATASET}/symbol=${symbol}/`;
}

function servedKey(bronzePrefix: string, symbol: string, wallMs: number, firstId: string, lastId: string): string {
  const p = hourPartition(wallMs);
  const key = `${servedPrefix(bronzePrefix, symbol)}date=${p.date}/hour=${p.hour}/${SERVED_DATASET}_${firstId}_${lastId}.parquet`;
  assertValidKey(key);
  return key;
}

/** Stream ids compare as (ms, seq). */
function idLess(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

/** The newest entry id the files of a symbol hold (undefined: none archived yet). */
export function newestArchivedId(keys: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const k of keys) {
    const m = /features_served_(\d+-\d+)_(\d+-\d+)\.parquet$/.exec(k);
    if (m && (best === undefined || idLess(best, m[2]))) best = m[2];
  }
  return best;
}

export interface StoredServedEntry extends ServedEntry {
  entry_id: string;
}

export function encodeServed(entries: readonly StoredServedEntry[]): Uint8Array {
  const dbl = (name: string, f: (e: StoredServedEntry) => number): ColumnSource => ({ name, type: 'DOUBLE', nullable: false, data: Float64Array.from(entries, f) });
  const str = (name: string, f: (e: StoredServedEntry) => string): ColumnSource => ({ name, type: 'STRING', nullable: false, data: entries.map(f) });
  const buf = parquetWriteBuffer({
    columnData: [
      str('entry_id', (e) => e.entry_id),
      str('symbol', (e) => e.symbol),
      str('kind', (e) => e.kind),
      str('run', (e) => e.run),
      dbl('wall_ms', (e) => e.wall_ms),
      dbl('event_ts_us', (e) => e.event_ts_us),
      str('book_status', (e) => e.book_status),
      dbl('book_id', (e) => e.book_id),
      str('first_type', (e) => e.cut.firstType),
      ...CUT_COLUMNS.map((c) => dbl(`cut_${c}`, (e) => e.cut[c])),
      str('feat', (e) => JSON.stringify(e.feat)),
    ],
    kvMetadata: [{ key: 'btcpipe.dataset', value: SERVED_DATASET }],
    createdBy: 'btcpipe dataset',
  });
  return new Uint8Array(buf);
}

export async function decodeServed(bytes: Uint8Array): Promise<StoredServedEntry[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
  return rows.map((r) => {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(r)) fields[k.startsWith('cut_') ? k.slice(4) : k] = String(v);
    fields.firstType = fields.first_type;
    const e = decodeEntry(fields.symbol, fields);
    return { ...e, run: fields.run, entry_id: fields.entry_id };
  });
}

export interface ServedArchiverOptions {
  redis: RedisClient;
  store: ObjectStore;
  symbols: readonly string[];
  bronzePrefix?: string;
  cluster?: boolean;
  /** Entries read per XRANGE. */
  batch?: number;
}

/** Moves feat:log:{SYM} entries to the lake; call runOnce() on a timer (idempotent, restart-safe). */
export class ServedFeatureArchiver {
  private readonly prefix: string;
  archived = 0;
  malformed = 0;

  constructor(private readonly o: ServedArchiverOptions) {
    this.prefix = o.bronzePrefix ?? DEFAULT_BRONZE_PREFIX;
  }

  /** Archive everything logged so far; returns the entries written. */
  async runOnce(): Promise<number> {
    let n = 0;
    for (const s of this.o.symbols) n += await this.archiveSymbol(s);
    return n;
  }

  private async archiveSymbol(symbol: string): Promise<number> {
    const key = servedLogKey(symbol, this.o.cluster);
    let after = newestArchivedId(await this.o.store.list(servedPrefix(this.prefix, symbol)));
    let total = 0;
    for (;;) {
      let raw: [string, string[]][];
      try {
        raw = (await this.o.redis.xrange(key, after === undefined ? '-' : `(${after}`, '+', 'COUNT', this.o.batch ?? 5000)) as [string, string[]][];
      } catch (err) {
        throw toRedisError(err, `read ${key}`);
      }
      if (raw.length === 0) return total;
      const entries: StoredServedEntry[] = [];
      for (const [id, flat] of raw) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
        try {
          entries.push({ ...decodeEntry(symbol, f), entry_id: id });
        } catch (err) {
          if (!(err instanceof ServedLogDecodeError)) throw err;
          this.malformed++;
        }
      }
      // One file per hour of wall clock, in log order.
      let i = 0;
      while (i < entries.length) {
        const hour = Math.floor(entries[i].wall_ms / 3_600_000);
        let j = i;
        while (j < entries.length && Math.floor(entries[j].wall_ms / 3_600_000) === hour) j++;
        const part = entries.slice(i, j);
        await this.o.store.put(servedKey(this.prefix, symbol, part[0].wall_ms, part[0].entry_id, part[part.length - 1].entry_id), encodeServed(part));
        i = j;
      }
      total += entries.length;
      this.archived += entries.length;
      after = raw[raw.length - 1][0];
    }
  }
}

