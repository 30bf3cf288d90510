/**
 * Bench section "kinesis": against a private kinesis-local (3 streams, 1 shard each, as deployed), the
 * producer's enqueue→acknowledged latency at a steady 5,000 events/s (trade / bestBidAsk / depth mix,
 * KPL aggregation, default linger), and put→get latency through KinesisStreamConsumer, once with the
 * configured poll interval (100 ms) and once with a short one (10 ms); then at 500 events/s, which
 * shows the latency floor when kinesis-local is not saturated (its cost grows with bytes per call). Last,
 * kinesis-local's CPU per empty GetRecords at a shard's tip as the shard fills, edited and as shipped
 * (kinesis-local-growth.ts).
 */
import { performance } from 'node:perf_hooks';
import { KinesisStreamConsumer, type ConsumedRecord } from '../kinesis/consumer.js';
import { localKinesisClient, startEmbeddedKinesis } from '../kinesis/embedded.js';
import { KinesisProducer } from '../kinesis/producer.js';
import { measureGetRecordsGrowth, type GrowthResult } from './kinesis-local-growth.js';
import type { BenchSection } from './index.js';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface KinesisBenchPhase {
  pollIntervalMs: number;
  targetEventsPerSecond: number;
  achievedEventsPerSecond: number;
  producerAck: LatencySummary;
  putToGet: LatencySummary;
  putRecordsCalls: number;
  kinesisRecords: number;
  eventsPerKinesisRecord: number;
  avgCallMs: number;
  dropped: number;
  retries: number;
  throttled: number;
  lost: number;
}

export interface KinesisBenchResult {
  seconds: number;
  phases: KinesisBenchPhase[];
  /** kinesis-local's CPU per empty GetRecords at the tip, by records stored in the shard. */
  getRecordsGrowth: GrowthResult[];
}

/** [consumer poll interval ms, events/s]: the target rate twice, then a light load for the latency floor. */
const PHASES: Array<[number, number]> = [
  [100, 5_000],
  [10, 5_000],
  [10, 500],
];
const STREAMS = { trade: 'bench-trade', bestbidask: 'bench-bestbidask', depth: 'bench-depth' } as const;

function summarize(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p: number): number => (s.length === 0 ? 0 : round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]));
  return { count: s.length, p50Ms: pct(50), p95Ms: pct(95), p99Ms: pct(99), maxMs: s.length ? round(s[s.length - 1]) : 0 };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Payloads shaped like the normalized events (sizes matter for aggregation), stamped with put time. */
function makeEvent(i: number, t: number): { stream: string; body: Record<string, unknown> } {
  const k = i % 5;
  const base = { symbol: 'BTCUSDT', event_ts: Date.now() * 1000, source: 'sbe', t };
  if (k < 2) {
    return {
      stream: STREAMS.trade,
      body: { ...base, type: 'trade', trade_id: i, price: '98123.45000000', quantity: '0.00123000', is_buyer_maker: i % 2 === 0, sequence_id: i },
    };
  }
  if (k < 4) {
    return {
      stream: STREAMS.bestbidask,
      body: { ...base, type: 'bestBidAsk', bid_price: '98123.44', bid_quantity: '1.2', ask_price: '98123.45', ask_quantity: '0.8', sequence_id: i },
    };
  }
  const lv = (p: number): [string, string][] => Array.from({ length: 10 }, (_, j) => [(p + j * 0.01).toFixed(2), '0.12345000']);
  return { stream: STREAMS.depth, body: { ...base, type: 'depth', first_update_id: i, final_update_id: i, bids: lv(98_100), asks: lv(98_124) } };
}

