import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { MarketEngine } from '../../../src/sim/engine.js';
import { FrameEncoder } from '../../../src/sim/frames.js';
import { SymbolFormat, symbolSpec } from '../../../src/sim/symbols.js';
import { WireEncoder } from '../../../src/sim/wire.js';
import { normalizeDecimal } from '../../../src/core/decimal.js';

const START = 1_767_225_600_000_000;

describe('WireEncoder (the simulator hot-path SBE writer)', () => {
  it('writes byte-for-byte the frames of binance/sbe-encode for every engine event', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom('BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'DOGEUSDT', 'ETHBTC'), (seed, symbol) => {
        const spec = symbolSpec(symbol);
        const e = new MarketEngine({ spec, seed, startTimeUs: START, ratePerSec: 3000 });
        const fast = new WireEncoder(spec);
        const reference = new FrameEncoder(spec);
        const events = e.advance(START + 300_000);
        expect(events.length).toBeGreaterThan(100);
        const differing = events.filter((ev) => Buffer.compare(fast.encode(ev), reference.encode(ev)) !== 0);
        expect(differing).toEqual([]);
      }),
      { numRuns: 15 },
    );
  });

  it('round-trips through decodeFrame to the exact venue decimals', () => {
    const spec = symbolSpec('BTCUSDT');
    const fmt = new SymbolFormat(spec);
    const e = new MarketEngine({ spec, seed: 5, startTimeUs: START, ratePerSec: 3000 });
    const enc = new WireEncoder(spec);
    let checked = 0;
    for (const ev of e.advance(START + 200_000)) {
      const [decoded] = decodeFrame(enc.encode(ev));
      if (ev.kind === 'trade' && decoded.type === 'trade') {
        expect(decoded.trade_id).toBe(ev.trades[0].id);
        expect(decoded.price).toBe(normalizeDecimal(fmt.price(ev.trades[0].price)));
        expect(decoded.quantity).toBe(normalizeDecimal(fmt.qty(ev.trades[0].qty)));
        checked++;
      } else if (ev.kind === 'depth' && decoded.type === 'depth') {
        expect([decoded.first_update_id, decoded.final_update_id]).toEqual([ev.firstUpdateId, ev.lastUpdateId]);
        expect(decoded.bids).toEqual(ev.bids.map(([p, q]) => [normalizeDecimal(fmt.price(p)), normalizeDecimal(fmt.qty(q))]));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
