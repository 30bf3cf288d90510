import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KINESIS_LIMITS, maxEventBytes, planPutRecords, type BatchLimits, type LaneView } from '../../../src/kinesis/batching.js';
import { aggregateRecords } from '../../../src/kinesis/deaggregate.js';

function lane(partitionKey: string, sizes: number[]): LaneView {
  return { partitionKey, length: sizes.length, sizeAt: (i) => sizes[i] };
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

describe('maxEventBytes', () => {
  it('leaves room for the partition key (plain) and the KPL framing (aggregated)', () => {
    expect(maxEventBytes('BTCUSDT', false)).toBe(MiB - 7);
    const a = maxEventBytes('BTCUSDT', true);
    expect(a).toBeLessThan(MiB - 7 - 20);
    const [rec] = aggregateRecords([{ partitionKey: 'BTCUSDT', data: Buffer.alloc(a) }], Number.MAX_SAFE_INTEGER);
    expect(rec.data.length + 7).toBeLessThanOrEqual(MiB);
  });
});
