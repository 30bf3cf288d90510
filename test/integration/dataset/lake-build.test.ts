import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MarketEvent } from '../../../src/core/events.js';
import { FolderObjectStore } from '../../../src/lake/object-store.js';
import { encodeDepthSnapshot, type StreamDatasetName, type StreamRow } from '../../../src/lake/datasets.js';
import { encodeStreamRows } from '../../../src/lake/stream-encode.js';
import { depthSnapshotKey } from '../../../src/lake/keys.js';
import { hourPartition } from '../../../src/lake/keys.js';
import { encodeServed } from '../../../src/dataset/served-archive.js';
import { buildDataset, DatasetRangeError } from '../../../src/dataset/build.js';
import { FEATURE_NAMES } from '../../../src/core/features.js';
import { market, serve, SNAP, SYM } from '../../unit/dataset/fixtures.js';

/**
 * `dataset build` against a folder lake written with the archiver's own encoders (whole-stream datasets,
 * depth_snapshots) and the served-log archive: the reader and the writer agree on layout and columns, the
 * rows equal what was served, and a symbol or range the lake does not hold is a one-line error.
 */

let root: string;
let store: FolderObjectStore;
const events = market(40);
const entries = serve(events, 1, [4, 12, 25, 40, 61, 80]);

function seqOf(i: number): string {
  return `4965${String(i).padStart(52, '0')}`;
}

function rowOf(ev: MarketEvent, i: number): [StreamDatasetName, StreamRow] {
  const tail = { recv_ts_us: ev.recv_ts_us ?? null, source: ev.source, arrival_ms: null, kinesis_shard: 'shardId-000000000000', kinesis_seq: seqOf(i), kinesis_sub_seq: null, sbe: null };
  const base = { symbol: ev.symbol, event_ts_us: ev.event_ts };
  switch (ev.type) {
    case 'depth':
      return ['depth_diffs', { ...base, first_update_id: ev.first_update_id, final_update_id: ev.final_update_id, bids: ev.bids, asks: ev.asks, ...tail }];
    case 'trade':
      return ['trades', { ...base, transact_ts_us: null, trade_id: ev.trade_id, price: ev.price, qty: ev.quantity, is_buyer_maker: ev.is_buyer_maker, filled: false, ...tail }];
    case 'bestBidAsk':
      return ['best_bid_ask', { ...base, update_id: ev.sequence_id, bid_price: ev.bid_price, bid_qty: ev.bid_quantity, ask_price: ev.ask_price, ask_qty: ev.ask_quantity, ...tail }];
    default:
      throw new Error('not in this fixture');
  }
}

async function writeLake(evs: readonly MarketEvent[]): Promise<void> {
  const by = new Map<StreamDatasetName, StreamRow[]>();
  evs.forEach((ev, i) => {
    const [ds, row] = rowOf(ev, i);
    by.set(ds, [...(by.get(ds) ?? []), row]);
  });
  const p = hourPartition(evs[0].event_ts / 1000);
  for (const [ds, rows] of by) {
    const id = (r: StreamRow): number => Number(r.final_update_id ?? r.trade_id ?? r.update_id);
    const key = `bronze/${ds}/symbol=${SYM}/date=${p.date}/hour=${p.hour}/${ds}_${id(rows[0])}_${id(rows[rows.length - 1])}.parquet`;
    await store.put(key, encodeStreamRows(ds, rows));
  }
  const snapTs = evs[0].event_ts / 1000;
  await store.put(depthSnapshotKey('bronze', SYM, snapTs, SNAP.lastUpdateId), encodeDepthSnapshot(SYM, { lastUpdateId: SNAP.lastUpdateId, bids: [...SNAP.bids], asks: [...SNAP.asks] }, snapTs));
  const w = hourPartition(entries[0].wall_ms);
  await store.put(
    `bronze/features_served/symbol=${SYM}/date=${w.date}/hour=${w.hour}/features_served_1-0_${entries.length}-0.parquet`,
    encodeServed(entries.map((e, i) => ({ ...e, entry_id: `${i + 1}-0` }))),
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'btcpipe-dataset-'));
  store = new FolderObjectStore(root);
  await writeLake(events);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const range = { fromMs: entries[0].wall_ms - 1000, toMs: entries[entries.length - 1].wall_ms + 1000 };

describe('dataset build from a folder lake', () => {
  it('rebuilds the served rows from the archived files', async () => {
    const lines: string[] = [];
    const { rows, summary } = await buildDataset({ store, bronzePrefix: 'bronze', symbol: SYM, ...range, horizonSeconds: 10, progress: (l) => lines.push(l) });
    const feats = entries.filter((e) => e.kind === 'feat');
    expect(rows).toHaveLength(feats.length);
    expect(summary).toMatchObject({ rows: feats.length, runs: 1, parity: { compared: feats.length, mismatched: 0 } });
    for (const [i, r] of rows.entries()) for (const n of FEATURE_NAMES) expect(r.features[n]).toBe(Number(feats[i].feat[n]));
    expect(lines.some((l) => l.startsWith('replay 100%'))).toBe(true);
  });

  it('a symbol the lake has nothing of, or a range it does not cover, is a one-line error', async () => {
    await expect(buildDataset({ store, bronzePrefix: 'bronze', symbol: 'ETHUSDT', ...range, horizonSeconds: 10 })).rejects.toThrow(
      new DatasetRangeError(`the lake (${store.describe()}, bronze/) has no data for ETHUSDT`),
    );
    const later = { fromMs: range.toMs + 86_400_000, toMs: range.toMs + 2 * 86_400_000 };
    const err = await buildDataset({ store, bronzePrefix: 'bronze', symbol: SYM, ...later, horizonSeconds: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetRangeError);
    expect((err as Error).message).toMatch(/^the lake has no served features of BTCUSDT in .* \(it holds 2025-11-24T16:00:00.000Z \.\. 2025-11-24T17:00:00.000Z\)$/);
    expect((err as Error).message).not.toContain('\n');
    await expect(buildDataset({ store, bronzePrefix: 'bronze', symbol: SYM, fromMs: range.toMs, toMs: range.fromMs, horizonSeconds: 10 })).rejects.toThrow(/must be before/);
  });
});
