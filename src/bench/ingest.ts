/**
 * Bench section "ingest" (the SBE ingestor):
 * (a) throughput on one core: pre-encoded SBE frames (trade / bestBidAsk / 20-level depth diff mix) through
 *     the service's own pipeline — decode + normalize + sequence check — into a real KinesisProducer
 *     (JSON serialize, batching, KPL aggregation) whose client acknowledges at once (no network);
 * (b) latency: the real simulator → the real service → a private kinesis-local at ~5,000 msg/s, frame
 *     put into the producer → PutRecords acknowledged, P50/P95/P99. Decode runs synchronously in the
 *     frame handler before the put, so frame-received → put is the decode time (< 1 µs, section "decode").
 */
import { performance } from 'node:perf_hooks';
import type { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeTradesFrame } from '../binance/sbe-encode.js';
import { startEmbeddedKinesis } from '../kinesis/embedded.js';
import { KinesisProducer } from '../kinesis/producer.js';
import { resolveConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { createSbeIngestService } from '../services/ingest-sbe.js';
import { SbeIngestPipeline } from '../services/ingest-sbe-pipeline.js';
import { startSimulator } from '../sim/index.js';
import type { BenchSection } from './index.js';

export interface IngestThroughput {
  seconds: number;
  frames_per_second: number;
  events_per_second: number;
  kinesis_records: number;
  events_per_kinesis_record: number;
  /** Sequence gaps the pipeline reported while timed (the frames are gap-free: anything else is a bug). */
  gaps: number;
}

export interface IngestLatency {
  seconds: number;
  sim_rate: number;
  messages_per_second: number;
  /** Events acknowledged per second while recording (a trades message may carry several). */
  events_per_second: number;
  events_acked: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  gaps: number;
  dropped: number;
}

export interface IngestBenchResult {
  throughput: IngestThroughput;
  latency: IngestLatency;
}

const STREAMS = { trade: 'bench-ingest-trade', bestbidask: 'bench-ingest-bestbidask', depth: 'bench-ingest-depth' };

/** A Kinesis client that accepts every PutRecords at once (measures our CPU, not a network). */
function instantKinesis(): KinesisClient {
  let seq = 0;
  const send = async (cmd: PutRecordsCommand): Promise<unknown> => ({
    FailedRecordCount: 0,
    Records: (cmd.input.Records ?? []).map(() => ({ SequenceNumber: String(++seq), ShardId: 'shardId-000000000000' })),
  });
  return { send, destroy: () => undefined } as unknown as KinesisClient;
}

/**
 * One pass of frames with contiguous ids: 2 trades : 2 bestBidAsk : 1 depth diff (10 + 10 levels). As on
 * the venue, best bid/ask and diffs share the book's update ids and each diff starts right after the
 * previous one (U = previous u + 1), so the sequence check sees a gap-free stream.
 */
function frames(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const t0 = 1_763_700_000_000_000;
  let trade = 5_000_000_000;
  let update = 70_000_000_000;
  let depthLast = update;
  for (let i = 0; i < n; i++) {
    const ts = t0 + i * 200;
    const k = i % 5;
    const px = (98_000 + (i % 100) * 0.01).toFixed(2);
    if (k < 2) {
      out.push(
        encodeTradesFrame({
          symbol: 'BTCUSDT',
          eventTimeUs: ts,
          transactTimeUs: ts - 50,
          priceExponent: -8,
          qtyExponent: -8,
          trades: [{ id: trade++, price: px, qty: '0.00123', isBuyerMaker: i % 2 === 0 }],
        }),
      );
    } else if (k < 4) {
      update++;
      out.push(
        encodeBestBidAskFrame({
          symbol: 'BTCUSDT',
          eventTimeUs: ts,
          bookUpdateId: update,
          priceExponent: -8,
          qtyExponent: -8,
          bidPrice: px,
          bidQty: '1.25',
          askPrice: (Number(px) + 0.01).toFixed(2),
          askQty: '0.5',
        }),
      );
    } else {
      const lv = (base: number, step: number): [string, string][] =>
        Array.from({ length: 10 }, (_, j) => [(base + j * step).toFixed(2), (0.001 * (j + 1)).toFixed(5)]);
      out.push(
        encodeDepthDiffFrame({
          symbol: 'BTCUSDT',
          eventTimeUs: ts,
          firstBookUpdateId: depthLast + 1,
          lastBookUpdateId: update + 20,
          priceExponent: -8,
          qtyExponent: -8,
          bids: lv(Number(px), -0.01),
          asks: lv(Number(px) + 0.01, 0.01),
        }),
      );
      update += 20;
      depthLast = update;
    }
  }
  return out;
}

export async function runIngestThroughput(seconds: number): Promise<IngestThroughput> {
  const producer = new KinesisProducer({ client: instantKinesis(), batchSize: 500, lingerMs: 5, aggregate: true, maxBufferedEvents: 1_000_000 });
  const pipeline = new SbeIngestPipeline({ streams: STREAMS, sink: (stream, ev) => producer.putEvent(stream, ev) });
  const pass = frames(20_000);
  const recv = Date.now() * 1000;
  // Warm-up pass (JIT), not timed.
  for (const f of pass) pipeline.onFrame(f, recv);
  await producer.flush(30_000);
  const before = pipeline.stats();
  const sentBefore = producer.stats();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    pipeline.sequence.reset(); // the next pass repeats the ids
    for (let i = 0; i < pass.length; i += 2_000) {
      for (let j = i; j < i + 2_000 && j < pass.length; j++) pipeline.onFrame(pass[j], recv);
      // Let the producer's batches (serialize happened at put; KPL aggregation happens now) run.
      await new Promise((r) => setImmediate(r));
    }
  }
  await producer.flush(30_000);
  const elapsed = (performance.now() - t0) / 1000;
  const after = pipeline.stats();
  const sent = producer.stats();
  await producer.close();
  const events = sent.events_sent - sentBefore.events_sent;
  const records = sent.records_sent - sentBefore.records_sent;
  return {
    seconds: Math.round(elapsed * 100) / 100,
    frames_per_second: Math.round((after.messages_decoded - before.messages_decoded) / elapsed),
    events_per_second: Math.round(events / elapsed),
    kinesis_records: records,
    events_per_kinesis_record: records ? Math.round((events / records) * 10) / 10 : 0,
    gaps: after.gaps - before.gaps,
  };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 100) / 100;
}

