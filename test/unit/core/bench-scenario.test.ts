import { describe, expect, it } from 'vitest';
import { CoreScenario } from '../../../src/bench/core.js';
import { SymbolState } from '../../../src/core/symbol-state.js';

describe('core bench scenario', () => {
  it('is a gap-free stream with the stated mix, so the bench measures a live book', () => {
    const sc = new CoreScenario(1);
    const st = new SymbolState('BTCUSDT');
    st.loadSnapshot(sc.snapshot, 1_763_700_000_000_000);
    const events = sc.next(5000);
    expect(events.length).toBeGreaterThan(4900);
    const kinds = { applied: 0, other: 0 };
    for (const ev of events) kinds[st.apply(ev).kind === 'applied' ? 'applied' : 'other']++;
    expect(kinds).toEqual({ applied: events.length, other: 0 });
    expect(st.status).toBe('live');
    const share = (t: string) => events.filter((e) => e.type === t).length / events.length;
    expect(share('depth')).toBeGreaterThan(0.55);
    expect(share('trade')).toBeGreaterThan(0.3);
    expect(share('bestBidAsk')).toBeGreaterThan(0.03);
    expect(st.book.bidCount).toBeGreaterThan(4900);
  });
});
