import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { MarketEvent } from '../../../src/core/events.js';
import { LakeWriter } from '../../../src/lake/lake-writer.js';
import { MemoryObjectStore } from '../../../src/lake/memory-store.js';
import { StreamArchiver } from '../../../src/lake/stream-archiver.js';
import type { RecordMeta } from '../../../src/lake/stream-rows.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0) * 1000;
const px = (k: number): string => (84_000 + (k % 2000) / 100).toFixed(2);
const qty = (k: number): string => ((k * 7919) % 200_000 / 100_000).toFixed(5);

/** The simulator's mix at 10 symbols: per 19 events, 10 trades, 7 best bid/asks and 2 depth diffs of 10 + 10 levels. */
function* stream(n: number): Generator<{ ev: MarketEvent; meta: RecordMeta }> {
  const next = new Map<string, { trade: number; bba: number; depth: number }>();
  for (let k = 0; k < n; k++) {
    const symbol = `SYM${k % 10}USDT`;
    let ids = next.get(symbol);
    if (!ids) next.set(symbol, (ids = { trade: 1, bba: 1, depth: 1 }));
    const event_ts = T0 + k * 50;
    const slot = k % 19;
    // One aggregated Kinesis record per 40 events: its sequence number is one string shared by them.
    const meta: RecordMeta = { arrivalMs: Math.floor(event_ts / 1000), shardId: 'shardId-000000000000', sequenceNumber: `4966${Math.floor(k / 40)}`.padEnd(56, '7'), subSequenceNumber: k % 40, recvTsUs: event_ts + 900, sbe: new Uint8Array(slot < 10 ? 80 : slot < 17 ? 66 : 330).fill(k % 251) };
    let ev: MarketEvent;
    if (slot < 10) {
      const id = ids.trade++;
      ev = { type: 'trade', symbol, event_ts, source: 'sbe', trade_id: id, sequence_id: id, price: px(k), quantity: qty(k), is_buyer_maker: k % 2 === 0, transact_ts: event_ts - 3 };
    } else if (slot < 17) {
      const id = ids.bba++;
      ev = { type: 'bestBidAsk', symbol, event_ts, source: 'sbe', sequence_id: id, bid_price: px(k), bid_quantity: qty(k), ask_price: px(k + 1), ask_quantity: qty(k + 1) };
    } else {
      const first = ids.depth;
      ids.depth += 5;
      const levels = (side: number): Array<[string, string]> => Array.from({ length: 10 }, (_, i) => [px(k + side * i), qty(k + i)]);
      ev = { type: 'depth', symbol, event_ts, source: 'sbe', first_update_id: first, final_update_id: ids.depth - 1, bids: levels(-1), asks: levels(1) };
    }
    yield { ev, meta };
  }
}

function heapAndBuffers(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('StreamArchiver memory', () => {
  it('buffered_bytes counts what the buffered rows hold, and a row costs a few hundred bytes', async () => {
    const n = 38_000;
    const archiver = new StreamArchiver({
      writer: new LakeWriter(new MemoryObjectStore()),
      encode: () => Promise.reject(new Error('no flush in this test')),
      maxBufferedRows: 10 * n,
      maxBufferedBytes: 2 ** 40,
      flushIntervalMs: 3_600_000,
    });
    const before = heapAndBuffers();
    // Events made batch by batch, as the decoder does: what stays after a GC is what the archiver keeps.
    let batch: Array<{ ev: MarketEvent; meta: RecordMeta }> = [];
    for (const item of stream(n)) {
      batch.push(item);
      if (batch.length === 500) {
        await archiver.ingest(batch);
        batch = [];
      }
    }
    await archiver.ingest(batch);
    batch = [];
    const held = heapAndBuffers() - before;
    const counted = archiver.stats().buffered_bytes as number;
    expect(archiver.bufferedRows).toBe(n);
    console.log(`${n} rows: ${Math.round(held / n)} B held per row, ${Math.round(counted / n)} B counted per row`);
    // The byte bound (lake.archive.max_buffered_mib) must see what memory the rows really take.
    expect(counted).toBeGreaterThanOrEqual(0.8 * held);
    expect(counted).toBeLessThanOrEqual(2 * held);
    // Row objects took ~1.1 KB per trade or best bid/ask and ~3.4 KB per 20-level diff (~1.4 KB for this mix).
    expect(held / n).toBeLessThan(700);
  });
});
