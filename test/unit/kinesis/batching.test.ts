import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KINESIS_LIMITS, maxEventBytes, planPutRecords, type BatchLimits, type LaneView } from '../../../src/kinesis/batching.js';
import { aggregateRecords } from '../../../src/kinesis/deaggregate.js';
import { KPL_FRAME_BYTES, KplAggregator, kplPartitionKeyOverhead, kplUserRecordOverhead } from '../../../src/kinesis/kpl.js';

function lane(partitionKey: string, sizes: number[], shard?: string): LaneView {
  return { partitionKey, length: sizes.length, sizeAt: (i) => sizes[i], ...(shard !== undefined ? { shard } : {}) };
}

const MiB = 1024 * 1024;
const plain: BatchLimits = { ...KINESIS_LIMITS, maxEventsPerCall: 10_000, aggregate: false };
const agg: BatchLimits = { ...plain, aggregate: true };

describe('planPutRecords (plain records)', () => {
  it('never puts more than 500 records in one call', () => {
    const plan = planPutRecords([lane('A', new Array(1200).fill(10))], plain);
    expect(plan.length).toBe(500);
  });

  it('never exceeds 5 MiB per call including partition keys', () => {
    const plan = planPutRecords([lane('BTCUSDT', new Array(20).fill(600 * 1024))], plain);
    const bytes = plan.reduce((s, r) => s + r.bytes, 0);
    expect(bytes).toBeLessThanOrEqual(5 * MiB);
    expect(plan.length).toBe(8);
  });

  it('respects the adaptive event budget', () => {
    const plan = planPutRecords([lane('A', new Array(50).fill(10)), lane('B', new Array(50).fill(10))], { ...plain, maxEventsPerCall: 70 });
    expect(plan.length).toBe(70);
    expect(plan.filter((r) => r.lane === 1).length).toBe(20);
  });
});

