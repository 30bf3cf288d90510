import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../../src/ops/health.js';
import { createRestIngestService } from '../../../src/services/ingest-rest.js';
import { captureLogger, metricValue, restConfig, startStack, waitFor } from './support.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.().catch(() => undefined);
});

interface SimRestStats {
  rest: { requests: number; rateLimited429: number; banned418: number; faulted: Record<string, number> };
}

describe('REST ingest service under 429 / 418 storms', () => {
  it('never escalates to a real ban and recovers by itself', async () => {
    const stack = await startStack();
    cleanups.push(() => stack.stop());
    const cap = captureLogger();
    const config = restConfig(stack, { scheduler: { poll_interval_seconds: 0.3 } });
    const service = createRestIngestService(config, cap.logger);
    await service.start();
    cleanups.push(() => service.stop());
    const calls = async (): Promise<number> => metricValue(await service.registry.metrics(), 'ingestor_rest_api_calls_total');
    await waitFor('enough calls before the storm', async () => (await calls()) >= 60, 30_000, 200);

    for (const status of [429, 418] as const) {
      stack.sim.setFaults({ rest: { status, forSeconds: 3 } });
      await waitFor(`${status} answers seen`, async () =>
        (await metricValue(await service.registry.metrics(), 'ingestor_rest_api_calls_total', { status: String(status) })) >= 1, 10_000);
      const sim = stack.sim.stats() as unknown as SimRestStats;
      const faultedAtStorm = sim.rest.faulted[String(status)] ?? 0;
      // After the storm: polls continue and health is back to healthy.
      const cyclesBefore = ((await service.stats()) as { poll: { cycles: number } }).poll.cycles;
      await waitFor('healthy again with polls continuing', async () => {
        const h = (await service.health()) as HealthReport;
        const st = (await service.stats()) as { poll: { cycles: number; last: { ok: boolean } | null } };
        return h.status === 'healthy' && st.poll.cycles >= cyclesBefore + 3 && st.poll.last?.ok === true;
      }, 45_000, 200);
      const after = stack.sim.stats() as unknown as SimRestStats;
      // Retry-After was honoured: only a handful of requests hit the storm (one per in-flight call at most).
      expect(after.rest.faulted[String(status)] ?? 0).toBeLessThanOrEqual(faultedAtStorm + 4);
      stack.sim.clearFaults();
    }
    const sim = stack.sim.stats() as unknown as SimRestStats;
    expect(sim.rest.banned418).toBe(0); // the venue's own limiter never banned us
    expect(sim.rest.rateLimited429).toBe(0);
    const h = (await service.health()) as HealthReport;
    expect((h.components.binance_rest as { rate_limit_remaining: number }).rate_limit_remaining).toBeGreaterThan(0);
  }, 120_000);
});
