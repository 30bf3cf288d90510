import type { MarketEvent } from '../core/events.js';
import { hourIndex } from './keys.js';
import type { StreamDatasetName, StreamRow } from './datasets.js';

/**
 * Kinesis events → rows of the whole-stream datasets (pure). Each row carries the dataset's ordering id and
 * the venue time that picks its hour partition.
 */

/** Where a record came from on Kinesis, and what its envelope said beside the event. */
export interface RecordMeta {
  arrivalMs?: number;
  shardId?: string;
  sequenceNumber?: string;
  subSequenceNumber?: number;
  /** The envelope's receive time (SBE records); the event's own recv_ts_us wins when set. */
  recvTsUs?: number;
  /** The venue's SBE message, on the first event decoded from it. */
  sbe?: Uint8Array;
}

export type EventDataset = Extract<StreamDatasetName, 'depth_diffs' | 'trades' | 'best_bid_ask' | 'depth_snapshot_events'>;

export interface ArchiveRow {
  dataset: EventDataset;
  symbol: string;
  /** The dataset's id column: final_update_id, trade_id, update_id or last_update_id. */
  id: number;
  /** Venue time, ms (partition clock). */
  tsMs: number;
  row: StreamRow;
}

export function datasetOf(type: MarketEvent['type']): EventDataset {
  switch (type) {
    case 'depth':
      return 'depth_diffs';
    case 'trade':
      return 'trades';
    case 'bestBidAsk':
      return 'best_bid_ask';
    case 'depthSnapshot':
      return 'depth_snapshot_events';
  }
}

/**
 * The lake row of one event. Each dataset's row is one object literal with its fields in one fixed order, not
 * spread from a shared head and tail: built by spreads, ~4 KB per row did not die young (sampling heap profile
 * of the archiver at 10 symbols, ~5,100 events/s: 22 MB/s promoted from here), and the archiver ran a full GC
 * every ~0.5 s and spent 40 % of its CPU in GC. One literal per dataset halved its full GCs.
 */
export function eventRow(ev: MarketEvent, meta: RecordMeta = {}): ArchiveRow {
  const tsMs = Math.floor(ev.event_ts / 1000);
  const recvTsUs = ev.recv_ts_us !== undefined ? Math.trunc(ev.recv_ts_us) : (meta.recvTsUs ?? null);
  const arrivalMs = meta.arrivalMs ?? null;
  const shard = meta.shardId ?? null;
  const seq = meta.sequenceNumber ?? null;
  const subSeq = meta.subSequenceNumber ?? null;
  const sbe = meta.sbe ?? null;
  switch (ev.type) {
    case 'depth':
      return {
        dataset: 'depth_diffs',
        symbol: ev.symbol,
        id: ev.final_update_id,
        tsMs,
        row: {
          symbol: ev.symbol,
          event_ts_us: ev.event_ts,
          first_update_id: ev.first_update_id,
          final_update_id: ev.final_update_id,
          bids: ev.bids,
          asks: ev.asks,
          recv_ts_us: recvTsUs,
          source: ev.source,
          arrival_ms: arrivalMs,
          kinesis_shard: shard,
          kinesis_seq: seq,
          kinesis_sub_seq: subSeq,
          sbe,
        },
      };
    case 'trade':
      return {
        dataset: 'trades',
        symbol: ev.symbol,
        id: ev.trade_id,
        tsMs,
        row: {
          symbol: ev.symbol,
          event_ts_us: ev.event_ts,
          transact_ts_us: ev.transact_ts ?? null,
          trade_id: ev.trade_id,
          price: ev.price,
          qty: ev.quantity,
          is_buyer_maker: ev.is_buyer_maker,
          filled: false,
          recv_ts_us: recvTsUs,
          source: ev.source,
          arrival_ms: arrivalMs,
          kinesis_shard: shard,
          kinesis_seq: seq,
          kinesis_sub_seq: subSeq,
          sbe,
        },
      };
    case 'bestBidAsk':
      return {
        dataset: 'best_bid_ask',
        symbol: ev.symbol,
        id: ev.sequence_id,
        tsMs,
        row: {
          symbol: ev.symbol,
          event_ts_us: ev.event_ts,
          update_id: ev.sequence_id,
          bid_price: ev.bid_price,
          bid_qty: ev.bid_quantity,
          ask_price: ev.ask_price,
          ask_qty: ev.ask_quantity,
          recv_ts_us: recvTsUs,
          source: ev.source,
          arrival_ms: arrivalMs,
          kinesis_shard: shard,
          kinesis_seq: seq,
          kinesis_sub_seq: subSeq,
          sbe,
        },
      };
    case 'depthSnapshot':
      return {
        dataset: 'depth_snapshot_events',
        symbol: ev.symbol,
        id: ev.last_update_id,
        tsMs,
        row: {
          symbol: ev.symbol,
          event_ts_us: ev.event_ts,
          last_update_id: ev.last_update_id,
          bids: ev.bids,
          asks: ev.asks,
          recv_ts_us: recvTsUs,
          source: ev.source,
          arrival_ms: arrivalMs,
          kinesis_shard: shard,
          kinesis_seq: seq,
          kinesis_sub_seq: subSeq,
          sbe,
        },
      };
  }
}

/** A trade fetched from the REST API to fill a hole (the aggregator never saw it). */
export interface FilledTrade {
  id: number;
  price: string;
  qty: string;
  timeMs: number;
  isBuyerMaker: boolean;
}

export function filledTradeRow(symbol: string, t: FilledTrade, fetchedAtMs: number): ArchiveRow {
  return {
    dataset: 'trades',
    symbol,
    id: t.id,
    tsMs: t.timeMs,
    row: {
      symbol,
      event_ts_us: t.timeMs * 1000,
      transact_ts_us: t.timeMs * 1000,
      trade_id: t.id,
      price: t.price,
      qty: t.qty,
      is_buyer_maker: t.isBuyerMaker,
      filled: true,
      recv_ts_us: fetchedAtMs * 1000,
      source: 'rest',
      arrival_ms: null,
      kinesis_shard: null,
      kinesis_seq: null,
      kinesis_sub_seq: null,
      sbe: null,
    },
  };
}

/** Rows [from, to) of a buffer: one lake file. */
export interface RowRange {
  from: number;
  to: number;
}

/** Ids and partition times of an id-ordered run of rows, by index. */
export interface OrderedRows {
  readonly length: number;
  id(i: number): number;
  tsMs(i: number): number;
}

/**
 * Cut an id-ordered run of rows into files: a new file at every change of UTC hour and every `maxRows` rows
 * (pure). Rows at or below `after` are left out (already in the lake).
 */
export function cutFiles(rows: OrderedRows, maxRows: number, after?: number): RowRange[] {
  const out: RowRange[] = [];
  let cur: RowRange | undefined;
  let hour = NaN;
  for (let i = 0; i < rows.length; i++) {
    if (after !== undefined && rows.id(i) <= after) {
      cur = undefined;
      continue;
    }
    const h = hourIndex(rows.tsMs(i));
    if (!cur || h !== hour || cur.to - cur.from >= maxRows) {
      cur = { from: i, to: i };
      out.push(cur);
    }
    hour = h;
    cur.to = i + 1;
  }
  return out;
}
