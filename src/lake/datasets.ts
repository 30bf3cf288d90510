import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import type { DepthResponse, RestAggTrade, RestKline } from '../binance/rest-types.js';

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

function write(dataset: string, columnData: ColumnSource[]): Uint8Array {
  if (columnData[0].data.length === 0) throw new EmptyDatasetError(dataset);
  const buf = parquetWriteBuffer({
    columnData,
    // Default 16-byte statistics: Binance prices/quantities ("97123.45000000") fit whole, and untruncated
    // statistics cost ~50% more encode time.
    rowGroupSize: 100_000,
    kvMetadata: [
      { key: 'btcpipe.dataset', value: dataset },
      { key: 'btcpipe.schema_version', value: LAKE_SCHEMA_VERSION },
    ],
    createdBy: 'btcpipe lake',
  });
  return new Uint8Array(buf);
}

export const AGG_TRADES_COLUMNS = [
  'symbol', 'agg_id', 'price', 'qty', 'first_trade_id', 'last_trade_id', 'trade_time_ms', 'is_buyer_maker', 'is_best_match',
] as const;

export function encodeAggTrades(symbol: string, trades: readonly RestAggTrade[]): Uint8Array {
  return write('agg_trades', [
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
  return write('klines_1m', [
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
  return write('depth_snapshots', [
    utf8('symbol', side.map(() => symbol)),
    int64('last_update_id', side.map(() => depth.lastUpdateId)),
    int64('snapshot_ts_ms', side.map(() => tsMs)),
    utf8('side', side),
    int32('level', level),
    utf8('price', price),
    utf8('qty', qty),
  ]);
}
