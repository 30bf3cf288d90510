/**
 * Glue table definitions for the bronze Parquet datasets, so Athena reads the lake as it is written:
 *   {bronze}/{dataset}/symbol={SYM}/date={YYYY-MM-DD}/hour={HH}/{dataset}_{first}_{last}.parquet
 *
 * Types follow the files' physical types: prices and quantities are the venue's exact decimal strings
 * (string), ids and times INT64 (bigint), the depth level INT32 (int), flags BOOLEAN. Each file also
 * holds a `symbol` column; Glue refuses a column that repeats a partition key, so the table takes
 * `symbol` from the path (the same value) and leaves the file's column unread.
 */

import { STREAM_DATASETS, type LakeColumnType, type StreamDatasetName } from '../../src/lake/datasets.js';

export type GlueType = 'string' | 'bigint' | 'int' | 'boolean' | 'binary';

export interface LakeColumn {
  name: string;
  type: GlueType;
  comment?: string;
}

export type BronzeDataset = 'agg_trades' | 'klines_1m' | 'depth_snapshots' | StreamDatasetName;

export interface BronzeTable {
  dataset: BronzeDataset;
  description: string;
  columns: readonly LakeColumn[];
}

const decimal = (name: string, comment: string): LakeColumn => ({ name, type: 'string', comment: `${comment} (exact decimal string)` });

/** Athena's type for each column type of the whole-stream datasets (levels are JSON text). */
const GLUE_TYPE_OF: Readonly<Record<LakeColumnType, GlueType>> = {
  STRING: 'string',
  JSON: 'string',
  INT64: 'bigint',
  INT32: 'int',
  BOOLEAN: 'boolean',
  BYTE_ARRAY: 'binary',
};

/** The datasets `btcpipe archive` writes, from the lake's own definitions (so the tables cannot drift from the files). */
const STREAM_TABLES: readonly BronzeTable[] = Object.values(STREAM_DATASETS).map((d) => ({
  dataset: d.name,
  description: d.doc,
  columns: d.columns.filter((c) => c.name !== 'symbol').map((c) => ({ name: c.name, type: GLUE_TYPE_OF[c.type], comment: c.doc.slice(0, 255) })),
}));

const REST_TABLES: readonly BronzeTable[] = [
  {
    dataset: 'agg_trades',
    description: 'Binance aggregate trades (REST /api/v3/aggTrades), contiguous by agg_id',
    columns: [
      { name: 'agg_id', type: 'bigint', comment: 'aggregate trade id' },
      decimal('price', 'price'),
      decimal('qty', 'quantity'),
      { name: 'first_trade_id', type: 'bigint' },
      { name: 'last_trade_id', type: 'bigint' },
      { name: 'trade_time_ms', type: 'bigint', comment: 'venue time, ms since epoch' },
      { name: 'is_buyer_maker', type: 'boolean' },
      { name: 'is_best_match', type: 'boolean' },
    ],
  },
  {
    dataset: 'klines_1m',
    description: 'Binance 1-minute klines (REST /api/v3/klines), closed minutes only',
    columns: [
      { name: 'open_time', type: 'bigint', comment: 'ms since epoch' },
      decimal('open', 'open price'),
      decimal('high', 'high price'),
      decimal('low', 'low price'),
      decimal('close', 'close price'),
      decimal('volume', 'base volume'),
      { name: 'close_time', type: 'bigint', comment: 'ms since epoch' },
      decimal('quote_volume', 'quote volume'),
      { name: 'trades', type: 'bigint', comment: 'number of trades' },
      decimal('taker_buy_base', 'taker buy base volume'),
      decimal('taker_buy_quote', 'taker buy quote volume'),
      { name: 'ignore', type: 'string', comment: 'unused venue field, kept as sent' },
    ],
  },
  {
    dataset: 'depth_snapshots',
    description: 'Binance order book snapshots (REST /api/v3/depth) taken at re-anchors, one row per level',
    columns: [
      { name: 'last_update_id', type: 'bigint' },
      { name: 'snapshot_ts_ms', type: 'bigint', comment: 'ms since epoch' },
      { name: 'side', type: 'string', comment: 'bid | ask' },
      { name: 'level', type: 'int', comment: '1-based from the top of the side' },
      decimal('price', 'price'),
      decimal('qty', 'quantity'),
    ],
  },
];

export const BRONZE_TABLES: readonly BronzeTable[] = [...REST_TABLES, ...STREAM_TABLES];

/** Partition keys, in path order. */
export const BRONZE_PARTITION_KEYS: readonly LakeColumn[] = [
  { name: 'symbol', type: 'string' },
  { name: 'date', type: 'string', comment: 'UTC, YYYY-MM-DD' },
  { name: 'hour', type: 'string', comment: 'UTC, 00-23' },
];

/** First date partition projection covers: Binance spot data starts in 2017. */
export const PROJECTION_FIRST_DATE = '2017-07-01';
