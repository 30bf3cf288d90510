/**
 * simulator → SBE ingestor → kinesis-local → a plain SDK reader: every event back, in order, nothing lost
 * outside a reported gap and nothing duplicated — in steady state, across simulator disconnects, across a
 * venue-side lifetime cut (serverShutdown), across the ingestor's own overlapping rotation, and across
 * rotations forced by serverShutdown (both forms) while the old connection lags behind the new one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import type { SequenceGap } from '../../../src/services/ingest-sbe-pipeline.js';
import { runService, type RunningService } from '../../../src/services/service.js';
import type { BtcpipeConfig } from '../../../src/ops/config.js';
import { sharedKinesisEndpoint } from '../../support/servers.js';
import { API_KEY, captureLogger, getJson, ingestConfig, PlainKinesisReader, sleep, waitFor, type CapturedLogger } from './harness.js';
import { verifyAgainstTruth } from './verify.js';

interface Stats {
  sbe_stats: { rotations: number; reconnect_count: number; messages_decoded: number; decode_errors: number; held_events: number };
  sequence: { gaps_total: number; duplicates_dropped: number; recent_gaps: SequenceGap[]; positions: unknown[] };
  kinesis: { events_sent: number; buffer_size: number; dropped: number };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

async function startStack(opts: {
  sim?: Parameters<typeof startSimulator>[0];
  binance?: Record<string, unknown>;
  rotationOverlapMs?: number;
}): Promise<{ sim: Simulator; config: BtcpipeConfig; running: RunningService; reader: PlainKinesisReader; log: CapturedLogger; base: string }> {
  const sim = await startSimulator({ seed: 7, rate: 300, ...opts.sim });
  cleanups.push(() => sim.stop());
  const endpoint = sharedKinesisEndpoint();
  const config = ingestConfig({ wsUrl: sim.wsUrl, kinesisEndpoint: endpoint, binance: opts.binance });
  const log = captureLogger();
  const service = createSbeIngestService(config, log.logger, { rotationOverlapMs: opts.rotationOverlapMs });
  const running = await runService(service, config, log.logger);
  cleanups.push(() => running.stop());
  const s = config.aws.kinesis.streams;
  const reader = new PlainKinesisReader(endpoint, [s.trade, s.bestbidask, s.depth]);
  reader.start();
  cleanups.push(() => reader.stop());
  return { sim, config, running, reader, log, base: `http://127.0.0.1:${running.health.port}` };
}

/** Stop the ingestor (it flushes), wait until the reader has every acknowledged event, then verify. */
async function drainAndVerify(stack: Awaited<ReturnType<typeof startStack>>): Promise<{ stats: Stats; result: Awaited<ReturnType<typeof verifyAgainstTruth>> }> {
  const stats0 = await getJson<Stats>(`${stack.base}/stats`);
  await stack.running.stop();
  const stats = (await stack.running.service.stats()) as unknown as Stats;
  expect(stats.kinesis.dropped).toBe(0);
  expect(stats.kinesis.events_sent).toBeGreaterThanOrEqual(stats0.kinesis.events_sent);
  await waitFor(() => stack.reader.userRecords >= stats.kinesis.events_sent, 30_000, 'the reader to get every acknowledged record');
  // Nothing more than acknowledged arrives (a duplicate put would show up here).
  await sleep(300);
  expect(stack.reader.userRecords).toBe(stats.kinesis.events_sent);
  const s = stack.config.aws.kinesis.streams;
  for (const e of stack.reader.events) expect(e.partitionKey).toBe('BTCUSDT');
  const result = await verifyAgainstTruth({
    restUrl: stack.sim.restUrl,
    symbol: 'BTCUSDT',
    trades: stack.reader.of(s.trade),
    depth: stack.reader.of(s.depth),
    bestBidAsk: stack.reader.of(s.bestbidask),
    gaps: stats.sequence.recent_gaps,
  });
  // Every depth gap the ingestor reported is a break in what Kinesis carries, and vice versa.
  expect(result.depthGaps).toBe(stats.sequence.recent_gaps.filter((g) => g.stream === 'depth').length);
  return { stats, result };
}

