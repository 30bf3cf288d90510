/**
 * kinesis-local stopped and restarted under a running ingestor (a PRIVATE emulator on fixed ports): the
 * events that arrive meanwhile are buffered, the streams are re-created, and everything reaches the new
 * emulator — compared with the simulator's truth, nothing lost and nothing duplicated.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedKinesis, type EmbeddedKinesis } from '../../../src/kinesis/embedded.js';
import { freePort } from '../../../src/ops/free-port.js';
import { startSimulator } from '../../../src/sim/index.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import type { SequenceGap } from '../../../src/services/ingest-sbe-pipeline.js';
import { captureLogger, ingestConfig, PlainKinesisReader, sleep, waitFor } from './harness.js';
import { verifyAgainstTruth } from './verify.js';

interface Stats {
  sequence: { gaps_total: number; recent_gaps: SequenceGap[] };
  kinesis: { events_sent: number; buffer_size: number; dropped: number; failed_records: number };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

describe('SBE ingestor across a Kinesis outage', () => {
  it('buffers while kinesis-local is down and delivers everything after it restarts', async () => {
    const [plainPort, tlsPort] = [await freePort(), await freePort()];
    let kinesis: EmbeddedKinesis = await startEmbeddedKinesis({ plainPort, tlsPort });
    cleanups.push(() => kinesis.stop());
    const sim = await startSimulator({ seed: 5, rate: 300 });
    cleanups.push(() => sim.stop());
    const config = ingestConfig({
      wsUrl: sim.wsUrl,
      kinesisEndpoint: kinesis.endpoint,
      binance: { watchdog_timeout_seconds: 120 },
    });
    const log = captureLogger('info');
    const service = createSbeIngestService(config, log.logger);
    await service.start();
    cleanups.push(() => service.stop());
    const s = config.aws.kinesis.streams;
    const names = [s.trade, s.bestbidask, s.depth];
    const stats = async (): Promise<Stats> => (await service.stats()) as unknown as Stats;

    const before = new PlainKinesisReader(kinesis.endpoint, names);
    before.start();
    cleanups.push(() => before.stop());
    await waitFor(() => before.events.length > 300, 30_000, 'events before the outage');

    // Hold the venue's frames so that everything acknowledged so far is read before the emulator (which
    // keeps streams in memory) goes away; the held frames are released during the outage.
    sim.setFaults({ stall: { ms: 120_000 } });
    // A frame already on its way when the stall began can still be put: the count is taken once nothing has
    // moved for a while, and checked again after the reader caught up (on a loaded machine a record acked
    // after a single early look was never read, and the final count came up short).
    let ackedBefore = -1;
    for (let settled = false; !settled; ) {
      await waitFor(async () => (await stats()).kinesis.buffer_size === 0, 10_000, 'the producer to drain');
      ackedBefore = (await stats()).kinesis.events_sent;
      await sleep(500);
      const now = await stats();
      if (now.kinesis.events_sent !== ackedBefore || now.kinesis.buffer_size !== 0) continue;
      await waitFor(() => before.userRecords >= ackedBefore, 10_000, 'the reader to catch up');
      settled = (await stats()).kinesis.events_sent === ackedBefore;
    }
    await before.stop();
    await kinesis.stop();

    sim.clearFaults();
    await waitFor(async () => (await stats()).kinesis.failed_records >= 3, 20_000, 'failed puts during the outage');
    const health = await service.health();
    expect(health.status).toBe('degraded');
    expect((health.components.kinesis_producer as { buffer_size: number }).buffer_size).toBeGreaterThan(0);
    await sleep(1_000);

    kinesis = await startEmbeddedKinesis({ plainPort, tlsPort });
    const after = new PlainKinesisReader(kinesis.endpoint, names);
    after.start();
    cleanups.push(() => after.stop());
    await waitFor(async () => (await stats()).kinesis.events_sent > ackedBefore + 300, 60_000, 'delivery after the restart');

    // Every stream re-created and the backlog sent (a stream still in its retry backoff would hold events).
    await waitFor(
      async () => {
        const k = (await service.health()).components.kinesis_producer as { status: string; buffer_size: number };
        return k.buffer_size < 200;
      },
      60_000,
      'the backlog to drain',
    );
    await service.stop();
    const final = await stats();
    expect(final.kinesis.dropped).toBe(0);
    expect(final.sequence.gaps_total).toBe(0);
    await waitFor(() => before.userRecords + after.userRecords >= final.kinesis.events_sent, 30_000, 'every acknowledged record read').catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}: read ${before.userRecords} before the outage (acked then: ${ackedBefore}) + ${after.userRecords} after, ` +
          `acked ${final.kinesis.events_sent}; reader errors ${before.errors} / ${after.errors}`,
      );
    });
    await sleep(300);
    const all = [...before.events, ...after.events];
    expect(before.userRecords + after.userRecords).toBe(final.kinesis.events_sent);
    const of = (stream: string): Array<Record<string, unknown>> => all.filter((e) => e.stream === stream).map((e) => e.event);
    const result = await verifyAgainstTruth({
      restUrl: sim.restUrl,
      symbol: 'BTCUSDT',
      trades: of(s.trade),
      depth: of(s.depth),
      bestBidAsk: of(s.bestbidask),
      gaps: final.sequence.recent_gaps,
    });
    expect(result.tradesInGaps).toBe(0);
    expect(result.depthGaps).toBe(0);
    expect(after.events.length).toBeGreaterThan(300);
  }, 150_000);
});
