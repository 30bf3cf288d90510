import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { TradeEvent } from '../../../src/core/events.js';
import { addDecimals } from '../../../src/core/decimal.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { decodeMinuteValue } from '../../../src/redis/codec.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AggregatorPipeline } from '../../../src/services/aggregate-pipeline.js';
import { closeRedis, connectSharedRedis, uniqueSymbol } from '../../support/servers.js';
import { lambdaKinesisRecord } from '../../support/lambda-records.js';

/**
 * Crash after the projection write but before the Kinesis checkpoint (issue #5): the next process re-reads
 * records whose trades are already in `tr:{SYM}:minutes`. Against the real redis-server, a NEW pipeline
 * (and a cold-started Lambda) fed the same records again plus new ones must leave per-minute count and
 * exact volume equal to the truth: every trade counted once.
 */

let redis: RedisClient;

beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(() => closeRedis(redis));

// Minute-aligned start (µs), far enough back that every minute is closed.
const T0_US = (Math.floor(Date.now() / 60_000) - 30) * 60_000_000;
const FIRST_ID = 7_000_000;

/** n contiguous trades, ~0.6 s apart (so a few minutes), with varied exact quantities. */
function makeTrades(symbol: string, n: number): TradeEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const id = FIRST_ID + i;
    const transact = T0_US + 20_000_000 + i * 613_000;
    return {
      type: 'trade',
      symbol,
      event_ts: transact + 1000,
      transact_ts: transact,
      source: 'sbe',
      trade_id: id,
      sequence_id: id,
      price: `${60_000 + (i % 17)}.${String(i % 100).padStart(2, '0')}`,
      quantity: `0.${String((i * 7919) % 100_000).padStart(5, '0')}${i % 3}`,
      is_buyer_maker: i % 2 === 0,
    };
  });
}

const records = (evs: readonly TradeEvent[]): Uint8Array[] => evs.map((e) => Buffer.from(JSON.stringify(e)));

/** The truth: each trade once, bucketed by trade time like the venue's 1m klines. */
function truth(trades: readonly TradeEvent[]): [number, { count: number; volume: string }][] {
  const groups = new Map<number, string[]>();
  for (const t of trades) {
    const m = Math.floor((t.transact_ts ?? t.event_ts) / 60_000_000) * 60_000;
    const g = groups.get(m) ?? [];
    g.push(t.quantity);
    groups.set(m, g);
  }
  return [...groups].map(([m, qs]): [number, { count: number; volume: string }] => [m, { count: qs.length, volume: addDecimals(qs) }]).sort((a, b) => a[0] - b[0]);
}

async function stored(symbol: string): Promise<[number, { count: number; volume: string }][]> {
  const raw = await redis.hgetall(symbolKeys(symbol).minutes);
  return Object.entries(raw)
    .map(([f, v]): [number, { count: number; volume: string }] => {
      const m = decodeMinuteValue(Number(f), v);
      return [m.minuteStartMs, { count: m.count, volume: m.volume }];
    })
    .sort((a, b) => a[0] - b[0]);
}

/** A fresh process: its own pipeline and writer on the same Redis. */
function newProcess(): AggregatorPipeline {
  return new AggregatorPipeline({ redis, writer: new ProjectionWriter(redis) });
}

async function feed(p: AggregatorPipeline, evs: readonly TradeEvent[], batch = 50): Promise<void> {
  for (let i = 0; i < evs.length; i += batch) {
    await p.ingestRecords(records(evs.slice(i, i + batch)));
    await p.flush();
  }
}

describe('per-minute trade stats across a crash before the checkpoint', () => {
  it('a new pipeline re-reading already written records counts each trade once', async () => {
    const sym = uniqueSymbol('MINREPLAY');
    const trades = makeTrades(sym, 400);
    expect(truth(trades).length).toBeGreaterThanOrEqual(4);

    // Run 1 writes trades 0..249, but its checkpoint only covers 0..149, then it dies.
    const first = newProcess();
    await feed(first, trades.slice(0, 250));
    await first.idle();
    expect(await stored(sym)).toEqual(truth(trades.slice(0, 250)));

    // Run 2 resumes from the checkpoint: 150..249 again, then new trades up to 329.
    const second = newProcess();
    await feed(second, trades.slice(150, 330), 37);
    await second.idle();
    expect(await stored(sym)).toEqual(truth(trades.slice(0, 330)));

    // Run 3 lost its checkpoint entirely (TRIM_HORIZON): everything again, plus the rest.
    const third = newProcess();
    await feed(third, trades, 80);
    await third.idle();
    expect(await stored(sym)).toEqual(truth(trades));
    expect(third.counters().write_errors).toBe(0);
  });

  it('buckets a trade by its trade time, like the klines it is compared with', async () => {
    const sym = uniqueSymbol('MINBUCKET');
    const minuteEnd = T0_US + 60_000_000;
    const t: TradeEvent = {
      type: 'trade', symbol: sym, event_ts: minuteEnd + 2000, transact_ts: minuteEnd - 1000, source: 'sbe',
      trade_id: 1, sequence_id: 1, price: '100', quantity: '1.5', is_buyer_maker: false,
    };
    const p = newProcess();
    await p.ingestRecords(records([t]));
    await p.flush();
    expect(await stored(sym)).toEqual([[T0_US / 1000, { count: 1, volume: '1.5' }]]);
  });
});

describe('Lambda handler: a cold start replaying a retried batch', () => {
  let handler: typeof import('../../../src/lambda/kinesis-handler.js').handler;
  let dispose: typeof import('../../../src/lambda/kinesis-handler.js').disposeLambdaState;
  let seq = 1;

  beforeAll(async () => {
    const url = new URL(inject('redisUrl'));
    process.env.REDIS_HOST = url.hostname;
    process.env.REDIS_PORT = url.port;
    delete process.env.CONFIG_FILE;
    const mod = await import('../../../src/lambda/kinesis-handler.js');
    handler = mod.handler;
    dispose = mod.disposeLambdaState;
  });

  afterAll(async () => {
    await dispose();
  });

  const event = (evs: readonly TradeEvent[]): KinesisStreamEvent => ({
    Records: evs.map((e) =>
      lambdaKinesisRecord({ stream: 'market-sbe-events', partitionKey: e.symbol, data: Buffer.from(JSON.stringify(e)), sequenceNumber: String(seq++) }),
    ),
  });

  it('counts each trade once when a new instance gets records the old one already wrote', async () => {
    const sym = uniqueSymbol('MINLAMBDA');
    const trades = makeTrades(sym, 200);
    expect((await handler(event(trades.slice(0, 120)))).batchItemFailures).toEqual([]);
    expect(await stored(sym)).toEqual(truth(trades.slice(0, 120)));
    // The instance dies before Lambda records the batch as done: a new instance gets it again (+ more).
    await dispose();
    expect((await handler(event(trades.slice(60, 200)))).batchItemFailures).toEqual([]);
    expect(await stored(sym)).toEqual(truth(trades));
  });
});
