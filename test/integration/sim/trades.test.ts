import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimals, compareDecimals, normalizeDecimal } from '../../../src/core/decimal.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import type { TradeEvent } from '../../../src/core/events.js';
import type { RestAggTrade, RestKline, RestTrade } from '../../../src/binance/rest-types.js';
import { aggTradeResponseSchema, klineResponseSchema, tradeResponseSchema } from '../../../src/binance/rest-types.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { connect, getJson, waitFor } from './plain-client.js';

interface TruthTrade extends RestTrade {
  aggId: number;
  timeUs: number;
}

describe('simulator: trades, aggregate trades and klines agree with the ground truth', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ rate: 400, seed: 3, weightLimitPerMinute: 1_000_000 });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('streams every trade with contiguous ids, identical to /sim/truth/trades', async () => {
    const seen: TradeEvent[] = [];
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@trade`);
    ws.on('message', (d: Buffer) => {
      for (const ev of decodeFrame(new Uint8Array(d))) if (ev.type === 'trade') seen.push(ev);
    });
    await waitFor(() => seen.length >= 300, 20_000, '300 trades');
    ws.close();
    const got = seen.slice(); // frames may still arrive while the socket closes
    const ids = got.map((t) => t.trade_id);
    expect(ids.every((id, i) => i === 0 || id === ids[i - 1] + 1)).toBe(true);

    const truth = await getJson<TruthTrade[]>(`${sim.restUrl}/sim/truth/trades?symbol=BTCUSDT&fromId=${ids[0]}&limit=${ids.length}`);
    expect(truth.map((t) => t.id)).toEqual(ids);
    expect(
      truth.map((t) => [normalizeDecimal(t.price), normalizeDecimal(t.qty), t.isBuyerMaker, t.timeUs]),
    ).toEqual(got.map((t) => [t.price, t.quantity, t.is_buyer_maker, t.transact_ts]));
    // Agg ids never skip, and one agg trade is one taker at one price.
    for (let i = 1; i < truth.length; i++) {
      const d = truth[i].aggId - truth[i - 1].aggId;
      expect(d === 0 || d === 1).toBe(true);
      if (d === 0) {
        expect(truth[i].price).toBe(truth[i - 1].price);
        expect(truth[i].isBuyerMaker).toBe(truth[i - 1].isBuyerMaker);
      }
    }
  });

  it('/api/v3/aggTrades (fromId) groups exactly the truth trades by agg id, with f/l', async () => {
    const truth = await getJson<TruthTrade[]>(`${sim.restUrl}/sim/truth/trades?symbol=BTCUSDT&limit=100000`);
    const lastAgg = truth[truth.length - 1].aggId;
    expect(lastAgg - truth[0].aggId).toBeGreaterThan(130);
    const mid = truth.find((t) => t.aggId === lastAgg - 120 && truth.some((u) => u.aggId === t.aggId - 1)) as TruthTrade;
    const aggs = await getJson<RestAggTrade[]>(`${sim.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&fromId=${mid.aggId}&limit=100`);
    expect(aggs.length).toBe(100);
    aggs.forEach((a) => aggTradeResponseSchema.parse(a));
    expect(aggs[0].a).toBe(mid.aggId);
    const byId = new Map(truth.map((t) => [t.id, t]));
    for (let i = 0; i < aggs.length; i++) {
      const a = aggs[i];
      if (i > 0) {
        expect(a.a).toBe(aggs[i - 1].a + 1);
        expect(a.f).toBe(aggs[i - 1].l + 1);
      }
      const members = truth.filter((t) => t.aggId === a.a);
      expect(members.map((t) => t.id)).toEqual(Array.from({ length: a.l - a.f + 1 }, (_, k) => a.f + k));
      expect(addDecimals(members.map((t) => t.qty))).toBe(normalizeDecimal(a.q));
      expect(byId.get(a.f)?.price).toBe(a.p);
      expect(a.T).toBe(byId.get(a.f)?.time);
    }
    // startTime/endTime select by time; fromId wins over them.
    const t0 = truth[10].time;
    const byTime = await getJson<RestAggTrade[]>(`${sim.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&startTime=${t0}&endTime=${t0 + 50}`);
    expect(byTime.length).toBeGreaterThan(0);
    expect(byTime.every((a) => a.T >= t0 && a.T <= t0 + 50)).toBe(true);
    const fromWins = await getJson<RestAggTrade[]>(
      `${sim.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&fromId=${mid.aggId}&startTime=1&endTime=2&limit=3`,
    );
    expect(fromWins.map((a) => a.a)).toEqual([mid.aggId, mid.aggId + 1, mid.aggId + 2]);
    const tooWide = await fetch(`${sim.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600000`);
    expect(tooWide.status).toBe(400);
    expect(((await tooWide.json()) as { code: number }).code).toBe(-1127);
  });

  it('/api/v3/trades returns the most recent trades in Binance shape', async () => {
    const recent = await getJson<RestTrade[]>(`${sim.restUrl}/api/v3/trades?symbol=BTCUSDT&limit=5`);
    expect(recent.length).toBe(5);
    recent.forEach((t) => tradeResponseSchema.parse(t));
    expect(recent[4].id - recent[0].id).toBe(4);
    const truth = await getJson<TruthTrade[]>(`${sim.restUrl}/sim/truth/trades?symbol=BTCUSDT&fromId=${recent[0].id}&limit=5`);
    expect(truth.map(({ id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch }) => ({ id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch }))).toEqual(recent);
  });

  it('1m klines: count, volume, quote volume and taker-buy volumes equal the truth trades of each minute', async () => {
    // Read klines while no trade happens in between (the market keeps running).
    let klines: RestKline[] = [];
    let lastId = 0;
    for (let attempt = 0; attempt < 50; attempt++) {
      const before = (await getJson<{ market: Record<string, { lastTradeId: number }> }>(`${sim.restUrl}/sim/stats`)).market.BTCUSDT.lastTradeId;
      klines = await getJson<RestKline[]>(`${sim.restUrl}/api/v3/klines?symbol=BTCUSDT&interval=1m`);
      const after = (await getJson<{ market: Record<string, { lastTradeId: number }> }>(`${sim.restUrl}/sim/stats`)).market.BTCUSDT.lastTradeId;
      if (before === after) {
        lastId = after;
        break;
      }
    }
    expect(lastId).toBeGreaterThan(0);
    klines.forEach((k) => klineResponseSchema.parse(k));
    const truth = (await getJson<TruthTrade[]>(`${sim.restUrl}/sim/truth/trades?symbol=BTCUSDT&limit=100000`)).filter(
      (t) => t.id <= lastId,
    );
    expect(truth[truth.length - 1].id).toBe(lastId);
    let total = 0;
    for (const k of klines) {
      const [open, o, h, l, c, v, close, qv, n, tbv, tbq] = k;
      expect(close).toBe(open + 59_999);
      const inK = truth.filter((t) => t.time >= open && t.time <= close);
      total += inK.length;
      expect(n).toBe(inK.length);
      if (n === 0) continue;
      expect(normalizeDecimal(v)).toBe(addDecimals(inK.map((t) => t.qty)));
      expect(normalizeDecimal(qv)).toBe(addDecimals(inK.map((t) => t.quoteQty)));
      const takerBuys = inK.filter((t) => !t.isBuyerMaker);
      expect(normalizeDecimal(tbv)).toBe(addDecimals(['0', ...takerBuys.map((t) => t.qty)]));
      expect(normalizeDecimal(tbq)).toBe(addDecimals(['0', ...takerBuys.map((t) => t.quoteQty)]));
      expect(o).toBe(inK[0].price);
      expect(c).toBe(inK[inK.length - 1].price);
      expect(inK.every((t) => compareDecimals(t.price, h) <= 0 && compareDecimals(t.price, l) >= 0)).toBe(true);
    }
    expect(total).toBe(truth.length);

    // Other intervals come from the same trades: 5m sums the 1m bars; 1s bars count the trades per second.
    const fiveMin = await getJson<RestKline[]>(`${sim.restUrl}/api/v3/klines?symbol=BTCUSDT&interval=5m&endTime=${klines[0][0]}`);
    expect(fiveMin.length).toBeGreaterThan(0);
    const fm = fiveMin[fiveMin.length - 1];
    const firstTradeMs = truth[0].time;
    const secs = await getJson<RestKline[]>(
      `${sim.restUrl}/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=${firstTradeMs - (firstTradeMs % 1000)}&limit=3`,
    );
    expect(secs.length).toBe(3);
    // Only bars that had closed when `truth` was read can be compared with it (the market keeps trading).
    const lastTruthMs = truth[truth.length - 1].time;
    let compared = 0;
    for (const [open, , , , , , close, , n] of secs) {
      expect(close - open).toBe(999);
      if (close >= lastTruthMs) continue;
      expect(n).toBe(truth.filter((t) => t.time >= open && t.time <= close).length);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    expect(fm[0] % 300_000).toBe(0);
    expect(fm[6] - fm[0]).toBe(299_999);
  });
});
