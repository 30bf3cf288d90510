/**
 * Bench section "ingest" (the SBE ingestor):
 * (a) throughput on one core: pre-encoded SBE frames (trade / bestBidAsk / 20-level depth diff mix) through
 *     the service's own pipeline into a real KinesisProducer (batching, KPL aggregation) whose client
 *     acknowledges at once (no network), once per record format: 'sbe' (ids read + sequence check + the
 *     message in its envelope) and 'json' (decode + normalize + sequence check + JSON serialize); and what
 *     gzip of the KPL records saves in bytes and costs in CPU for each format;
 * (b) latency: the real simulator → the real service → a private kinesis-local at ~5,000 msg/s, frame
 *     put into the producer → PutRecords acknowledged, P50/P95/P99. Decode runs synchronously in the
 *     frame handler before the put, so frame-received → put is the decode time (< 1 µs, section "decode").
 */
import { performance } from 'node:perf_hooks';
import { PutRecordCommand, type KinesisClient, type PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { encodeBestBidAskFrame, encodeDepthDiffFrame, encodeTradesFrame } from '../binance/sbe-encode.js';
import { startEmbeddedKinesis } from '../kinesis/embedded.js';
import { MarketEventEncoder } from '../kinesis/event-json.js';
import { aggregateRecords } from '../kinesis/kpl.js';
import { KinesisProducer } from '../kinesis/producer.js';
import { compressRecord, inflateRecord } from '../kinesis/record-compression.js';
import { resolveConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { createSbeIngestService } from '../services/ingest-sbe.js';
import { SbeIngestPipeline, type RecordFormat } from '../services/ingest-sbe-pipeline.js';
import { startSimulator } from '../sim/index.js';
import type { BenchSection } from './index.js';

export interface IngestThroughput {
  /** What each Kinesis user record holds (aws.kinesis.record_format). */
  record_format: RecordFormat;
  seconds: number;
  frames_per_second: number;
  events_per_second: number;
  kinesis_records: number;
  events_per_kinesis_record: number;
  /** Sequence gaps the pipeline reported while timed (the frames are gap-free: anything else is a bug). */
  gaps: number;
  /** Bytes put on Kinesis per event (KPL records, no gzip). */
  kinesis_bytes_per_event: number;
  /** Events per second of this process's CPU time (user + system): the figure a shared machine does not skew. */
  events_per_cpu_second: number;
}

/** Whether gzip of whole KPL records pays, per record format: bytes on the wire against the CPU it costs. */
export interface GzipFigures {
  record_format: RecordFormat;
  events: number;
  bytes_per_event: number;
  gzip_bytes_per_event: number;
  /** raw / gzip */
  ratio: number;
  /** gzip (level 1) CPU per event, µs, on the producer; the reader's gunzip comes on top. */
  gzip_us_per_event: number;
  gunzip_us_per_event: number;
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
  /** The default record format (sbe). */
  throughput: IngestThroughput;
  /** The same frames with record_format json, for comparison. */
  throughput_json: IngestThroughput;
  gzip: { sbe: GzipFigures; json: GzipFigures };
  latency: IngestLatency;
}

const STREAMS = { trade: 'bench-ingest-trade', bestbidask: 'bench-ingest-bestbidask', depth: 'bench-ingest-depth' };

/** A Kinesis client that accepts every PutRecords / PutRecord at once (measures our CPU, not a network); counts the bytes. */
function instantKinesis(): { client: KinesisClient; bytes: () => number } {
  let seq = 0;
  let bytes = 0;
  const send = async (cmd: PutRecordsCommand | PutRecordCommand): Promise<unknown> => {
    if (cmd instanceof PutRecordCommand) {
      bytes += cmd.input.Data?.length ?? 0;
      return { SequenceNumber: String(++seq), ShardId: 'shardId-000000000000' };
    }
    const records = cmd.input.Records ?? [];
    for (const r of records) bytes += r.Data?.length ?? 0;
    return { FailedRecordCount: 0, Records: records.map(() => ({ SequenceNumber: String(++seq), ShardId: 'shardId-000000000000' })) };
  };
  return { client: { send, destroy: () => undefined } as unknown as KinesisClient, bytes: () => bytes };
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

export async function runIngestThroughput(seconds: number, recordFormat: RecordFormat = 'sbe'): Promise<IngestThroughput> {
  const kinesis = instantKinesis();
  const producer = new KinesisProducer({ client: kinesis.client, batchSize: 500, lingerMs: 5, aggregate: true, maxBufferedEvents: 1_000_000 });
  const pipeline = new SbeIngestPipeline({
    streams: STREAMS,
    recordFormat,
    sink: (stream, ev) => producer.putEvent(stream, ev),
    sinkRecord: (stream, key, record) => producer.putData(stream, key, record),
  });
  const pass = frames(20_000);
  const recv = Date.now() * 1000;
  // Warm-up pass (JIT), not timed.
  for (const f of pass) pipeline.onFrame(f, recv);
  await producer.flush(30_000);
  const before = pipeline.stats();
  const sentBefore = producer.stats();
  const bytesBefore = kinesis.bytes();
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const after = pipeline.stats();
  const sent = producer.stats();
  await producer.close();
  // Events the pipeline forwarded (a user record carries one venue message, which may hold several).
  const events = after.events_out - before.events_out;
  const records = sent.records_sent - sentBefore.records_sent;
  return {
    record_format: recordFormat,
    seconds: Math.round(elapsed * 100) / 100,
    frames_per_second: Math.round((after.messages_decoded - before.messages_decoded) / elapsed),
    events_per_second: Math.round(events / elapsed),
    kinesis_records: records,
    events_per_kinesis_record: records ? Math.round((events / records) * 10) / 10 : 0,
    gaps: after.gaps - before.gaps,
    kinesis_bytes_per_event: events ? Math.round(((kinesis.bytes() - bytesBefore) / events) * 10) / 10 : 0,
    events_per_cpu_second: cpuSeconds > 0 ? Math.round(events / cpuSeconds) : 0,
  };
}

/** KPL records of 500 user records of the bench's frames in `recordFormat`, gzipped and gunzipped as the producer and readers do. */
export function measureGzip(recordFormat: RecordFormat, n = 20_000): GzipFigures {
  const users: Buffer[] = [];
  const encoder = new MarketEventEncoder();
  const pipeline = new SbeIngestPipeline({
    streams: STREAMS,
    recordFormat,
    sink: (_s, ev) => users.push(Buffer.from(encoder.encode(ev))),
    sinkRecord: (_s, _k, record) => users.push(record),
  });
  const recv = Date.now() * 1000;
  for (const f of frames(n)) pipeline.onFrame(f, recv);
  const events = pipeline.stats().events_out;
  const kpl: Buffer[] = [];
  for (let i = 0; i < users.length; i += 500) kpl.push(...aggregateRecords(users.slice(i, i + 500).map((data) => ({ partitionKey: 'BTCUSDT', data }))).map((r) => r.data));
  // The fastest of a few runs: the machine may be shared, and interference only ever adds time.
  const time = (f: () => void): number => {
    f(); // warm-up
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      f();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  let zipped: Buffer[] = [];
  const zipMs = time(() => {
    zipped = kpl.map((r) => compressRecord(r, 'gzip'));
  });
  const unzipMs = time(() => {
    for (const z of zipped) inflateRecord(z);
  });
  const raw = kpl.reduce((a, r) => a + r.length, 0);
  const gz = zipped.reduce((a, r) => a + r.length, 0);
  const r1 = (x: number): number => Math.round(x * 100) / 100;
  return {
    record_format: recordFormat,
    events,
    bytes_per_event: r1(raw / events),
    gzip_bytes_per_event: r1(gz / events),
    ratio: r1(raw / gz),
    gzip_us_per_event: r1((zipMs * 1000) / events),
    gunzip_us_per_event: r1((unzipMs * 1000) / events),
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
  const throughput = await runIngestThroughput(opts.quick ? 1 : 5, 'sbe');
  const throughputJson = await runIngestThroughput(opts.quick ? 1 : 5, 'json');
  const gzip = { sbe: measureGzip('sbe', opts.quick ? 5_000 : 20_000), json: measureGzip('json', opts.quick ? 5_000 : 20_000) };
  if (!opts.json) {
    for (const t of [throughput, throughputJson]) {
      process.stdout.write(
        `ingest (a) one core, record format ${t.record_format}, ${t.record_format === 'sbe' ? 'ids read + sequence + envelope' : 'decode + sequence + serialize'} + KPL batch: ` +
          `${t.frames_per_second} frames/s, ${t.events_per_second} events/s, ${t.events_per_cpu_second} events per CPU-second (${t.events_per_kinesis_record} events per Kinesis record, ${t.kinesis_bytes_per_event} bytes/event, ${t.gaps} gaps)\n`,
      );
    }
    for (const g of [gzip.sbe, gzip.json]) {
      process.stdout.write(
        `ingest gzip, record format ${g.record_format}: ${g.bytes_per_event} → ${g.gzip_bytes_per_event} bytes/event (×${g.ratio}) for ` +
          `${g.gzip_us_per_event} µs/event gzip + ${g.gunzip_us_per_event} µs/event gunzip\n`,
      );
    }
  }
  const latency = await runIngestLatency(opts.quick ? 3 : 10);
  if (!opts.json) {
    process.stdout.write(
      `ingest (b) sim → service → kinesis-local (gzip records) @ ${latency.messages_per_second} msg/s, ${latency.events_per_second} events/s: frame → PutRecords ack P50 ${latency.p50_ms} ms  P95 ${latency.p95_ms} ms  ` +
        `P99 ${latency.p99_ms} ms  max ${latency.max_ms} ms over ${latency.events_acked} events; gaps ${latency.gaps}, dropped ${latency.dropped}\n`,
    );
  }
  return { throughput, throughput_json: throughputJson, gzip, latency };
}

export const ingestSection: BenchSection = { name: 'ingest', run: runIngestBench };
