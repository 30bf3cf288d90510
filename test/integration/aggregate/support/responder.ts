/**
 * Answers `reanchor:requests` the way the REST mode does: AtomicReanchor.run(symbol, fetch) with fetch =
 * the simulator's /api/v3/depth?limit=5000 and recent /api/v3/trades, turned into staging state by the
 * core's buildStagingState. Used until (and independently of) the REST ingest service.
 */
import type { Level, TradeEvent } from '../../../../src/core/events.js';
import { buildStagingState } from '../../../../src/core/staging.js';
import type { RedisClient } from '../../../../src/redis/connect.js';
import { REANCHOR_REQUESTS_STREAM } from '../../../../src/redis/keys.js';
import { AtomicReanchor, type ReanchorResult } from '../../../../src/redis/reanchor.js';
import { readReanchorRequests } from '../../../../src/redis/streams.js';

export interface Responder {
  results: ReanchorResult[];
  requests: { symbol: string; reason: string }[];
  stop(): Promise<void>;
}

interface RestTrade {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
}

export async function startResponder(opts: { redis: RedisClient; blocking: RedisClient; restUrl: string; minIntervalMs?: number }): Promise<Responder> {
  const ra = new AtomicReanchor(opts.redis, { minIntervalMs: opts.minIntervalMs ?? 500 });
  const results: ReanchorResult[] = [];
  const requests: Responder['requests'] = [];
  const last = await opts.redis.xrevrange(REANCHOR_REQUESTS_STREAM, '+', '-', 'COUNT', 1);
  let lastId = last[0]?.[0] ?? '0-0';
  let running = true;
  const fetchState = (symbol: string) => async (signal: AbortSignal) => {
    const [depthRes, tradesRes] = await Promise.all([
      fetch(`${opts.restUrl}/api/v3/depth?symbol=${symbol}&limit=5000`, { signal }),
      fetch(`${opts.restUrl}/api/v3/trades?symbol=${symbol}&limit=1000`, { signal }),
    ]);
    if (!depthRes.ok || !tradesRes.ok) throw new Error(`venue answered ${depthRes.status}/${tradesRes.status}`);
    const depth = (await depthRes.json()) as { lastUpdateId: number; bids: Level[]; asks: Level[] };
    const trades = ((await tradesRes.json()) as RestTrade[]).map(
      (t): TradeEvent => ({
        type: 'trade', symbol, event_ts: t.time * 1000, source: 'rest', trade_id: t.id, sequence_id: t.id,
        price: t.price, quantity: t.qty, is_buyer_maker: t.isBuyerMaker,
      }),
    );
    const s = buildStagingState(symbol, depth, trades, Date.now());
    return { ob: s.ob, tr1s: s.tr1s, tr5s: s.tr5s, feat: s.feat, snapshot: depth };
  };
  const loop = (async () => {
    while (running) {
      let batch;
      try {
        batch = await readReanchorRequests(opts.blocking, lastId, 200);
      } catch {
        if (!running) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const req of batch) {
        lastId = req.id;
        requests.push({ symbol: req.symbol, reason: req.reason });
        const r = await ra.run(req.symbol, fetchState(req.symbol), { reason: req.reason });
        results.push(r);
      }
    }
  })();
  return {
    results,
    requests,
    async stop() {
      running = false;
      await loop;
    },
  };
}
