import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketEvent } from '../../../src/core/events.js';
import { FEATURE_NAMES } from '../../../src/core/features.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AggregatorPipeline } from '../../../src/services/aggregate-pipeline.js';
import { decodeEntry, servedLogKey, type ServedEntry } from '../../../src/dataset/served-log.js';
import { rebuildServedFeatures } from '../../../src/dataset/rebuild.js';
import { closeRedis, connectSharedRedis, uniqueSymbol } from '../../support/servers.js';

/**
 * The aggregator pipeline logs every feat:{SYM} it writes, with the cut and wall clock it was computed at, and
 * every re-anchor snapshot it applies; replaying the same events through the rebuild at those cuts gives the
 * same vectors. Real redis-server, the pipeline's wall clock driven by the test.
 */

let redis: RedisClient;
beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** The served log of `sym`, decoded, once it holds `atLeast` entries (or whatever it holds at `deadline`). */
async function servedEntries(redis: RedisClient, sym: string, atLeast: number, deadline: number): Promise<ServedEntry[]> {
  const key = servedLogKey(sym);
  let raw: [string, string[]][] = [];
  while (raw.length < atLeast && Date.now() < deadline) {
    await sleep(20);
    raw = (await redis.xrange(key, '-', '+')) as [string, string[]][];
  }
  return raw.map(([, flat]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) f[flat[i]] = flat[i + 1];
    return decodeEntry(sym, f);
  });
}

