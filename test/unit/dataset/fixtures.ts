/** Hand-made market events and a miniature aggregator serving features from them (dataset tests). */
import type { MarketEvent } from '../../../src/core/events.js';
import type { SnapshotInput } from '../../../src/core/book-sync.js';
import { SymbolState } from '../../../src/core/symbol-state.js';
import { newCut, noteEvent, type ServedEntry } from '../../../src/dataset/served-log.js';

export const SYM = 'BTCUSDT';
export const T0 = 1_764_000_000_000_000; // µs
export const SNAP: SnapshotInput = { lastUpdateId: 1, bids: [['100', '1']], asks: [['102', '1']] };

/** k = 1..n: a depth diff at T0 + k s moving the quote to bid 100+k / ask 102+k (mid 101+k), a trade at +0.5 s. */
export function market(n: number): MarketEvent[] {
  const out: MarketEvent[] = [];
  for (let k = 1; k <= n; k++) {
    out.push({
      type: 'depth', symbol: SYM, source: 'sbe', event_ts: T0 + k * 1e6, recv_ts_us: T0 + k * 1e6 + 100,
      first_update_id: k + 1, final_update_id: k + 1,
      bids: [[`${100 + k}`, '1'], [`${99 + k}`, '0']],
      asks: [[`${102 + k}`, '1'], [`${101 + k}`, '0']],
    });
    out.push({
      type: 'trade', symbol: SYM, source: 'sbe', event_ts: T0 + k * 1e6 + 500_000, trade_id: k, sequence_id: k,
      price: `${101 + k}.5`, quantity: `0.${k}`, is_buyer_maker: k % 2 === 0,
    });
    if (k % 3 === 0) {
      out.push({
        type: 'bestBidAsk', symbol: SYM, source: 'sbe', event_ts: T0 + k * 1e6 + 600_000, sequence_id: k + 1,
        bid_price: `${100 + k}`, bid_quantity: '1', ask_price: `${102 + k}`, ask_quantity: '1',
      });
    }
  }
  return out;
}

/**
 * What the aggregator does, in miniature: give events in order, load a snapshot after the given number of events
 * (`anchorAfter`: SNAP after that many; or [after, snapshot] pairs), and at each tick position log the cut and
 * the vector served.
 */
export function serve(events: readonly MarketEvent[], anchorAfter: number | ReadonlyArray<[number, SnapshotInput]>, ticks: readonly number[]): ServedEntry[] {
  const anchors = new Map<number, SnapshotInput>(typeof anchorAfter === 'number' ? [[anchorAfter, SNAP]] : anchorAfter);
  const firstAnchor = Math.min(...anchors.keys());
  const st = new SymbolState(SYM);
  const cut = newCut();
  const log: ServedEntry[] = [];
  const at = new Set(ticks);
  const entry = (kind: 'feat' | 'anchor', wallMs: number, feat: Record<string, string>): ServedEntry => ({
    kind, symbol: SYM, run: 'run-1', wall_ms: wallMs, event_ts_us: st.now, cut: { ...cut }, book_status: st.status, book_id: st.lastUpdateId ?? -1, feat,
  });
  for (let i = 0; i < events.length; i++) {
    noteEvent(cut, events[i]);
    st.apply(events[i]);
    const snap = anchors.get(i + 1);
    if (snap) {
      st.apply({ type: 'depthSnapshot', symbol: SYM, source: 'rest', event_ts: st.now, last_update_id: snap.lastUpdateId, bids: [...snap.bids], asks: [...snap.asks] });
      cut.anchorId = snap.lastUpdateId;
      log.push(entry('anchor', st.now / 1000 + 30, {}));
    }
    if (at.has(i + 1) && i + 1 >= firstAnchor) {
      const wallMs = Math.floor(st.now / 1000) + 40;
      log.push(entry('feat', wallMs, st.featHash(wallMs).hash));
    }
  }
  return log;
}
