import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BestBidAskEvent, DepthSnapshotEvent, MarketEvent, TradeEvent } from '../../../src/core/events.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { DEAD_LETTER_STREAM, readDeadLetters } from '../../../src/redis/dead-letter.js';
import { AggregatorPipeline, type PipelineRecord } from '../../../src/services/aggregate-pipeline.js';
import { closeRedis, connectSharedRedis, uniqueSymbol } from '../../support/servers.js';

/**
 * Poison records against the real redis-server: a record that cannot be projected must be dead-lettered
 * (counted, kept with its stream/shard/sequence for a person to inspect) and never block the records around
 * it or any other symbol's writes.
 */

let redis: RedisClient;

beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

const nowUs = (): number => Date.now() * 1000;

function trade(symbol: string, id: number, tsUs: number, extra: Partial<TradeEvent> = {}): TradeEvent {
  return {
    type: 'trade',
    symbol,
    event_ts: tsUs,
    transact_ts: tsUs - 100,
    source: 'sbe',
    trade_id: id,
    sequence_id: id,
    price: '100.5',
    quantity: '0.25',
    is_buyer_maker: false,
    ...extra,
  };
}

let seq = 1000;
function rec(ev: MarketEvent | Record<string, unknown>, stream = 'trades'): PipelineRecord {
  seq++;
  return { data: Buffer.from(JSON.stringify(ev)), stream, shardId: 'shardId-000000000001', sequenceNumber: String(seq) };
}

function newPipeline(): AggregatorPipeline {
  return new AggregatorPipeline({ redis, writer: new ProjectionWriter(redis) });
}

/** The dead-letter entries written for one symbol (the stream is shared by every test of the run). */
async function deadLettersOf(symbol: string): Promise<Awaited<ReturnType<typeof readDeadLetters>>> {
  const all = await readDeadLetters(redis, 10_000);
  return all.filter((e) => Buffer.from(e.data, 'base64').toString('utf8').includes(symbol));
}

