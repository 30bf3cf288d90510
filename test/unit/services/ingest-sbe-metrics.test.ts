import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createSbeIngestMetrics } from '../../../src/services/ingest-sbe-metrics.js';

describe('ingestor_sbe_messages_total', () => {
  it('shows the pipeline count of each stream at every scrape (a stream appears with its first message)', async () => {
    const registry = new Registry();
    const counts = { trade: 0, bestBidAsk: 0, depth: 0, depth20: 0 };
    createSbeIngestMetrics(registry, { connectionStatus: () => 'connected', bufferSize: () => 0, heldEvents: () => 0, messagesByStream: () => counts });
    const scrape = async (): Promise<Record<string, number>> => {
      const m = await registry.getSingleMetric('ingestor_sbe_messages_total')?.get();
      return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels.stream), v.value]));
    };
    expect(await scrape()).toEqual({});
    counts.trade = 7;
    counts.depth = 2;
    expect(await scrape()).toEqual({ trade: 7, depth: 2 });
    expect(await scrape()).toEqual({ trade: 7, depth: 2 });
    counts.trade = 9;
    counts.depth20 = 1;
    expect(await scrape()).toEqual({ trade: 9, depth: 2, depth20: 1 });
    expect(await registry.metrics()).toMatch(/ingestor_sbe_messages_total\{stream="trade"\} 9/);
  });
});