describe('planPutRecords (KPL aggregation)', () => {
  it('makes one record per partition key per call', () => {
    const plan = planPutRecords([lane('A', [100, 100, 100]), lane('B', [50])], agg);
    expect(plan).toEqual([
      expect.objectContaining({ lane: 0, events: 3 }),
      expect.objectContaining({ lane: 1, events: 1 }),
    ]);
  });

  it('keeps each aggregated record within 1 MiB and the call within 5 MiB', () => {
    const lanes = Array.from({ length: 8 }, (_, i) => lane(`K${i}`, new Array(40).fill(100 * 1024)));
    const plan = planPutRecords(lanes, agg);
    for (const r of plan) expect(r.bytes).toBeLessThanOrEqual(MiB);
    expect(plan.reduce((s, r) => s + r.bytes, 0)).toBeLessThanOrEqual(5 * MiB);
    // Five full records (10 events of 100 KiB each) fill ~4.9 MiB; the sixth key gets the remainder.
    expect(plan.slice(0, 5).every((r) => r.events === 10)).toBe(true);
    expect(plan.length).toBe(6);
    expect(plan[5].events).toBe(1);
  });

  it('estimates never under-count the real encoded size (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z]{1,20}$/),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 6000, max: 200_000 }),
        (pk, sizes, maxRecordBytes) => {
          const plan = planPutRecords([lane(pk, sizes)], { ...agg, maxRecordBytes });
          expect(plan.length).toBe(1);
          const [rec] = plan;
          const events = sizes.slice(0, rec.events).map((n) => ({ partitionKey: pk, data: Buffer.alloc(n, 7) }));
          const encoded = aggregateRecords(events, Number.MAX_SAFE_INTEGER);
          expect(encoded.length).toBe(1);
          expect(encoded[0].data.length + pk.length).toBeLessThanOrEqual(rec.bytes);
          expect(rec.bytes).toBeLessThanOrEqual(maxRecordBytes);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('planPutRecords (KPL aggregation across keys of one shard)', () => {
  it('packs the lanes of one shard into one record, in lane order; other shards and unmapped lanes get their own', () => {
    const plan = planPutRecords(
      [lane('A', [10, 10], 's0'), lane('B', [10], 's1'), lane('C', [10, 10, 10], 's0'), lane('D', [10]), lane('E', [10], 's1'), lane('F', [10])],
      agg,
    );
    expect(plan.map((r) => r.parts)).toEqual([
      [
        { lane: 0, events: 2 },
        { lane: 2, events: 3 },
      ],
      [
        { lane: 1, events: 1 },
        { lane: 4, events: 1 },
      ],
      [{ lane: 3, events: 1 }],
      [{ lane: 5, events: 1 }],
    ]);
    expect(plan.map((r) => [r.lane, r.events])).toEqual([
      [0, 5],
      [1, 2],
      [3, 1],
      [5, 1],
    ]);
  });

  it('opens a second record for a shard whose record is full, rather than starving the lane', () => {
    const size = 400 * 1024;
    const plan = planPutRecords([lane('A', [size, size], 's0'), lane('B', [size, size], 's0')], agg);
    expect(plan.map((r) => r.parts)).toEqual([[{ lane: 0, events: 2 }], [{ lane: 1, events: 2 }]]);
  });

  const shardOf = fc.constantFrom<string | undefined>('s0', 's1', 's2', undefined);
  const lanesArb = fc.array(fc.tuple(fc.stringMatching(/^[A-Z]{1,12}$/), shardOf, fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 40 })), {
    minLength: 1,
    maxLength: 12,
  });
  const views = (spec: Array<[string, string | undefined, number[]]>): LaneView[] => spec.map(([k, sh, sizes], i) => lane(`${k}${i}`, sizes, sh));

  it('respects every limit, takes each lane once from its head, never mixes shards, and never under-estimates (property)', () => {
    fc.assert(
      fc.property(
        lanesArb,
        fc.integer({ min: 4000, max: 100_000 }),
        fc.integer({ min: 4000, max: 400_000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 300 }),
        (spec, maxRecordBytes, maxBytesPerCall, maxRecordsPerCall, maxEventsPerCall) => {
          const lanes = views(spec);
          const limits: BatchLimits = { maxRecordBytes, maxBytesPerCall, maxRecordsPerCall, maxEventsPerCall, aggregate: true };
          const plan = planPutRecords(lanes, limits);
          expect(plan.length).toBeLessThanOrEqual(maxRecordsPerCall);
          expect(plan.reduce((n, r) => n + r.events, 0)).toBeLessThanOrEqual(maxEventsPerCall);
          expect(plan.reduce((n, r) => n + r.bytes, 0)).toBeLessThanOrEqual(maxBytesPerCall);
          const seen = new Set<number>();
          for (const r of plan) {
            expect(r.bytes).toBeLessThanOrEqual(maxRecordBytes);
            expect(r.lane).toBe(r.parts[0].lane);
            expect(r.events).toBe(r.parts.reduce((n, p) => n + p.events, 0));
            if (r.parts.length > 1) {
              const shard = lanes[r.lane].shard;
              expect(shard).toBeDefined();
              for (const p of r.parts) expect(lanes[p.lane].shard).toBe(shard);
            }
            const a = new KplAggregator();
            for (const p of r.parts) {
              expect(seen.has(p.lane)).toBe(false);
              seen.add(p.lane);
              expect(p.events).toBeGreaterThan(0);
              expect(p.events).toBeLessThanOrEqual(lanes[p.lane].length);
              for (let i = 0; i < p.events; i++) a.add(lanes[p.lane].partitionKey, Buffer.alloc(lanes[p.lane].sizeAt(i), 1));
            }
            expect(a.size + Buffer.byteLength(lanes[r.lane].partitionKey)).toBeLessThanOrEqual(r.bytes);
          }
          // Progress: the oldest lane's head goes out whenever it fits in an empty call.
          const first = lanes[0];
          if (first.length > 0) {
            const alone =
              Buffer.byteLength(first.partitionKey) + KPL_FRAME_BYTES + kplPartitionKeyOverhead(first.partitionKey) + first.sizeAt(0) + kplUserRecordOverhead(first.sizeAt(0));
            if (alone <= Math.min(maxRecordBytes, maxBytesPerCall)) expect(seen.has(0)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sends everything in one record per shard (plus one per unmapped lane) when nothing binds (property)', () => {
    fc.assert(
      fc.property(lanesArb, (spec) => {
        const lanes = views(spec);
        const plan = planPutRecords(lanes, agg);
        const withEvents = lanes.filter((l) => l.length > 0);
        const shards = new Set(withEvents.map((l) => l.shard).filter((s) => s !== undefined));
        expect(plan.length).toBe(shards.size + withEvents.filter((l) => l.shard === undefined).length);
        expect(plan.reduce((n, r) => n + r.events, 0)).toBe(withEvents.reduce((n, l) => n + l.length, 0));
      }),
      { numRuns: 200 },
    );
  });
});

describe('maxEventBytes', () => {
  it('leaves room for the partition key (plain) and the KPL framing (aggregated)', () => {
    expect(maxEventBytes('BTCUSDT', false)).toBe(MiB - 7);
    const a = maxEventBytes('BTCUSDT', true);
    expect(a).toBeLessThan(MiB - 7 - 20);
    const [rec] = aggregateRecords([{ partitionKey: 'BTCUSDT', data: Buffer.alloc(a) }], Number.MAX_SAFE_INTEGER);
    expect(rec.data.length + 7).toBeLessThanOrEqual(MiB);
  });
});
