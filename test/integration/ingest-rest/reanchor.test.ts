import { afterEach, describe, expect, it } from 'vitest';
import { runService, type RunningService } from '../../../src/services/service.js';
import { createRestIngestService } from '../../../src/services/ingest-rest.js';
import { REANCHOR_DONE_STREAM, symbolKeys } from '../../../src/redis/keys.js';
import { requestReanchor } from '../../../src/redis/streams.js';
import { captureLogger, metricValue, obMismatches, restConfig, sleep, startStack, truthBook, waitFor, type Stack } from './support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.().catch(() => undefined);
});

async function lastDoneId(stack: Stack): Promise<string> {
  return (await stack.redis.xrevrange(REANCHOR_DONE_STREAM, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
}

async function doneAfter(stack: Stack, id: string): Promise<{ id: string; lastUpdateId: number } | undefined> {
  const entries = await stack.redis.xrange(REANCHOR_DONE_STREAM, `(${id}`, '+');
  const e = entries[entries.length - 1];
  if (!e) return undefined;
  const f = e[1];
  return { id: e[0], lastUpdateId: Number(f[f.indexOf('last_update_id') + 1]) };
}

describe('REST ingest service: re-anchor on aggregator requests', () => {
  it('acts on each sequence request within a second and leaves ob:{SYM} equal to the venue book', async () => {
    const stack = await startStack();
    cleanups.push(() => stack.stop());
    const cap = captureLogger();
    const apiKey = 'test-secret-key-0123456789';
    // limit 1000 (weight 50): five snapshots of limit 5000 (weight 250 each) would not fit one minute's 1200.
    const config = restConfig(stack, { binance: { api_key: apiKey }, scheduler: { poll_interval_seconds: 5, depth_snapshot_limit: 1000 } });
    const service = createRestIngestService(config, cap.logger);
    const running: RunningService = await runService(service, config, cap.logger);
    cleanups.push(() => running.stop());
    const k = symbolKeys('BTCUSDT');
    const latencies: number[] = [];

    for (let i = 0; i < 3; i++) {
      const before = await lastDoneId(stack);
      const t0 = performance.now();
      await requestReanchor(stack.redis, 'BTCUSDT', i === 1 ? 'trade_gap' : 'gap');
      const done = await waitFor('reanchor:done', () => doneAfter(stack, before), 10_000, 5);
      latencies.push(performance.now() - t0);
      // The live key is swapped in whole: compare it with the venue's book at its last_update_id.
      const ob = await stack.redis.hgetall(k.ob);
      expect(Number(ob.last_update_id)).toBe(done.lastUpdateId);
      const truth = await truthBook(stack.sim.restUrl, 'BTCUSDT', done.lastUpdateId);
      expect(obMismatches(ob, truth)).toEqual([]);
      expect(await stack.redis.exists(k.flag, k.obNew, k.tr1sNew, k.tr5sNew, k.featNew)).toBe(0);
      await sleep(1100); // past reanchor_min_interval_seconds
    }
    console.log(`request → swap done latencies (ms): ${latencies.map((l) => l.toFixed(1)).join(', ')}`);

    const metrics = await service.registry.metrics();
    expect(await metricValue(metrics, 'ingestor_rest_gaps_detected_total', { symbol: 'BTCUSDT', criterion: 'sequence' })).toBe(3);
    expect(await metricValue(metrics, 'ingestor_rest_reanchors_total', { result: 'ok' })).toBe(3);
    expect(await metricValue(metrics, 'ingestor_rest_reanchor_duration_seconds_count')).toBe(3);

    // A cold start request is acted on but is not a gap.
    const before = await lastDoneId(stack);
    await requestReanchor(stack.redis, 'BTCUSDT', 'no-book');
    await waitFor('cold start re-anchor', () => doneAfter(stack, before), 10_000, 10);

    // The lake holds the re-anchor snapshots.
    await waitFor('depth snapshots archived', async () => {
      const m = await service.registry.metrics();
      return (await metricValue(m, 'ingestor_rest_s3_files_written_total', { dataset: 'depth_snapshots' })) >= 4;
    }, 10_000);

    const health = (await (await fetch(`http://127.0.0.1:${running.health.port}/health`)).json()) as {
      status: string;
      service: string;
      components: Record<string, Record<string, unknown>>;
    };
    expect(health.service).toBe('bitcoin-ingestor-rest');
    expect(health.components.gap_detector).toMatchObject({ status: 'monitoring', gaps_detected_today: 3 });
    expect((health.components.gap_detector.gaps_by_criterion as Record<string, number>).sequence).toBe(3);
    expect(health.components.binance_rest.rate_limit_remaining).toEqual(expect.any(Number));
    expect(health.components.binance_rest.last_call_latency_ms).toEqual(expect.any(Number));
    expect(health.components.s3_writer.files_written_today).toEqual(expect.any(Number));
    expect((health.components.s3_writer.files_written_today as number) > 0).toBe(true);
    const metricsText = await (await fetch(`http://127.0.0.1:${running.metrics?.port}/metrics`)).text();
    expect(metricsText).toContain('ingestor_rest_api_calls_total{endpoint="/api/v3/depth",status="200"');
    expect(metricsText).toContain('ingestor_rest_api_latency_seconds_bucket');

    // Logs: each re-anchor has a correlation id; the API key never appears.
    const gapLogs = cap.lines.filter((l) => l.msg === 'gap detected');
    expect(gapLogs).toHaveLength(3);
    expect(gapLogs.every((l) => typeof l.cid === 'string')).toBe(true);
    expect(cap.raw.some((l) => l.includes(apiKey))).toBe(false);
    expect(JSON.stringify(health)).not.toContain(apiKey);
  });

  it('staged ob has order_book_levels levels', async () => {
    const stack = await startStack();
    cleanups.push(() => stack.stop());
    const cap = captureLogger();
    const config = restConfig(stack, { processing: { order_book_levels: 3 }, scheduler: { poll_interval_seconds: 30, depth_snapshot_limit: 1000 } });
    const service = createRestIngestService(config, cap.logger);
    await service.start();
    cleanups.push(() => service.stop());
    const k = symbolKeys('BTCUSDT');
    const before = await lastDoneId(stack);
    await requestReanchor(stack.redis, 'BTCUSDT', 'gap');
    const done = await waitFor('reanchor:done', () => doneAfter(stack, before), 20_000, 10);
    const ob = await stack.redis.hgetall(k.ob);
    expect(Number(ob.last_update_id)).toBe(done.lastUpdateId);
    const levelFields = Object.keys(ob).filter((f) => /^(bid|ask)\d+_[pq]$/.test(f)).sort();
    expect(levelFields).toEqual(['ask1_p', 'ask1_q', 'ask2_p', 'ask2_q', 'ask3_p', 'ask3_q', 'bid1_p', 'bid1_q', 'bid2_p', 'bid2_q', 'bid3_p', 'bid3_q']);
    expect(obMismatches(ob, await truthBook(stack.sim.restUrl, 'BTCUSDT', done.lastUpdateId, 3))).toEqual([]);
  });

  it('a Redis stall in the middle of a re-anchor: staging keys gone, flag released, the next re-anchor succeeds', async () => {
    const stack = await startStack();
    cleanups.push(() => stack.stop());
    const cap = captureLogger();
    const config = restConfig(stack, { scheduler: { poll_interval_seconds: 30 } });
    const service = createRestIngestService(config, cap.logger);
    await service.start();
    cleanups.push(() => service.stop());
    const k = symbolKeys('BTCUSDT');
    await service.nextCycle();

    // Hold the venue's answers for ~2 s (429 + Retry-After) so the re-anchor is caught holding its flag.
    stack.sim.setFaults({ rest: { status: 429, forSeconds: 2 } });
    await requestReanchor(stack.redis, 'BTCUSDT', 'gap');
    await waitFor('flag held', async () => (await stack.redis.exists(k.flag)) === 1, 5000, 2);
    process.kill(stack.redisServer.pid, 'SIGSTOP');
    let resumed = false;
    cleanups.push(async () => {
      if (!resumed) process.kill(stack.redisServer.pid, 'SIGCONT');
    });
    await sleep(4000); // the fetch returns while Redis is frozen: staging write times out, cleanup retries
    process.kill(stack.redisServer.pid, 'SIGCONT');
    resumed = true;

    await waitFor('failed attempt alerted', () => cap.lines.some((l) => l.alert === 'REANCHOR_FAILED'), 20_000);
    // The service retries by itself; its next attempt swaps a consistent state in.
    const ok = await waitFor('a successful re-anchor after the stall', async () => {
      const m = await service.registry.metrics();
      return (await metricValue(m, 'ingestor_rest_reanchors_total', { result: 'ok' })) >= 1 ? m : undefined;
    }, 30_000, 100);
    expect(await metricValue(ok, 'ingestor_rest_reanchors_total', { result: 'failed' })).toBeGreaterThanOrEqual(1);
    await waitFor('no re-anchor running', async () => (await stack.redis.exists(k.flag)) === 0, 10_000);
    expect(await stack.redis.exists(k.obNew, k.tr1sNew, k.tr5sNew, k.featNew)).toBe(0);
    const ob = await stack.redis.hgetall(k.ob);
    const truth = await truthBook(stack.sim.restUrl, 'BTCUSDT', Number(ob.last_update_id));
    expect(obMismatches(ob, truth)).toEqual([]);
    // Only the latest successful snapshot remains referenced; failed attempts left no snapshot keys behind.
    const snaps = await stack.redis.keys(`${k.snapshotPrefix}:*`);
    expect(snaps.length).toBe(1);
    const failedLog = cap.lines.find((l) => l.alert === 'REANCHOR_FAILED');
    expect(failedLog?.level).toBe(50); // pino error
    expect(typeof failedLog?.cid).toBe('string');
  });
});
