/**
 * The re-anchor fetch the bench stacks answer reanchor requests with: the simulator's REST depth and
 * recent trades, staged as the aggregator's state for the symbol.
 */
import type { Level, TradeEvent } from '../core/events.js';
import { buildStagingState } from '../core/staging.js';
import type { ReanchorFetch } from '../redis/reanchor.js';

/** `restUrl` is read when the fetch runs: a bench may restart the simulator on another port. */
export function benchReanchorFetch(restUrl: () => string, symbol: string, depthLimit: number, tradesLimit: number): ReanchorFetch {
  return async (signal) => {
    const [d, t] = await Promise.all([
      fetch(`${restUrl()}/api/v3/depth?symbol=${symbol}&limit=${depthLimit}`, { signal }).then((x) => x.json()),
      fetch(`${restUrl()}/api/v3/trades?symbol=${symbol}&limit=${tradesLimit}`, { signal }).then((x) => x.json()),
    ]);
    const depth = d as { lastUpdateId: number; bids: Level[]; asks: Level[] };
    const trades = (t as { id: number; price: string; qty: string; time: number; isBuyerMaker: boolean }[]).map(
      (x): TradeEvent => ({
        type: 'trade', symbol, event_ts: x.time * 1000, source: 'rest', trade_id: x.id, sequence_id: x.id,
        price: x.price, quantity: x.qty, is_buyer_maker: x.isBuyerMaker,
      }),
    );
    const s = buildStagingState(symbol, depth, trades, Date.now());
    return { ob: s.ob, tr1s: s.tr1s, tr5s: s.tr5s, feat: s.feat, snapshot: depth };
  };
}