async function runPhase(endpoint: string, seconds: number, pollIntervalMs: number, rate: number): Promise<KinesisBenchPhase> {
  const client = localKinesisClient(endpoint);
  const ack: number[] = [];
  const putToGet: number[] = [];
  let received = 0;
  const producer = new KinesisProducer({
    client,
    hooks: {
      onAck: (a) => {
        for (const t of a.enqueuedAt) ack.push(a.ackedAt - t);
      },
    },
  });
  const handler = async (batch: ConsumedRecord[]): Promise<void> => {
    const now = performance.now();
    for (const r of batch) {
      const { t } = JSON.parse(r.data.toString()) as { t: number };
      putToGet.push(now - t);
      received++;
    }
  };
  const consumers = Object.values(STREAMS).map((stream) => new KinesisStreamConsumer({ client, stream, handler, pollIntervalMs }));
  await Promise.all(consumers.map((c) => c.start()));
  // Let every consumer have its LATEST iterator and first poll in place before the clock starts.
  await new Promise((r) => setTimeout(r, 300));

  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      const t = performance.now();
      const e = makeEvent(sent, t);
      producer.put(e.stream, 'BTCUSDT', e.body);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const elapsed = (performance.now() - t0) / 1000;
  await producer.flush(30_000);
  const deadline = Date.now() + 10_000;
  while (received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const st = producer.stats();
  await Promise.all(consumers.map((c) => c.stop()));
  await producer.close();
  client.destroy();
  return {
    pollIntervalMs,
    targetEventsPerSecond: rate,
    achievedEventsPerSecond: Math.round(sent / elapsed),
    producerAck: summarize(ack),
    putToGet: summarize(putToGet),
    putRecordsCalls: st.calls,
    kinesisRecords: st.records_sent,
    eventsPerKinesisRecord: st.records_sent ? round(st.events_sent / st.records_sent) : 0,
    avgCallMs: st.avg_latency_ms,
    dropped: st.dropped,
    retries: st.retries,
    throttled: st.throttled,
    lost: sent - received,
  };
}

export async function runKinesisBench(opts: { json: boolean; quick: boolean }): Promise<KinesisBenchResult> {
  const seconds = opts.quick ? 3 : 10;
  const kinesis = await startEmbeddedKinesis({ streams: Object.values(STREAMS) });
  const phases: KinesisBenchPhase[] = [];
  try {
    for (const [poll, rate] of PHASES) phases.push(await runPhase(kinesis.endpoint, seconds, poll, rate));
  } finally {
    await kinesis.stop();
  }
  // Stored records per point: a local stack at ~50 puts/s stores 40,000 in ~13 minutes.
  const sizes = opts.quick ? [2_000, 10_000] : [2_000, 20_000, 40_000];
  const say = opts.json ? undefined : (line: string): void => console.log(line);
  const getRecordsGrowth = [await measureGetRecordsGrowth(sizes, false, say), await measureGetRecordsGrowth(sizes, true, say)];
  const result: KinesisBenchResult = { seconds, phases, getRecordsGrowth };
  if (opts.json) {
    console.log(JSON.stringify({ section: 'kinesis', ...result }));
  } else {
    for (const p of phases) {
      const a = p.producerAck;
      const g = p.putToGet;
      console.log(
        `kinesis producer @ ${p.achievedEventsPerSecond} ev/s (${seconds} s, KPL, poll ${p.pollIntervalMs} ms): enqueue→ack P50 ${a.p50Ms} ms  P95 ${a.p95Ms} ms  P99 ${a.p99Ms} ms  max ${a.maxMs} ms; ` +
          `${p.putRecordsCalls} calls, ${p.eventsPerKinesisRecord} events/record, avg call ${p.avgCallMs} ms, dropped ${p.dropped}, retried ${p.retries}, throttled calls ${p.throttled}`,
      );
      console.log(
        `kinesis put→get via consumer (poll ${p.pollIntervalMs} ms): P50 ${g.p50Ms} ms  P95 ${g.p95Ms} ms  P99 ${g.p99Ms} ms  max ${g.maxMs} ms; lost ${p.lost}`,
      );
    }
  }
  return result;
}

export const kinesisSection: BenchSection = { name: 'kinesis', run: runKinesisBench };