describe('SBE ingestor end to end', () => {
  it('delivers every event in order with real health, stats and metrics; the API key never leaks', async () => {
    const stack = await startStack({});
    await waitFor(() => stack.reader.events.length > 500, 30_000, '500 events through Kinesis');

    const healthRes = await fetch(`${stack.base}/health`);
    expect(healthRes.status).toBe(200);
    const healthText = await healthRes.text();
    const health = JSON.parse(healthText) as {
      status: string;
      service: string;
      components: {
        sbe_websocket: { status: string; last_message_age_ms: number; messages_per_second: number; reconnect_count: number };
        kinesis_producer: { status: string; success_rate: number; avg_latency_ms: number; buffer_size: number };
        sbe_decoder: { status: string; decode_errors: number; messages_decoded: number; avg_decode_time_us: number };
      };
    };
    expect(health.status).toBe('healthy');
    expect(health.service).toBe('bitcoin-ingestor-sbe');
    const c = health.components;
    expect(c.sbe_websocket.status).toBe('connected');
    expect(c.sbe_websocket.last_message_age_ms).toBeGreaterThanOrEqual(0);
    expect(c.sbe_websocket.last_message_age_ms).toBeLessThan(5_000);
    expect(c.sbe_websocket.reconnect_count).toBe(0);
    expect(c.kinesis_producer.status).toBe('healthy');
    expect(c.kinesis_producer.success_rate).toBe(1);
    expect(c.kinesis_producer.avg_latency_ms).toBeGreaterThan(0);
    expect(c.sbe_decoder).toMatchObject({ status: 'loaded', decode_errors: 0 });
    expect(c.sbe_decoder.messages_decoded).toBeGreaterThan(100);
    expect(c.sbe_decoder.avg_decode_time_us).toBeGreaterThan(0);
    // messages_per_second is measured over ≥ 1 s windows: wait for a second reading.
    await waitFor(
      async () => (await getJson<typeof health>(`${stack.base}/health`)).components.sbe_websocket.messages_per_second > 0,
      10_000,
      'a messages_per_second reading',
    );

    const metrics = await (await fetch(`http://127.0.0.1:${stack.running.metrics?.port}/metrics`)).text();
    for (const name of [
      'ingestor_sbe_messages_total{',
      'ingestor_sbe_decode_duration_seconds_bucket',
      'ingestor_kinesis_records_sent_total{',
      'ingestor_sbe_connection_status',
      'ingestor_sbe_reconnects_total',
      'ingestor_sbe_held_events{',
      'process_resident_memory_bytes',
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/ingestor_sbe_connection_status\{[^}]*\} 1\n/);
    expect(metrics).toMatch(/ingestor_sbe_messages_total\{stream="trade"[^}]*\} [1-9]/);

    const statsText = await (await fetch(`${stack.base}/stats`)).text();
    const stats = JSON.parse(statsText) as Stats;
    expect(stats.sequence.positions.length).toBe(3);

    const { result } = await drainAndVerify(stack);
    expect(result.tradesInGaps).toBe(0);
    expect(result.depthGaps).toBe(0);
    expect(result.trades).toBeGreaterThan(50);
    expect(result.depth).toBeGreaterThan(10);

    // Some batch log lines carry a correlation id.
    expect(stack.log.lines().some((l) => l.msg === 'batch acknowledged' && typeof l.cid === 'string')).toBe(true);
    for (const text of [stack.log.text(), healthText, statsText, metrics]) expect(text).not.toContain(API_KEY);
  });

  it('survives simulator disconnects: reconnects, and loses nothing outside the gaps it reports', async () => {
    const stack = await startStack({});
    await waitFor(() => stack.reader.events.length > 200, 30_000, 'first events');
    await getJson(`${stack.sim.restUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ disconnect: { everySeconds: 1 } }) });
    await waitFor(() => (stack.sim.stats().connections.closed.fault_disconnect ?? 0) >= 2, 20_000, 'two injected disconnects');
    await fetch(`${stack.sim.restUrl}/sim/faults`, { method: 'DELETE' });
    const before = stack.reader.events.length;
    await waitFor(() => stack.reader.events.length > before + 200, 30_000, 'events after the disconnects');
    const health = await getJson<{ components: { sbe_websocket: { reconnect_count: number; status: string } } }>(`${stack.base}/health`);
    expect(health.components.sbe_websocket.reconnect_count).toBeGreaterThanOrEqual(2);
    expect(health.components.sbe_websocket.status).toBe('connected');
    const { stats } = await drainAndVerify(stack);
    expect(stats.sbe_stats.reconnect_count).toBeGreaterThanOrEqual(2);
  });

  it('follows the venue cutting connections at their lifetime (serverShutdown) without duplicates', async () => {
    const stack = await startStack({ sim: { maxConnectionSeconds: 1.5 } });
    await waitFor(() => (stack.sim.stats().connections.closed.lifetime ?? 0) >= 2, 30_000, 'two lifetime cuts');
    const before = stack.reader.events.length;
    await waitFor(() => stack.reader.events.length > before + 100, 30_000, 'events after the cuts');
    const { stats } = await drainAndVerify(stack);
    // Each cut was announced by serverShutdown and handled as a rotation, not as a failure.
    expect(stats.sbe_stats.rotations).toBeGreaterThanOrEqual(2);
    expect(stats.sbe_stats.reconnect_count).toBe(0);
  });

  it('rotates its own connection before max_connection_age_seconds with an overlap: no gap, no duplicate', async () => {
    const stack = await startStack({ binance: { max_connection_age_seconds: 1.2 }, rotationOverlapMs: 300 });
    await waitFor(async () => (await getJson<Stats>(`${stack.base}/stats`)).sbe_stats.rotations >= 3, 30_000, 'three rotations');
    const { stats, result } = await drainAndVerify(stack);
    expect(stats.sequence.gaps_total).toBe(0);
    expect(result.tradesInGaps).toBe(0);
    expect(result.depthGaps).toBe(0);
    // The overlap delivered the same events twice on the wire; the monitor removed the copies.
    expect(stats.sequence.duplicates_dropped).toBeGreaterThan(0);
  });

  it('rotates on serverShutdown (plain and combined) while the old connection lags: every trade exactly once, no gap', async () => {
    // The client keeps the old connection 2 s after the new one delivers; the venue closes it 2 s after
    // its serverShutdown. The old connection lags 150 ms, so the new one is ahead from its first frame.
    const stack = await startStack({ rotationOverlapMs: 2000 });
    await waitFor(() => stack.reader.events.length > 200, 30_000, 'first events');
    const faults = (spec: unknown): Promise<unknown> => getJson(`${stack.sim.restUrl}/sim/faults`, { method: 'POST', body: JSON.stringify(spec) });
    await faults({ delayMs: { ms: 150, connection: 'oldest' } });
    for (const [k, form] of (['combined', 'plain', 'combined'] as const).entries()) {
      await faults({ rotate: { connection: 'oldest', form, closeAfterMs: 2000 } });
      await waitFor(async () => (await getJson<Stats>(`${stack.base}/stats`)).sbe_stats.rotations >= k + 1, 30_000, `rotation ${k + 1} (${form})`);
      await waitFor(() => (stack.sim.stats().connections.closed.server_shutdown ?? 0) >= k + 1, 30_000, `the old connection of rotation ${k + 1} closed`);
    }
    const log = await getJson<Array<{ kind: string; form?: string }>>(`${stack.sim.restUrl}/sim/faults/log`);
    expect(log.filter((e) => e.kind === 'rotate').map((e) => e.form)).toEqual(['combined', 'plain', 'combined']);
    expect(log.some((e) => e.kind === 'delay')).toBe(true);
    const before = stack.reader.events.length;
    await waitFor(() => stack.reader.events.length > before + 100, 30_000, 'events after the rotations');
    const { stats, result } = await drainAndVerify(stack);
    // Exactly the venue's trades from the first one delivered to the last: none lost, none twice.
    expect(stats.sequence.recent_gaps).toEqual([]);
    expect(stats.sequence.gaps_total).toBe(0);
    expect(result.tradesInGaps).toBe(0);
    expect(result.depthGaps).toBe(0);
    expect(stats.sbe_stats.rotations).toBeGreaterThanOrEqual(3);
    expect(stats.sbe_stats.reconnect_count).toBe(0);
    expect(stats.sequence.duplicates_dropped).toBeGreaterThan(0);
    expect(stats.sbe_stats.held_events).toBe(0);
  });

  it('follows a rough venue\'s random serverShutdowns (both forms) with the old connection lagging: no gap, no duplicate', async () => {
    // Each connection gets a serverShutdown 1 s + ~1 s after it opens and closes a second later, so
    // rotations overlap often, sometimes three connections at once; bestBidAsk is culled, some diffs empty.
    const stack = await startStack({ sim: { rough: true, deepBook: false, randomShutdownMeanSeconds: 1 }, rotationOverlapMs: 2000 });
    await getJson(`${stack.sim.restUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ delayMs: { ms: 100, connection: 'oldest' } }) });
    await waitFor(() => (stack.sim.stats().connections.closed.server_shutdown ?? 0) >= 4, 60_000, 'four serverShutdown closes');
    const log = await getJson<Array<{ kind: string; form?: string }>>(`${stack.sim.restUrl}/sim/faults/log`);
    expect(log.filter((e) => e.kind === 'shutdown').length).toBeGreaterThanOrEqual(4);
    const { stats, result } = await drainAndVerify(stack);
    expect(stats.sequence.recent_gaps).toEqual([]);
    expect(result.tradesInGaps).toBe(0);
    expect(result.depthGaps).toBe(0);
    expect(stats.sbe_stats.rotations).toBeGreaterThanOrEqual(4);
    expect(stats.sbe_stats.reconnect_count).toBe(0);
    expect(stats.sbe_stats.held_events).toBe(0);
  });
});
