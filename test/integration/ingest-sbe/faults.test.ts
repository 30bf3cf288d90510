/**
 * Injected venue faults against the real simulator: dropped frames show up as sequence gaps with the
 * exact count the simulator's fault log implies (one gap per run of consecutive dropped frames), and
 * malformed frames are counted as decode errors while the service keeps going.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultLogEntry } from '../../../src/sim/faults.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import type { SequenceGap } from '../../../src/services/ingest-sbe-pipeline.js';
import { runService, type RunningService } from '../../../src/services/service.js';
import { sharedKinesisEndpoint } from '../../support/servers.js';
import { API_KEY, captureLogger, getJson, ingestConfig, waitFor } from './harness.js';

interface Stats {
  sbe_stats: { messages_decoded: number; decode_errors: number; decode_errors_by_code: Record<string, number> };
  sequence: { gaps_total: number; missing_ids_total: number; recent_gaps: SequenceGap[]; positions: Array<{ stream: string; last_id: number }> };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

async function stack(): Promise<{ sim: Simulator; running: RunningService; base: string; metricsUrl: string; logText: () => string }> {
  const sim = await startSimulator({ seed: 11, rate: 400 });
  cleanups.push(() => sim.stop());
  const config = ingestConfig({ wsUrl: sim.wsUrl, kinesisEndpoint: sharedKinesisEndpoint() });
  const log = captureLogger('info');
  const running = await runService(createSbeIngestService(config, log.logger), config, log.logger);
  cleanups.push(() => running.stop());
  return {
    sim,
    running,
    base: `http://127.0.0.1:${running.health.port}`,
    metricsUrl: `http://127.0.0.1:${running.metrics?.port}/metrics`,
    logText: log.text,
  };
}

/** Runs of consecutive dropped frames of one stream in the fault log (each run is one detectable gap). */
function dropRuns(log: FaultLogEntry[], stream: 'trade' | 'depth'): { runs: number; frames: number; ids: number } {
  const first = (e: FaultLogEntry): number => (stream === 'trade' ? (e.firstTradeId as number) : (e.firstUpdateId as number));
  const last = (e: FaultLogEntry): number => (stream === 'trade' ? (e.lastTradeId as number) : (e.lastUpdateId as number));
  const drops = log.filter((e) => e.kind === 'drop' && e.stream === `btcusdt@${stream}`).sort((a, b) => first(a) - first(b));
  let runs = 0;
  let ids = 0;
  for (let i = 0; i < drops.length; i++) {
    if (i === 0 || first(drops[i]) !== last(drops[i - 1]) + 1) runs++;
    ids += last(drops[i]) - first(drops[i]) + 1;
  }
  return { runs, frames: drops.length, ids };
}

function metricSum(text: string, name: string, filter: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(filter)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('SBE ingestor under injected faults', () => {
  it('counts one sequence gap per run of dropped frames, exactly as the simulator injected them', async () => {
    const s = await stack();
    await waitFor(async () => (await getJson<Stats>(`${s.base}/stats`)).sbe_stats.messages_decoded > 100, 30_000, 'first frames');
    s.sim.setFaults({ drop: { streams: ['trade', 'depth'], probability: 0.06 } });
    await waitFor(() => {
      const st = s.sim.stats().streams;
      return (st['btcusdt@trade']?.dropped ?? 0) >= 5 && (st['btcusdt@depth']?.dropped ?? 0) >= 3;
    }, 40_000, 'drops on both streams');
    s.sim.clearFaults();
    // A gap is seen when the next frame after it arrives: wait until both streams moved past every drop.
    const log = await getJson<FaultLogEntry[]>(`${s.sim.restUrl}/sim/faults/log`);
    const lastTrade = Math.max(...log.filter((e) => e.stream === 'btcusdt@trade').map((e) => e.lastTradeId as number));
    const lastDepth = Math.max(...log.filter((e) => e.stream === 'btcusdt@depth').map((e) => e.lastUpdateId as number));
    await waitFor(
      async () => {
        const p = (await getJson<Stats>(`${s.base}/stats`)).sequence.positions;
        return (p.find((x) => x.stream === 'trade')?.last_id ?? 0) > lastTrade && (p.find((x) => x.stream === 'depth')?.last_id ?? 0) > lastDepth;
      },
      30_000,
      'both streams past the last dropped frame',
    );

    const simStats = s.sim.stats().streams;
    const trade = dropRuns(log, 'trade');
    const depth = dropRuns(log, 'depth');
    expect(trade.frames).toBe(simStats['btcusdt@trade'].dropped);
    expect(depth.frames).toBe(simStats['btcusdt@depth'].dropped);

    const stats = await getJson<Stats>(`${s.base}/stats`);
    const gaps = stats.sequence.recent_gaps;
    expect(gaps.filter((g) => g.stream === 'trade').length).toBe(trade.runs);
    expect(gaps.filter((g) => g.stream === 'depth').length).toBe(depth.runs);
    expect(gaps.filter((g) => g.stream === 'trade').reduce((a, g) => a + g.missing, 0)).toBe(trade.ids);
    expect(gaps.filter((g) => g.stream === 'depth').reduce((a, g) => a + g.missing, 0)).toBe(depth.ids);
    expect(stats.sequence.gaps_total).toBe(trade.runs + depth.runs);

    const metrics = await (await fetch(s.metricsUrl)).text();
    expect(metricSum(metrics, 'ingestor_sbe_sequence_gaps_total', 'stream="trade"')).toBe(trade.runs);
    expect(metricSum(metrics, 'ingestor_sbe_sequence_gaps_total', 'stream="depth"')).toBe(depth.runs);
    expect(s.logText()).toContain('"msg":"sequence gap"');
  });

  it('counts malformed frames as decode errors and keeps going', async () => {
    const s = await stack();
    await waitFor(async () => (await getJson<Stats>(`${s.base}/stats`)).sbe_stats.messages_decoded > 100, 30_000, 'first frames');
    s.sim.setFaults({ malformed: { probability: 0.05 } });
    await waitFor(() => Object.values(s.sim.stats().streams).reduce((a, c) => a + c.malformed, 0) >= 10, 40_000, '10 malformed frames');
    s.sim.clearFaults();
    const injected = Object.values(s.sim.stats().streams).reduce((a, c) => a + c.malformed, 0);
    await waitFor(async () => (await getJson<Stats>(`${s.base}/stats`)).sbe_stats.decode_errors >= injected, 20_000, 'every malformed frame counted');
    const before = (await getJson<Stats>(`${s.base}/stats`)).sbe_stats;
    expect(before.decode_errors).toBe(injected);
    expect(Object.keys(before.decode_errors_by_code).length).toBeGreaterThan(0);
    // Still decoding after the bad frames, and still healthy.
    await waitFor(async () => (await getJson<Stats>(`${s.base}/stats`)).sbe_stats.messages_decoded > before.messages_decoded + 50, 20_000, 'more frames');
    const health = await getJson<{ status: string; components: { sbe_decoder: { decode_errors: number } } }>(`${s.base}/health`);
    expect(health.status).toBe('healthy');
    expect(health.components.sbe_decoder.decode_errors).toBe(injected);
    const metrics = await (await fetch(s.metricsUrl)).text();
    expect(metricSum(metrics, 'ingestor_sbe_decode_errors_total', 'code=')).toBe(injected);
    expect(s.logText()).not.toContain(API_KEY);
  });
});
