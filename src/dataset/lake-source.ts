/**
 * Reads what a rebuild needs from the bronze lake (folder or S3, same keys): a symbol's archived stream
 * (depth_diffs, trades, best_bid_ask) as core events in the order the aggregator applied them, the served-
 * feature log, and re-anchor snapshots by update id.
 *
 * Order: a symbol's events share one Kinesis shard (the stream's partition key is the symbol), so the
 * Kinesis sequence number, then the index inside an aggregated record, then the event's own id (several
 * events of one record, e.g. an SBE trades message) is the order the aggregator's consumer delivered them in.
 * Trades fetched from the REST API to fill a hole were never on Kinesis, never seen by the aggregator: left out.
 */
import { parquetReadObjects } from 'hyparquet';
import type { Level, MarketEvent } from '../core/events.js';
import type { SnapshotInput } from '../core/book-sync.js';
import type { ObjectStore } from '../lake/object-store.js';
import { symbolPrefix } from '../lake/keys.js';
import { decodeServed, servedPrefix, type StoredServedEntry } from './served-archive.js';

export class LakeRangeError extends Error {
  override readonly name = 'LakeRangeError';
}

type Row = Record<string, unknown>;

/** Hour index (ms / 3.6e6) of a key's `date=YYYY-MM-DD/hour=HH/` partition, undefined when it has none. */
export function partitionHour(key: string): number | undefined {
  const m = /date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}T${m[2]}:00:00Z`);
  return Number.isFinite(t) ? t / 3_600_000 : undefined;
}

async function readRows(store: ObjectStore, key: string, columns?: string[]): Promise<Row[]> {
  const bytes = await store.get(key);
  if (!bytes) return [];
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file, columns })) as Row[];
}

/** Keys of a prefix whose hour partition overlaps [fromMs, toMs] (one hour of slack each side). */
async function keysInHours(store: ObjectStore, prefix: string, fromMs: number, toMs: number): Promise<string[]> {
  const lo = Math.floor(fromMs / 3_600_000) - 1;
  const hi = Math.floor(toMs / 3_600_000) + 1;
  return (await store.list(prefix)).filter((k) => {
    const h = partitionHour(k);
    return k.endsWith('.parquet') && h !== undefined && h >= lo && h <= hi;
  });
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v));
const optNum = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : num(v));

function levels(v: unknown): Level[] {
  const arr: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  if (!Array.isArray(arr)) throw new LakeRangeError(`levels column is not a list: ${JSON.stringify(v)?.slice(0, 60)}`);
  return arr.map((l) => [String((l as unknown[])[0]), String((l as unknown[])[1])] as Level);
}

/** An event with its delivery order. */
export interface OrderedEvent {
  /** Kinesis sequence number (decimal, no leading zeros). */
  seq: string;
  sub: number;
  id: number;
  ev: MarketEvent;
}

function compareOrdered(a: OrderedEvent, b: OrderedEvent): number {
  if (a.seq !== b.seq) return a.seq.length !== b.seq.length ? a.seq.length - b.seq.length : a.seq < b.seq ? -1 : 1;
  if (a.sub !== b.sub) return a.sub - b.sub;
  return a.id - b.id;
}

type StreamDataset = 'depth_diffs' | 'trades' | 'best_bid_ask';
const STREAMS: readonly StreamDataset[] = ['depth_diffs', 'trades', 'best_bid_ask'];

/** `{bronze}/{dataset}/symbol={SYM}/` of a whole-stream dataset (the archiver's layout). */
function streamPrefix(bronzePrefix: string, dataset: StreamDataset, symbol: string): string {
  const base = bronzePrefix.replace(/^\/+|\/+$/g, '');
  return `${base ? `${base}/` : ''}${dataset}/symbol=${symbol}/`;
}

function toEvent(dataset: StreamDataset, symbol: string, r: Row): MarketEvent | undefined {
  const base = { symbol, event_ts: num(r.event_ts_us), source: (r.source as 'sbe' | 'json' | 'rest') ?? 'sbe', recv_ts_us: optNum(r.recv_ts_us) };
  switch (dataset) {
    case 'depth_diffs':
      return { ...base, type: 'depth', first_update_id: num(r.first_update_id), final_update_id: num(r.final_update_id), bids: levels(r.bids), asks: levels(r.asks) };
    case 'trades': {
      if (r.filled === true) return undefined;
      const id = num(r.trade_id);
      return {
        ...base, type: 'trade', trade_id: id, sequence_id: id, price: String(r.price), quantity: String(r.qty), is_buyer_maker: r.is_buyer_maker === true,
        transact_ts: optNum(r.transact_ts_us),
      };
    }
    case 'best_bid_ask':
      return {
        ...base, type: 'bestBidAsk', sequence_id: num(r.update_id),
        bid_price: String(r.bid_price), bid_quantity: String(r.bid_qty), ask_price: String(r.ask_price), ask_quantity: String(r.ask_qty),
      };
  }
}

export interface StreamRead {
  events: MarketEvent[];
  files: number;
  /** Newest event time in the lake for the symbol (µs), 0 when none. */
  newestUs: number;
  oldestUs: number;
}

/** The symbol's archived events with venue time in about [fromUs, toUs] (whole hour partitions), in delivery order. */
export async function readStreamEvents(
  store: ObjectStore,
  bronzePrefix: string,
  symbol: string,
  fromUs: number,
  toUs: number,
  onFile?: (done: number, total: number) => void,
): Promise<StreamRead> {
  const work: Array<[StreamDataset, string]> = [];
  for (const ds of STREAMS) for (const k of await keysInHours(store, streamPrefix(bronzePrefix, ds, symbol), fromUs / 1000, toUs / 1000)) work.push([ds, k]);
  const out: OrderedEvent[] = [];
  let newestUs = 0;
  let oldestUs = Infinity;
  for (const [i, [ds, key]] of work.entries()) {
    for (const r of await readRows(store, key)) {
      if (r.kinesis_seq === null || r.kinesis_seq === undefined) continue;
      const ev = toEvent(ds, symbol, r);
      if (!ev) continue;
      newestUs = Math.max(newestUs, ev.event_ts);
      oldestUs = Math.min(oldestUs, ev.event_ts);
      out.push({ seq: String(r.kinesis_seq).replace(/^0+(?=\d)/, ''), sub: optNum(r.kinesis_sub_seq) ?? -1, id: ds === 'depth_diffs' ? num(r.final_update_id) : ds === 'trades' ? num(r.trade_id) : num(r.update_id), ev });
    }
    onFile?.(i + 1, work.length);
  }
  out.sort(compareOrdered);
  return { events: out.map((o) => o.ev), files: work.length, newestUs, oldestUs: oldestUs === Infinity ? 0 : oldestUs };
}

/** Served-log entries of the symbol with wall clock in about [fromMs, toMs], in log order. */
export async function readServedEntries(store: ObjectStore, bronzePrefix: string, symbol: string, fromMs: number, toMs: number): Promise<StoredServedEntry[]> {
  const out: StoredServedEntry[] = [];
  for (const k of await keysInHours(store, servedPrefix(bronzePrefix, symbol), fromMs, toMs)) {
    const bytes = await store.get(k);
    if (bytes) out.push(...(await decodeServed(bytes)));
  }
  const seen = new Set<string>();
  const key = (id: string): [number, number] => {
    const [a, b] = id.split('-').map(Number);
    return [a, b];
  };
  return out
    .filter((e) => (seen.has(e.entry_id) ? false : (seen.add(e.entry_id), true)))
    .sort((a, b) => {
      const [am, as] = key(a.entry_id);
      const [bm, bs] = key(b.entry_id);
      return am - bm || as - bs;
    });
}

/** Does the lake hold anything at all for the symbol (any stream dataset or served log)? */
export async function symbolKnown(store: ObjectStore, bronzePrefix: string, symbol: string): Promise<boolean> {
  for (const ds of STREAMS) if ((await store.list(streamPrefix(bronzePrefix, ds, symbol))).length > 0) return true;
  return (await store.list(servedPrefix(bronzePrefix, symbol))).length > 0;
}

/** Full-depth snapshots by update id, read lazily from `depth_snapshots`. */
export class SnapshotCatalog {
  private keys: string[] | undefined;
  private readonly cache = new Map<number, SnapshotInput | undefined>();

  constructor(
    private readonly store: ObjectStore,
    private readonly bronzePrefix: string,
    private readonly symbol: string,
  ) {}

  async load(ids: Iterable<number>): Promise<void> {
    this.keys ??= await this.store.list(symbolPrefix(this.bronzePrefix, 'depth_snapshots', this.symbol));
    for (const id of ids) {
      if (this.cache.has(id)) continue;
      const key = this.keys.find((k) => k.endsWith(`/depth_snapshots_${id}.parquet`));
      if (!key) {
        this.cache.set(id, undefined);
        continue;
      }
      const rows = await readRows(this.store, key);
      const bids: Array<[number, Level]> = [];
      const asks: Array<[number, Level]> = [];
      for (const r of rows) (r.side === 'bid' ? bids : asks).push([num(r.level), [String(r.price), String(r.qty)]]);
      bids.sort((a, b) => a[0] - b[0]);
      asks.sort((a, b) => a[0] - b[0]);
      this.cache.set(id, { lastUpdateId: id, bids: bids.map((b) => b[1]), asks: asks.map((a) => a[1]) });
    }
  }

  get(id: number): SnapshotInput | undefined {
    return this.cache.get(id);
  }
}