describe('served-feature log of the aggregator pipeline', () => {
  it('logs each served vector with its cut, and the rebuild at that cut serves the same', async () => {
    const sym = uniqueSymbol('LOG');
    let wallMs = 1_800_000_000_000;
    const p = new AggregatorPipeline({ redis, writer: new ProjectionWriter(redis), now: () => wallMs, featureIntervalMs: 2000 });
    const t = (ms: number): number => (wallMs + ms) * 1000;
    const events: MarketEvent[] = [];
    const give = async (evs: MarketEvent[]): Promise<void> => {
      events.push(...evs);
      await p.ingestEvents(evs);
    };
    const depth = (id: number, ms: number, bid: string): MarketEvent => ({
      type: 'depth', symbol: sym, source: 'sbe', event_ts: t(ms), first_update_id: id, final_update_id: id, bids: [[bid, '2']], asks: [],
    });
    const trade = (id: number, ms: number, price: string): MarketEvent => ({
      type: 'trade', symbol: sym, source: 'sbe', event_ts: t(ms), trade_id: id, sequence_id: id, price, quantity: '0.5', is_buyer_maker: id % 2 === 0,
    });

    await give([depth(101, -900, '99.5'), trade(1, -800, '100.01')]);
    p.applyReanchorDone({ id: '1-0', symbol: sym, lastUpdateId: 100, snapshotKey: 'k', snapshot: { lastUpdateId: 100, bids: [['99.9', '1']], asks: [['100.1', '1']] } });
    await give([depth(102, -500, '99.95'), trade(2, -400, '100.05'), { type: 'bestBidAsk', symbol: sym, source: 'sbe', event_ts: t(-300), sequence_id: 102, bid_price: '99.95', bid_quantity: '2', ask_price: '100.1', ask_quantity: '1' }]);
    p.markFeaturesDue();
    await p.flush();
    const served1 = await redis.hgetall(symbolKeys(sym).feat);
    wallMs += 2000;
    await give([trade(3, 1500, '100.07'), depth(103, 1600, '100.0'), trade(4, 1700, '100.02')]);
    p.markFeaturesDue();
    await p.flush();
    const served2 = await redis.hgetall(symbolKeys(sym).feat);

    const key = servedLogKey(sym);
    const entries = await servedEntries(redis, sym, 3, Date.now() + 10_000);
    expect(entries.map((e) => e.kind)).toEqual(['anchor', 'feat', 'feat']);
    expect(entries[0].cut).toMatchObject({ n: 2, firstType: 'depth', firstId: 101, depthU: 101, tradeId: 1, anchorId: 100 });
    expect(entries[1].cut).toMatchObject({ n: 5, depthU: 102, tradeId: 2, bbaSeq: 102, anchorId: 100 });
    expect(entries[2].cut).toMatchObject({ n: 8, depthU: 103, tradeId: 4, bbaSeq: 102 });
    expect(entries[1].feat).toEqual(served1);
    expect(entries[2].feat).toEqual(served2);
    expect(entries[2].wall_ms).toBe(wallMs);
    expect(new Set(entries.map((e) => e.run)).size).toBe(1);

    const out = rebuildServedFeatures({
      symbol: sym, events, entries, snapshot: (id) => (id === 100 ? { lastUpdateId: 100, bids: [['99.9', '1']], asks: [['100.1', '1']] } : undefined),
      fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, horizonSeconds: 10,
    });
    expect(out.parity).toMatchObject({ compared: 2, mismatched: 0, maxRelErr: 0 });
    for (const n of FEATURE_NAMES) expect(out.rows[1].features[n]).toBe(Number(served2[n]));
    await redis.del(key, ...Object.values(symbolKeys(sym)).filter((k) => k !== sym));
  });

  it('logs a re-anchor applied while a served vector is being written after that vector, as the state saw them', async () => {
    const sym = uniqueSymbol('LOGW');
    let wallMs = 1_800_000_000_000;
    let release: () => void = () => undefined;
    let held = false;
    // The projection write of the feature tick waits until the test lets it go.
    class HeldWriter extends ProjectionWriter {
      override async write(...args: Parameters<ProjectionWriter['write']>): ReturnType<ProjectionWriter['write']> {
        if (held) await new Promise<void>((r) => (release = r));
        return super.write(...args);
      }
    }
    const p = new AggregatorPipeline({ redis, writer: new HeldWriter(redis), now: () => wallMs, featureIntervalMs: 2000 });
    const t = (ms: number): number => (wallMs + ms) * 1000;
    const depth = (id: number, ms: number, bid: string): MarketEvent => ({
      type: 'depth', symbol: sym, source: 'sbe', event_ts: t(ms), first_update_id: id, final_update_id: id, bids: [[bid, '2']], asks: [],
    });
    const trade = (id: number, ms: number): MarketEvent => ({
      type: 'trade', symbol: sym, source: 'sbe', event_ts: t(ms), trade_id: id, sequence_id: id, price: '100.01', quantity: '0.5', is_buyer_maker: false,
    });
    const snap100 = { lastUpdateId: 100, bids: [['99.9', '1']] as [string, string][], asks: [['100.1', '1']] as [string, string][] };
    const snap103 = { lastUpdateId: 103, bids: [['99.8', '3']] as [string, string][], asks: [['100.2', '4']] as [string, string][] };
    const events: MarketEvent[] = [depth(101, -900, '99.5'), trade(1, -800), depth(102, -700, '99.6')];
    await p.ingestEvents(events.slice(0, 2));
    p.applyReanchorDone({ id: '1-0', symbol: sym, lastUpdateId: 100, snapshotKey: 'k', snapshot: snap100 });
    await p.ingestEvents(events.slice(2));
    await p.flush();
    wallMs += 2000;
    held = true;
    p.markFeaturesDue();
    const writing = p.flush();
    const deadline = Date.now() + 5000;
    while (release.length === 0 && Date.now() < deadline) await sleep(5);
    expect(release.length, 'the feature write is held').toBe(1);
    // A newer snapshot (id 103) lands while the vector computed at book id 102 is still being written.
    p.applyReanchorDone({ id: '2-0', symbol: sym, lastUpdateId: 103, snapshotKey: 'k2', snapshot: snap103 });
    held = false;
    release();
    await writing;

    const key = servedLogKey(sym);
    const entries = await servedEntries(redis, sym, 4, deadline + 5000);
    expect(entries.map((e) => [e.kind, e.book_id])).toEqual([['anchor', 101], ['feat', 102], ['feat', 102], ['anchor', 103]]);
    const out = rebuildServedFeatures({
      symbol: sym, events, entries, snapshot: (id) => (id === 100 ? snap100 : id === 103 ? snap103 : undefined),
      fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, horizonSeconds: 10,
    });
    expect(out.parity).toMatchObject({ compared: 2, mismatched: 0, maxRelErr: 0 });
    await redis.del(key, ...Object.values(symbolKeys(sym)).filter((k) => k !== sym));
  });
});