export async function runIngestLatency(seconds: number, simRate = 10_000): Promise<IngestLatency> {
  const kinesis = await startEmbeddedKinesis({ streams: Object.values(STREAMS) });
  const sim = await startSimulator({ seed: 42, rate: simRate });
  const config = resolveConfig(
    {
      binance: { sbe_ws_url: sim.wsUrl, api_key: 'bench-key', symbols: ['BTCUSDT'] },
      aws: { endpoint_url: kinesis.endpoint, kinesis: { streams: STREAMS, compression: 'gzip' } }, // as config/local.yaml
      health: { port: 0 },
      metrics: { prometheus_port: 0 },
    },
    'bench',
    { mode: 'sbe', env: {} },
  );
  const samples: number[] = [];
  let recording = false;
  const service = createSbeIngestService(config, createLogger({ service: 'bench-ingest', level: 'error' }) /* stopping with events still buffered warns; expected here */, {
    onAck: (a) => {
      if (!recording) return;
      for (const t of a.enqueuedAt) samples.push(a.ackedAt - t);
    },
  });
  try {
    await service.start();
    await new Promise((r) => setTimeout(r, 1_000)); // warm-up
    const s0 = (await service.stats()) as { sbe_stats: { messages_decoded: number } };
    recording = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    recording = false;
    const elapsed = (performance.now() - t0) / 1000;
    const s1 = (await service.stats()) as { sbe_stats: { messages_decoded: number }; sequence: { gaps_total: number }; kinesis: { dropped: number } };
    samples.sort((a, b) => a - b);
    return {
      seconds,
      sim_rate: simRate,
      messages_per_second: Math.round((s1.sbe_stats.messages_decoded - s0.sbe_stats.messages_decoded) / elapsed),
      events_per_second: Math.round(samples.length / elapsed),
      events_acked: samples.length,
      p50_ms: pct(samples, 50),
      p95_ms: pct(samples, 95),
      p99_ms: pct(samples, 99),
      max_ms: pct(samples, 100),
      gaps: s1.sequence.gaps_total,
      dropped: s1.kinesis.dropped,
    };
  } finally {
    await service.stop();
    await sim.stop();
    await kinesis.stop();
  }
}

export async function runIngestBench(opts: { json: boolean; quick: boolean }): Promise<IngestBenchResult> {
  const throughput = await runIngestThroughput(opts.quick ? 1 : 5);
  if (!opts.json) {
    process.stdout.write(
      `ingest (a) one core, decode + sequence + serialize + KPL batch: ${throughput.frames_per_second} frames/s, ${throughput.events_per_second} events/s ` +
        `(${throughput.events_per_kinesis_record} events per Kinesis record, ${throughput.gaps} gaps)\n`,
    );
  }
  const latency = await runIngestLatency(opts.quick ? 3 : 10);
  if (!opts.json) {
    process.stdout.write(
      `ingest (b) sim → service → kinesis-local (gzip records) @ ${latency.messages_per_second} msg/s, ${latency.events_per_second} events/s: frame → PutRecords ack P50 ${latency.p50_ms} ms  P95 ${latency.p95_ms} ms  ` +
        `P99 ${latency.p99_ms} ms  max ${latency.max_ms} ms over ${latency.events_acked} events; gaps ${latency.gaps}, dropped ${latency.dropped}\n`,
    );
  }
  return { throughput, latency };
}

export const ingestSection: BenchSection = { name: 'ingest', run: runIngestBench };
