import { ByteWriter, ParquetWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import type { DepthResponse, RestAggTrade, RestKline } from '../binance/rest-types.js';
import type { Level } from '../core/events.js';

/**
 * Bronze Parquet encodings (pure: rows in, file bytes out). Every Binance field is kept; prices and
 * quantities stay the venue's exact decimal strings (UTF8), ids and times are INT64, flags BOOLEAN.
 */

export const LAKE_SCHEMA_VERSION = '1';

function int64(name: string, values: readonly number[]): ColumnSource {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return { name, data, type: 'INT64', nullable: false };
}

function int32(name: string, values: readonly number[]): ColumnSource {
  return { name, data: Int32Array.from(values), type: 'INT32', nullable: false };
}

function utf8(name: string, values: string[]): ColumnSource {
  return { name, data: values, type: 'STRING', nullable: false };
}

function bool(name: string, values: boolean[]): ColumnSource {
  return { name, data: values, type: 'BOOLEAN', nullable: false };
}

/**
 * Zero-row files are refused: hyparquet-writer 0.17 encodes the empty row-group list with a thrift
 * element type that arrow-rs rejects ("Expected list element type of Struct"), so they would be
 * unreadable by the lake's consumers. Callers simply write nothing.
 */
export class EmptyDatasetError extends Error {
  override readonly name = 'EmptyDatasetError';
  constructor(readonly dataset: string) {
    super(`refusing to write an empty ${dataset} file`);
  }
}

/** A bronze Parquet file of these columns, tagged with its dataset and the lake's schema version. */
export function writeParquet(dataset: string, columnData: ColumnSource[]): Uint8Array {
  return writeParquetGroups(dataset, columnData[0].data.length, 100_000, () => columnData);
}

/**
 * A bronze Parquet file written one row group at a time: `columnsOf(from, to)` is asked for each group's rows,
 * so the values of only one group exist at once (a 100,000-row file of 20-level diffs, its levels as arrays,
 * would take ~300 MB).
 */
export function writeParquetGroups(dataset: string, rows: number, rowsPerGroup: number, columnsOf: (from: number, to: number) => ColumnSource[]): Uint8Array {
  if (rows === 0) throw new EmptyDatasetError(dataset);
  const writer = new ByteWriter();
  let pq: ParquetWriter | undefined;
  for (let from = 0; from < rows; from += rowsPerGroup) {
    const to = Math.min(rows, from + rowsPerGroup);
    const columnData = columnsOf(from, to);
    pq ??= new ParquetWriter({
      writer,
      schema: schemaFromColumnData({ columnData }),
      // Default 16-byte statistics: Binance prices/quantities ("97123.45000000") fit whole, and untruncated
      // statistics cost ~50% more encode time.
      kvMetadata: [
        { key: 'btcpipe.dataset', value: dataset },
        { key: 'btcpipe.schema_version', value: LAKE_SCHEMA_VERSION },
      ],
      createdBy: 'btcpipe lake',
    });
    void pq.write({ columnData, rowGroupSize: rowsPerGroup });
  }
  pq?.finish();
  return new Uint8Array(writer.getBuffer());
}

export const AGG_TRADES_COLUMNS = [
  'symbol', 'agg_id', 'price', 'qty', 'first_trade_id', 'last_trade_id', 'trade_time_ms', 'is_buyer_maker', 'is_best_match',
] as const;

export function encodeAggTrades(symbol: string, trades: readonly RestAggTrade[]): Uint8Array {
  return writeParquet('agg_trades', [
    utf8('symbol', trades.map(() => symbol)),
    int64('agg_id', trades.map((t) => t.a)),
    utf8('price', trades.map((t) => t.p)),
    utf8('qty', trades.map((t) => t.q)),
    int64('first_trade_id', trades.map((t) => t.f)),
    int64('last_trade_id', trades.map((t) => t.l)),
    int64('trade_time_ms', trades.map((t) => t.T)),
    bool('is_buyer_maker', trades.map((t) => t.m)),
    bool('is_best_match', trades.map((t) => t.M)),
  ]);
}

export const KLINES_COLUMNS = [
  'symbol', 'open_time', 'open', 'high', 'low', 'close', 'volume', 'close_time', 'quote_volume', 'trades',
  'taker_buy_base', 'taker_buy_quote', 'ignore',
] as const;

export function encodeKlines(symbol: string, klines: readonly RestKline[]): Uint8Array {
  return writeParquet('klines_1m', [
    utf8('symbol', klines.map(() => symbol)),
    int64('open_time', klines.map((k) => k[0])),
    utf8('open', klines.map((k) => k[1])),
    utf8('high', klines.map((k) => k[2])),
    utf8('low', klines.map((k) => k[3])),
    utf8('close', klines.map((k) => k[4])),
    utf8('volume', klines.map((k) => k[5])),
    int64('close_time', klines.map((k) => k[6])),
    utf8('quote_volume', klines.map((k) => k[7])),
    int64('trades', klines.map((k) => k[8])),
    utf8('taker_buy_base', klines.map((k) => k[9])),
    utf8('taker_buy_quote', klines.map((k) => k[10])),
    utf8('ignore', klines.map((k) => k[11])),
  ]);
}

export const DEPTH_SNAPSHOT_COLUMNS = ['symbol', 'last_update_id', 'snapshot_ts_ms', 'side', 'level', 'price', 'qty'] as const;

/** Long format: one row per price level; `level` is 1-based from the top of each side. */
export function encodeDepthSnapshot(symbol: string, depth: DepthResponse, tsMs: number): Uint8Array {
  const side: string[] = [];
  const level: number[] = [];
  const price: string[] = [];
  const qty: string[] = [];
  const add = (name: string, levels: DepthResponse['bids']): void => {
    levels.forEach(([p, q], i) => {
      side.push(name);
      level.push(i + 1);
      price.push(p);
      qty.push(q);
    });
  };
  add('bid', depth.bids);
  add('ask', depth.asks);
  return writeParquet('depth_snapshots', [
    utf8('symbol', side.map(() => symbol)),
    int64('last_update_id', side.map(() => depth.lastUpdateId)),
    int64('snapshot_ts_ms', side.map(() => tsMs)),
    utf8('side', side),
    int32('level', level),
    utf8('price', price),
    utf8('qty', qty),
  ]);
}

/**
 * The whole stream in the lake: the datasets `btcpipe archive` writes from Kinesis, and what `btcpipe dataset`
 * reads back. Pure definitions and encoding (rows in, Parquet bytes out).
 *
 * Layout: `{bronze}/{dataset}/symbol={SYM}/date={YYYY-MM-DD}/hour={HH}/{dataset}_{first}_{last}.parquet`, the
 * partition from the first row's venue event time (UTC), `first`/`last` the dataset's `idColumn` of the first and
 * last row. Rows of a file are in id order, ids strictly increase across a symbol's files (a duplicate delivery
 * is kept once), and a file never spans an hour. `reanchors` and `stream_holes` are one file per entry / hole.
 *
 * Types: prices and quantities are the venue's exact decimal strings (STRING), never floats; ids and times are
 * INT64; the levels of a diff or snapshot are one JSON column holding `[["price","qty"], …]` (DuckDB reads it
 * as JSON: `bids->0->>0`; hyparquet returns the parsed arrays). `sbe` holds the venue's SBE frame bytes when
 * the Kinesis record carried them, else null.
 */

export type StreamDatasetName = 'depth_diffs' | 'trades' | 'best_bid_ask' | 'depth_snapshot_events' | 'reanchors' | 'stream_holes';

export type LakeColumnType = 'STRING' | 'JSON' | 'INT64' | 'INT32' | 'BOOLEAN' | 'BYTE_ARRAY';

export interface LakeColumn {
  name: string;
  type: LakeColumnType;
  nullable: boolean;
  doc: string;
}

export interface StreamDatasetDef {
  name: StreamDatasetName;
  doc: string;
  columns: readonly LakeColumn[];
  /** The column that orders rows and names files (`{dataset}_{first}_{last}`); undefined: one file per entry. */
  idColumn?: string;
  /** Venue time of a row, the partition's clock. */
  timeColumn: string;
  /** Its unit. */
  timeUnit: 'us' | 'ms';
}

const col = (name: string, type: LakeColumnType, doc: string, nullable = false): LakeColumn => ({ name, type, nullable, doc });

/** Provenance columns every Kinesis-fed dataset ends with. */
const KINESIS_TAIL: readonly LakeColumn[] = [
  col('recv_ts_us', 'INT64', 'when the ingestor received the venue frame, µs since the epoch', true),
  col('source', 'STRING', "'sbe' | 'json' | 'rest' (the event's source field)"),
  col('arrival_ms', 'INT64', 'Kinesis ApproximateArrivalTimestamp, ms (null for rows fetched from the REST API)', true),
  col('kinesis_shard', 'STRING', 'shard id the record came from', true),
  col('kinesis_seq', 'STRING', 'Kinesis sequence number of the (aggregated) record', true),
  col('kinesis_sub_seq', 'INT32', 'index inside a KPL aggregated record (null for a plain record)', true),
  col('sbe', 'BYTE_ARRAY', "the venue's SBE message bytes when the record carried them", true),
];

/**
 * A dataset of one Kinesis event type: keyed by its venue id, partitioned by event time, its own columns
 * between the symbol and event time every event has and the provenance tail.
 */
function kinesisDataset(name: StreamDatasetName, doc: string, idColumn: string, columns: readonly LakeColumn[]): StreamDatasetDef {
  return {
    name,
    doc,
    idColumn,
    timeColumn: 'event_ts_us',
    timeUnit: 'us',
    columns: [col('symbol', 'STRING', 'symbol'), col('event_ts_us', 'INT64', 'venue event time, µs'), ...columns, ...KINESIS_TAIL],
  };
}

export const STREAM_DATASETS: Readonly<Record<StreamDatasetName, StreamDatasetDef>> = {
  depth_diffs: kinesisDataset(
    'depth_diffs',
    'every depth diff the aggregator consumes (Binance U/u chained per symbol)',
    'final_update_id',
    [
      col('first_update_id', 'INT64', 'Binance U'),
      col('final_update_id', 'INT64', 'Binance u'),
      col('bids', 'JSON', '[["price","qty"], …] changed bid levels (qty "0…" removes the level)'),
      col('asks', 'JSON', '[["price","qty"], …] changed ask levels'),
    ],
  ),
  trades: kinesisDataset(
    'trades',
    'every trade the aggregator consumes, plus trades fetched from the REST API to fill a hole (filled = true)',
    'trade_id',
    [
      col('transact_ts_us', 'INT64', 'matching-engine time of the trade, µs', true),
      col('trade_id', 'INT64', 'venue trade id (contiguous per symbol)'),
      col('price', 'STRING', 'exact decimal'),
      col('qty', 'STRING', 'exact decimal'),
      col('is_buyer_maker', 'BOOLEAN', 'buyer was the maker (a sell-initiated trade)'),
      col('filled', 'BOOLEAN', 'not seen on Kinesis: fetched from /api/v3/trades to fill a hole (the aggregator never saw it)'),
    ],
  ),
  best_bid_ask: kinesisDataset(
    'best_bid_ask',
    'every best bid/ask the aggregator consumes (update ids increase; the venue culls, so skips are normal)',
    'update_id',
    [
      col('update_id', 'INT64', 'book update id'),
      col('bid_price', 'STRING', 'exact decimal'),
      col('bid_qty', 'STRING', 'exact decimal'),
      col('ask_price', 'STRING', 'exact decimal'),
      col('ask_qty', 'STRING', 'exact decimal'),
    ],
  ),
  depth_snapshot_events: kinesisDataset(
    'depth_snapshot_events',
    'partial-depth snapshots carried on Kinesis (e.g. the SBE depth20 stream), when the ingestor puts them there',
    'last_update_id',
    [
      col('last_update_id', 'INT64', 'book update id of the snapshot'),
      col('bids', 'JSON', '[["price","qty"], …] from the best bid down'),
      col('asks', 'JSON', '[["price","qty"], …] from the best ask up'),
    ],
  ),
  reanchors: {
    name: 'reanchors',
    doc:
      'each re-anchor announced on reanchor:done (the snapshot the online state swapped in); its full-depth levels ' +
      'are the depth_snapshots file of the same symbol and last_update_id (snapshot_file)',
    timeColumn: 'done_ts_ms',
    timeUnit: 'ms',
    columns: [
      col('symbol', 'STRING', 'symbol'),
      col('last_update_id', 'INT64', 'lastUpdateId of the snapshot swapped in'),
      col('done_ts_ms', 'INT64', 'when the swap was announced (the reanchor:done entry id time, Redis clock), ms'),
      col('entry_id', 'STRING', 'the reanchor:done entry id'),
      col('snapshot_key', 'STRING', 'the Redis key the snapshot travelled in (ob:snapshot:SYM:<attempt>)'),
      col('bid_levels', 'INT32', 'levels per side in the snapshot', true),
      col('ask_levels', 'INT32', 'levels per side in the snapshot', true),
      col('snapshot_file', 'STRING', 'lake key of the depth_snapshots file with its levels (null: the snapshot had expired)', true),
    ],
  },
  stream_holes: {
    name: 'stream_holes',
    doc: 'ids missing from a stream (depth U/u chain, trade ids), as seen by the archiver; where the lake is incomplete',
    timeColumn: 'after_event_ts_us',
    timeUnit: 'us',
    columns: [
      col('symbol', 'STRING', 'symbol'),
      col('stream', 'STRING', "'depth' | 'trade'"),
      col('expected_id', 'INT64', 'first missing id'),
      col('got_id', 'INT64', 'first id after the hole'),
      col('missing', 'INT64', 'ids missing (got_id - expected_id)'),
      col('before_event_ts_us', 'INT64', 'event time of the event before the hole', true),
      col('after_event_ts_us', 'INT64', 'event time of the event after the hole'),
      col('detected_ts_ms', 'INT64', 'wall-clock time the archiver saw it'),
      col('filled', 'INT64', 'ids fetched from the REST API into the dataset (trades only)'),
      col('status', 'STRING', "'open' (nothing filled) | 'partial' | 'filled'"),
    ],
  },
};

export type Cell = string | number | boolean | null | Uint8Array | readonly Level[];
/** One row, keyed by column name. */
export type StreamRow = Record<string, Cell | undefined>;
