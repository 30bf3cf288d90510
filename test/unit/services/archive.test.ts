import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../src/kinesis/consumer.js';
import { archiveCheckpointKey, LakeCheckpointStore } from '../../../src/lake/archive-checkpoints.js';
import { checkpointKey } from '../../../src/kinesis/redis-checkpoints.js';
import { loadConfig } from '../../../src/ops/config.js';
import { encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';
import { batchItems, restTradeFiller } from '../../../src/services/archive.js';
import type { EventRecordError } from '../../../src/services/aggregate-decode.js';

function hashClient(): { data: Map<string, Map<string, string>>; hget(k: string, f: string): Promise<string | null>; hset(k: string, f: string, v: string): Promise<number> } {
  const data = new Map<string, Map<string, string>>();
  return {
    data,
    hget: (k, f) => Promise.resolve(data.get(k)?.get(f) ?? null),
    hset: (k, f, v) => {
      if (!data.has(k)) data.set(k, new Map());
      data.get(k)?.set(f, v);
      return Promise.resolve(1);
    },
  };
}

function rec(data: string, seq: string): ConsumedRecord {
  return { data: Buffer.from(data), partitionKey: 'BTCUSDT', sequenceNumber: seq, subSequenceNumber: 2, shardId: 'shardId-000000000000', arrivalMs: 1_700_000_000_000, receivedMs: 1_700_000_000_010 };
}

describe('archive service parts', () => {
  it('config: archive mode on 8083/9093, lake.archive defaults, local.yaml flushes every 15 s', () => {
    const c = loadConfig('config/archive.yaml', { env: {} });
    expect([c.mode, c.health.port, c.metrics.prometheus_port]).toEqual(['archive', 8083, 9093]);
    expect(c.lake.archive).toEqual({ initial_position: 'TRIM_HORIZON', flush_interval_seconds: 60, max_buffered_rows: 200_000, max_buffered_mib: 64, max_rows_per_file: 100_000, fill_trade_holes: true, reanchor_grace_seconds: 30 });
    const local = loadConfig('config/local.yaml', { mode: 'archive', env: {} });
    expect([local.health.port, local.lake.archive.flush_interval_seconds]).toEqual([8083, 15]);
  });

  it('checkpoints wait for the lake: stored only while nothing is buffered, never under the aggregator key', async () => {
    const redis = hashClient();
    let drained = false;
    const store = new LakeCheckpointStore(redis, () => drained);
    await store.save('s', 'shard-1', '100');
    expect(await store.load('s', 'shard-1')).toBeUndefined();
    expect(store.waiting).toBe(1);
    drained = true;
    await store.commit();
    expect(await store.load('s', 'shard-1')).toBe('100');
    await store.save('s', 'shard-1', '200');
    expect(redis.data.get(archiveCheckpointKey('s'))?.get('shard-1')).toBe('200');
    expect(redis.data.has(checkpointKey('s'))).toBe(false);
  });

  it('records → events with their Kinesis provenance; a bad record is reported, never archived', () => {
    const errors: string[] = [];
    const trade = JSON.stringify({ type: 'trade', symbol: 'BTCUSDT', event_ts: 1_000, source: 'sbe', trade_id: 7, price: '1.50', quantity: '2.000', is_buyer_maker: false, recv_ts_us: 1_100 });
    const future = JSON.stringify({ type: 'trade', symbol: 'BTCUSDT', event_ts: 9_000_000, source: 'sbe', trade_id: 8, price: '1.50', quantity: '2.000', is_buyer_maker: false });
    const items = batchItems([rec(trade, '1'), rec('{"type":', '2'), rec(future, '3')], 5_000_000, (r, err: EventRecordError) => errors.push(`${r.sequenceNumber}:${err.code}`));
    expect(errors).toEqual(['2:malformed', '3:future']);
    expect(items).toHaveLength(1);
    expect(items[0].ev).toMatchObject({ type: 'trade', trade_id: 7, price: '1.50' });
    expect(items[0].meta).toEqual({ arrivalMs: 1_700_000_000_000, shardId: 'shardId-000000000000', sequenceNumber: '1', subSequenceNumber: 2, recvTsUs: undefined, sbe: undefined });
  });

  it('an SBE record: every trade of the message, its receive time, the venue bytes once', () => {
    const sbe = encodeTradesFrame({
      symbol: 'BTCUSDT', eventTimeUs: 1_000, transactTimeUs: 990, priceExponent: -2, qtyExponent: -5,
      trades: [{ id: 11, price: '97000.10', qty: '0.00100', isBuyerMaker: true }, { id: 12, price: '97000.20', qty: '0.00200', isBuyerMaker: false }],
    });
    const data = encodeSbeRecord(sbe, 1_250, 3);
    const items = batchItems([{ ...rec('', '9'), data }], 5_000_000, () => expect.unreachable());
    // The events are the aggregator's decoding of the message (its decimal strings); the bytes stay as sent.
    expect(items.map((i) => i.ev)).toEqual(decodeFrame(sbe, 1_250));
    expect(items.map((i) => [(i.ev as { trade_id: number }).trade_id, i.meta.recvTsUs])).toEqual([[11, 1_250], [12, 1_250]]);
    expect(items[0].meta.sbe).toEqual(sbe);
    expect(items[1].meta.sbe).toBeUndefined();
    // A copy: the row must not pin the whole record buffer.
    expect(items[0].meta.sbe?.buffer).not.toBe(data.buffer);
  });

  it('trade fill keeps only the ids of the hole', async () => {
    const client = {
      trades: () => Promise.resolve([5, 6, 7, 8, 9].map((id) => ({ id, price: '1.0', qty: '0.5', quoteQty: '0.5', time: 1_000 + id, isBuyerMaker: id % 2 === 0, isBestMatch: true }))),
    };
    const got = await restTradeFiller(client)('BTCUSDT', 6, 8);
    expect(got.map((t) => [t.id, t.timeMs, t.isBuyerMaker])).toEqual([[6, 1006, true], [7, 1007, false], [8, 1008, true]]);
  });
});