describe('poison records never stall the aggregator (real redis-server)', () => {
  it('a trade with transact_ts -1 is dead-lettered and every other write goes through', async () => {
    const bad = uniqueSymbol('BAD');
    const good = uniqueSymbol('GOOD');
    const p = newPipeline();
    const t = nowUs();
    const records = [rec(trade(bad, 1, t, { transact_ts: -1 })), rec(trade(good, 1, t)), rec(trade(good, 2, t + 1000))];
    const out = await p.ingestRecords(records);
    await p.flush();
    // A second batch of the good symbol still gets written (nothing is left retrying).
    await p.ingestRecords([rec(trade(good, 3, t + 2000))]);
    await p.flush();
    expect(await redis.hget(symbolKeys(good).tr1s, 'count')).toBe('3');
    expect(out.invalid).toBe(1);
    expect(await redis.exists(symbolKeys(bad).minutes)).toBe(0);
    const dl = await deadLettersOf(bad);
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ stream: 'trades', shard: 'shardId-000000000001', sequence: records[0].sequenceNumber });
    expect(dl[0].reason).toContain('transact_ts');
    expect(JSON.parse(Buffer.from(dl[0].data, 'base64').toString('utf8'))).toMatchObject({ symbol: bad, transact_ts: -1 });
    expect(p.counters().dead_letters).toBe(1);
  });

  it('a lowercase symbol is dead-lettered, the rest of its batch applied', async () => {
    const good = uniqueSymbol('GOOD');
    const lower = uniqueSymbol('low').toLowerCase();
    const p = newPipeline();
    const t = nowUs();
    const out = await p.ingestRecords([rec(trade(good, 1, t)), rec(trade(lower, 1, t)), rec(trade(good, 2, t + 1000))]);
    expect(out).toEqual({ applied: 2, invalid: 1 });
    await p.flush();
    expect(await redis.hget(symbolKeys(good).tr1s, 'count')).toBe('2');
    const dl = await deadLettersOf(lower);
    expect(dl).toHaveLength(1);
    expect(dl[0].reason).toContain('symbol');
  });

  it('a bestBidAsk dated 2100 is dead-lettered and the windows keep counting later trades', async () => {
    const sym = uniqueSymbol('FUT');
    const p = newPipeline();
    const t = nowUs();
    const future: BestBidAskEvent = {
      type: 'bestBidAsk', symbol: sym, event_ts: Date.UTC(2100, 0, 1) * 1000, source: 'sbe',
      bid_price: '100', bid_quantity: '1', ask_price: '101', ask_quantity: '1', sequence_id: 5,
    };
    await p.ingestRecords([rec(future, 'bestbidask')]);
    await p.ingestRecords([1, 2, 3, 4].map((i) => rec(trade(sym, i, t + i * 1000))));
    await p.flush();
    expect(await redis.hget(symbolKeys(sym).tr1s, 'count')).toBe('4');
    expect(Number(p.market.get(sym)?.now)).toBeLessThan(t + 10_000_000);
    expect((await deadLettersOf(sym)).map((e) => e.reason).join()).toContain('future');
  });

  it('a write Redis refuses for one symbol (a foreign key of the wrong type) is dropped and counted; others are written', async () => {
    const blocked = uniqueSymbol('WRONG');
    const good = uniqueSymbol('GOOD');
    await redis.set(symbolKeys(blocked).ob, 'not a hash');
    const p = newPipeline();
    const t = nowUs();
    await p.ingestRecords([rec(trade(blocked, 1, t)), rec(trade(good, 1, t))]);
    await p.flush();
    await p.ingestRecords([rec(trade(good, 2, t + 1000))]);
    await p.flush();
    expect(await redis.hget(symbolKeys(good).tr1s, 'count')).toBe('2');
    // What Redis accepted for the blocked symbol is still written (its trade window).
    expect(await redis.hget(symbolKeys(blocked).tr1s, 'count')).toBe('1');
    expect(p.counters().write_quarantined).toBeGreaterThan(0);
    expect(p.hasDirty).toBe(false);
  });

  it('a per-minute stats key Redis cannot read (wrong type) does not block the symbol or the batch', async () => {
    const blocked = uniqueSymbol('WRONGMIN');
    const good = uniqueSymbol('GOOD');
    await redis.set(symbolKeys(blocked).minutes, 'not a hash');
    const p = newPipeline();
    const t = nowUs();
    await p.ingestRecords([rec(trade(blocked, 1, t)), rec(trade(good, 1, t))]);
    await p.flush();
    expect(await redis.hget(symbolKeys(good).tr1s, 'count')).toBe('1');
    expect(await redis.hget(symbolKeys(blocked).tr1s, 'count')).toBe('1');
    expect(p.counters().write_quarantined).toBeGreaterThan(0);
  });

  it('feat.mid_price is the exact decimal mid, equal to ob.mid_price', async () => {
    const sym = uniqueSymbol('MID');
    const p = newPipeline();
    const snap: DepthSnapshotEvent = {
      type: 'depthSnapshot', symbol: sym, event_ts: nowUs(), source: 'rest', last_update_id: 10,
      bids: [['0.1', '5']], asks: [['0.2', '5']],
    };
    await p.ingestRecords([rec(snap, 'depth')]);
    p.markFeaturesDue();
    await p.flush();
    const ob = await redis.hget(symbolKeys(sym).ob, 'mid_price');
    expect(ob).toBe('0.15');
    expect(await redis.hget(symbolKeys(sym).feat, 'mid_price')).toBe(ob);
  });

  it('the dead-letter stream is capped', async () => {
    const info = (await redis.call('XINFO', 'STREAM', DEAD_LETTER_STREAM)) as unknown[];
    const len = Number(info[info.indexOf('length') + 1]);
    expect(len).toBeGreaterThan(0);
    expect(len).toBeLessThanOrEqual(10_100);
  });
});
