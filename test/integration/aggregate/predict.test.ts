import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { BestBidAskEvent } from '../../../src/core/events.js';
import { ensureStreams, localKinesisClient } from '../../../src/kinesis/embedded.js';
import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { createLogger } from '../../../src/ops/logger.js';
import { resolveConfig } from '../../../src/ops/config.js';
import type { Service } from '../../../src/services/service.js';
import { createAggregatorService } from '../../../src/services/aggregate.js';
import { predKey, type SymbolPredictionStats } from '../../../src/services/aggregate-predict.js';
import { parseDataset } from '../../../src/model/dataset.js';
import { trainOnData } from '../../../src/model/train.js';
import { sharedKinesisEndpoint, sharedRedisUrl, uniqueSuffix, uniqueSymbol } from '../../support/servers.js';
import { fixtureParquet } from '../../unit/model/fixture.js';
import { aggregatorConfig, waitFor } from './support/stack.js';

/**
 * The aggregator with processing.model_file: pred:{SYM} follows every feature tick, and a prediction is
 * scored once the symbol's event time has moved 10 s past it. Event times are set in the past so the test
 * does not wait for the horizon in wall time.
 */

const SYM = uniqueSymbol('PREDUSDT');
const stream = `pred-${uniqueSuffix()}`;
let dir = '';
let modelId = '';
let kinesis: KinesisClient;
let redis: RedisClient;
let service: Service | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'btcpipe-pred-'));
  const data = await parseDataset(fixtureParquet({ rows: 120, seed: 9 }));
  const { model } = trainOnData(data, { folds: 2, datasetName: 'fixture.parquet' });
  modelId = model.model_id;
  await writeFile(join(dir, 'model.json'), JSON.stringify(model));
  kinesis = localKinesisClient(sharedKinesisEndpoint());
  await ensureStreams(kinesis, [stream]);
  redis = createRedis({ url: sharedRedisUrl(), socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
  const config = aggregatorConfig({
    redisPort: Number(new URL(sharedRedisUrl()).port),
    kinesisEndpoint: sharedKinesisEndpoint(),
    streams: { trade: stream, depth: stream, bestbidask: stream },
    symbols: [SYM],
    initialPosition: 'TRIM_HORIZON',
    processing: { feature_update_interval_seconds: 0.2, reanchor_request_interval_seconds: 60, model_file: join(dir, 'model.json') },
  });
  service = createAggregatorService(config, createLogger({ service: 'pred-test', level: 'warn' }));
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  redis?.disconnect();
  kinesis?.destroy();
  await rm(dir, { recursive: true, force: true });
});

let seq = 1;
function bba(tsUs: number, bid: string, ask: string): BestBidAskEvent {
  return { type: 'bestBidAsk', symbol: SYM, event_ts: tsUs, source: 'sbe', sequence_id: seq++, bid_price: bid, bid_quantity: '1', ask_price: ask, ask_quantity: '1' };
}

async function put(events: readonly BestBidAskEvent[]): Promise<void> {
  const res = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: events.map((e) => ({ PartitionKey: SYM, Data: Buffer.from(JSON.stringify(e)) })) }));
  expect(res.FailedRecordCount ?? 0).toBe(0);
}

const symbolStats = (): SymbolPredictionStats | undefined =>
  (service?.stats() as { predictions: { symbols: Record<string, SymbolPredictionStats> } | null }).predictions?.symbols[SYM];

describe('aggregator serving a model (processing.model_file)', () => {
  it('writes pred:SYM after feat:SYM and scores each prediction once its 10 s have passed', async () => {
    const t0 = (Date.now() - 60_000) * 1000;
    await put([bba(t0, '100.00', '100.10'), bba(t0 + 1_000_000, '100.00', '100.10'), bba(t0 + 2_000_000, '100.00', '100.10')]);
    const pred = await waitFor(
      'pred at the first batch',
      async () => {
        const h = await redis.hgetall(predKey(SYM, false));
        return h.event_ts_us === String(t0 + 2_000_000) ? h : undefined;
      },
      30_000,
    );
    expect(pred.model_id).toBe(modelId);
    const probs = [pred.p_down, pred.p_flat, pred.p_up].map(Number);
    expect(probs.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(Number.isFinite(Number(pred.expected_ret_10s))).toBe(true);
    expect(['down', 'flat', 'up']).toContain(pred.direction);
    const feat = await redis.hgetall(symbolKeys(SYM).feat);
    expect(Number(pred.feature_ts)).toBeGreaterThan(0);
    expect(Number(feat.event_ts_us)).toBeGreaterThanOrEqual(t0 + 2_000_000);
    const ttl = await redis.ttl(predKey(SYM, false));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
    // Nothing can be scored yet: event time has not moved 10 s past any prediction.
    expect(symbolStats()?.scored).toBe(0);

    // The mid moves up 0.5 at t0 + 11 s: as of t0 + 12 s (the first batch's prediction + 10 s) it is 100.55.
    await put([bba(t0 + 11_000_000, '100.50', '100.60'), bba(t0 + 13_000_000, '99.00', '99.10')]);
    const st = await waitFor('the first prediction scored', () => {
      const s = symbolStats();
      return s && s.scored >= 1 ? s : undefined;
    }, 30_000);
    expect(st.scored).toBe(1);
    expect(st.expired).toBe(0);
    expect([0, 1]).toContain(st.accuracy);
    // Realized: ln(100.55 / 100.05), an up move — persistence (flat) is wrong on it.
    expect(st.baseline_macro_f1).toBe(0);
    expect(st.baseline_mse).toBeCloseTo(Math.log(100.55 / 100.05) ** 2, 12);
    const metrics = await service!.registry.metrics();
    expect(metrics).toMatch(new RegExp(`aggregator_predictions_scored_total\\{symbol="${SYM}",result="(hit|miss)"[^}]*\\} 1`));
    expect(metrics).toMatch(new RegExp(`aggregator_model_info\\{model_id="${modelId}",horizon_seconds="10"[^}]*\\} 1`));
    const health = (await service!.health()).components as { predictor: { status: string; model_id: string } };
    expect(health.predictor).toMatchObject({ status: 'serving', model_id: modelId });
  }, 90_000);
});

describe('a model file that does not load', () => {
  it('stops the aggregator from starting, saying why', async () => {
    const config = resolveConfig(
      { binance: { symbols: [SYM] }, processing: { model_file: join(dir, 'missing.json') }, logging: { level: 'silent' } },
      'test',
      { mode: 'aggregator', env: {} },
    );
    const svc = createAggregatorService(config, createLogger({ service: 'pred-test', level: 'silent' }));
    await expect(svc.start()).rejects.toThrow(/aggregator: processing\.model_file: cannot read model file .*missing\.json/);
  });
});
