import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import type { TradeEvent } from '../../../src/core/events.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { KinesisProducer } from '../../../src/kinesis/producer.js';
import { encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';
import { createLogger } from '../../../src/ops/logger.js';
import type { RedisClient } from '../../../src/redis/connect.js';
import { readDeadLetters } from '../../../src/redis/dead-letter.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { runService, type RunningService } from '../../../src/services/service.js';
import { closeRedis, connectSharedRedis, sharedKinesisEndpoint, sharedRedisUrl, uniqueSuffix, uniqueSymbol } from '../../support/servers.js';
import { aggregatorConfig, waitFor } from './support/stack.js';

/**
 * Both record formats on one stream of the real kinesis-local, in one KPL-aggregated lane (gzipped): the
 * aggregator detects each record's format, applies SBE and JSON trades alike, and dead-letters a bad SBE
 * message like a bad JSON record.
 */

let redis: RedisClient;
let running: RunningService | undefined;
let producer: KinesisProducer | undefined;

beforeAll(async () => {
  redis = await connectSharedRedis();
});
afterAll(async () => {
  await producer?.close(2000);
  await running?.stop();
  await closeRedis(redis);
});

describe('aggregator reads both record formats from one stream (real kinesis-local)', () => {
  it('applies SBE and JSON trades alike and dead-letters a bad SBE message', async () => {
    const sym = uniqueSymbol('FMT');
    const stream = `fmt-${uniqueSuffix()}`;
    const endpoint = sharedKinesisEndpoint();
    const client = localKinesisClient(endpoint);
    await ensureStreams(client, [stream]);
    const config = aggregatorConfig({
      redisPort: Number(new URL(sharedRedisUrl()).port),
      kinesisEndpoint: endpoint,
      streams: { trade: stream, bestbidask: stream, depth: stream },
      symbols: [sym],
      initialPosition: 'TRIM_HORIZON',
    });
    running = await runService(createAggregatorService(config, createLogger({ service: 'fmt-test', level: 'error' })), config, createLogger({ service: 'fmt-test', level: 'error' }));

    producer = new KinesisProducer({ client, streams: [stream], compression: 'gzip', lingerMs: 20 });
    const t = Date.now() * 1000;
    const trade = (id: number): TradeEvent => ({
      type: 'trade', symbol: sym, event_ts: t + id, transact_ts: t + id, source: 'sbe', trade_id: id, sequence_id: id,
      price: `100.${id}`, quantity: '0.5', is_buyer_maker: id % 2 === 0,
    });
    const frame = (ids: number[]): Uint8Array =>
      encodeTradesFrame({
        symbol: sym, eventTimeUs: t + ids[0], transactTimeUs: t + ids[0], priceExponent: -2, qtyExponent: -8,
        trades: ids.map((id) => ({ id, price: `100.${id}`, qty: '0.5', isBuyerMaker: id % 2 === 0 })),
      });
    // ids 1-2 SBE (one message), 3 JSON, 4 SBE, a broken SBE message, 5 JSON, 6-8 SBE.
    producer.putData(stream, sym, encodeSbeRecord(frame([1, 2]), t, 1));
    producer.putEvent(stream, trade(3));
    producer.putData(stream, sym, encodeSbeRecord(frame([4]), t, 1));
    const broken = Uint8Array.from(frame([99]));
    broken[2] = 0x42; // templateId 0x2742: not a stream_1_0 message
    producer.putData(stream, sym, encodeSbeRecord(broken, t, 1));
    producer.putEvent(stream, trade(5));
    producer.putData(stream, sym, encodeSbeRecord(frame([6, 7, 8]), t, 2));
    expect(await producer.flush(20_000)).toBe(true);

    const k = symbolKeys(sym);
    await waitFor('8 trades in tr:5s', async () => (await redis.hget(k.tr5s, 'count')) === '8', 30_000);
    expect(await redis.hget(k.tr5s, 'volume')).toBe('4');
    const dl = await waitFor(
      'the broken message dead-lettered',
      async () => (await readDeadLetters(redis, 10_000)).find((e) => Buffer.from(e.data, 'base64').includes(Buffer.from(sym))),
      30_000,
    );
    expect(dl.stream).toBe(stream);
    expect(dl.reason).toMatch(/UNKNOWN_TEMPLATE/);
    const metrics = await (await fetch(`http://127.0.0.1:${running.metrics?.port}/metrics`)).text();
    expect(metrics).toMatch(/aggregator_dead_letter_records_total\{reason="malformed"[^}]*\} 1\n/);
    client.destroy();
  });
});
