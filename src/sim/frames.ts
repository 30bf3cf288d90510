/** Engine events → SBE stream frames (bare messages at each instrument's exponents). */
import {
  encodeBestBidAskFrame,
  encodeDepthDiffFrame,
  encodeDepthSnapshotFrame,
  encodeTradesFrame,
} from '../binance/sbe-encode.js';
import type { EngineEvent } from './engine.js';
import type { StreamType } from './faults.js';
import { fixedDecimal, type SymbolSpec } from './symbols.js';

/** What a frame covered, for gap bookkeeping in the fault log. */
export interface FrameMeta {
  type: StreamType;
  firstUpdateId?: number;
  lastUpdateId?: number;
  firstTradeId?: number;
  lastTradeId?: number;
}

export function streamTypeOf(ev: EngineEvent): StreamType {
  return ev.kind;
}

export function frameMeta(ev: EngineEvent): FrameMeta {
  switch (ev.kind) {
    case 'trade':
      return { type: 'trade', firstTradeId: ev.trades[0].id, lastTradeId: ev.trades[ev.trades.length - 1].id };
    case 'depth':
      return { type: 'depth', firstUpdateId: ev.firstUpdateId, lastUpdateId: ev.lastUpdateId };
    case 'bestBidAsk':
    case 'depth20':
      return { type: ev.kind, lastUpdateId: ev.updateId };
  }
}

export class FrameEncoder {
  private readonly tickDec: number;
  private readonly lotDec: number;

  constructor(private readonly spec: SymbolSpec) {
    this.tickDec = spec.tickDecimals;
    this.lotDec = spec.lotDecimals;
  }

  private p(ticks: number): string {
    return fixedDecimal(ticks, this.tickDec, this.tickDec);
  }

  private q(lots: number): string {
    return fixedDecimal(lots, this.lotDec, this.lotDec);
  }

  private levels(levels: Array<[number, number]>): [string, string][] {
    return levels.map(([p, q]) => [this.p(p), this.q(q)]);
  }

  encode(ev: EngineEvent): Uint8Array {
    const symbol = this.spec.symbol;
    const exps = { priceExponent: this.spec.priceExponent, qtyExponent: this.spec.qtyExponent };
    switch (ev.kind) {
      case 'trade':
        return encodeTradesFrame({
          symbol,
          eventTimeUs: ev.timeUs,
          transactTimeUs: ev.timeUs,
          ...exps,
          trades: ev.trades.map((t) => ({
            id: t.id,
            price: this.p(t.price),
            qty: this.q(t.qty),
            isBuyerMaker: t.isBuyerMaker,
          })),
        });
      case 'bestBidAsk':
        return encodeBestBidAskFrame({
          symbol,
          eventTimeUs: ev.timeUs,
          bookUpdateId: ev.updateId,
          ...exps,
          bidPrice: this.p(ev.bidPrice),
          bidQty: this.q(ev.bidQty),
          askPrice: this.p(ev.askPrice),
          askQty: this.q(ev.askQty),
        });
      case 'depth':
        return encodeDepthDiffFrame({
          symbol,
          eventTimeUs: ev.timeUs,
          firstBookUpdateId: ev.firstUpdateId,
          lastBookUpdateId: ev.lastUpdateId,
          ...exps,
          bids: this.levels(ev.bids),
          asks: this.levels(ev.asks),
        });
      case 'depth20':
        return encodeDepthSnapshotFrame({
          symbol,
          eventTimeUs: ev.timeUs,
          bookUpdateId: ev.updateId,
          ...exps,
          bids: this.levels(ev.bids),
          asks: this.levels(ev.asks),
        });
    }
  }
}
