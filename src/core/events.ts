/**
 * The normalized event vocabulary shared by every source (SBE stream, JSON replay, REST back-fill, Lambda)
 * and every consumer (Kinesis, aggregator core, lake). Field names follow the seed's event shapes.
 * Prices and quantities are exact decimal strings; ids and timestamps are JS numbers (all < 2^53).
 */

/** [price, quantity] as exact decimal strings. */
export type Level = [string, string];

export type EventSource = 'sbe' | 'json' | 'rest';

interface BaseEvent {
  symbol: string;
  /** Venue event time, microseconds since the Unix epoch. */
  event_ts: number;
  source: EventSource;
  /** Local wall-clock time the carrying frame was received, µs (for latency measurement; optional). */
  recv_ts_us?: number;
}

export interface TradeEvent extends BaseEvent {
  type: 'trade';
  trade_id: number;
  price: string;
  quantity: string;
  is_buyer_maker: boolean;
  /** = trade_id: trade ids are the trade stream's sequence. */
  sequence_id: number;
  /** Matching-engine time of the trade, µs (SBE transactTime / JSON T). */
  transact_ts?: number;
}

export interface BestBidAskEvent extends BaseEvent {
  type: 'bestBidAsk';
  bid_price: string;
  bid_quantity: string;
  ask_price: string;
  ask_quantity: string;
  /** = bookUpdateId. */
  sequence_id: number;
}

export interface DepthEvent extends BaseEvent {
  type: 'depth';
  /** Binance `U`. */
  first_update_id: number;
  /** Binance `u`. */
  final_update_id: number;
  bids: Level[];
  asks: Level[];
}

export interface DepthSnapshotEvent extends BaseEvent {
  type: 'depthSnapshot';
  last_update_id: number;
  bids: Level[];
  asks: Level[];
}

export type MarketEvent = TradeEvent | BestBidAskEvent | DepthEvent | DepthSnapshotEvent;
export type MarketEventType = MarketEvent['type'];

/** The Kinesis stream key (config `aws.kinesis.streams.<key>`) that carries each event type. */
export function streamKeyOf(type: MarketEventType): 'trade' | 'bestbidask' | 'depth' {
  switch (type) {
    case 'trade':
      return 'trade';
    case 'bestBidAsk':
      return 'bestbidask';
    case 'depth':
    case 'depthSnapshot':
      return 'depth';
  }
}
