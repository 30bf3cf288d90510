/**
 * Bench section "lake": Parquet encoding throughput (rows/s) and end-to-end archive throughput into a
 * temporary folder lake (files/s, rows/s, per-file write latency), for agg_trades files of 1000 rows
 * (one REST page) and a 5000-level depth snapshot; and how long the event loop stalls while those are
 * encoded inline vs on the REST service's Parquet worker thread (dist/ only).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DepthResponse, RestAggTrade } from '../binance/rest-types.js';
import { encodeAggTrades, encodeDepthSnapshot } from '../lake/datasets.js';
import { FolderObjectStore } from '../lake/folder-store.js';
import { rangeFileKey } from '../lake/keys.js';
import { LakeWriter } from '../lake/lake-writer.js';
import { compiledWorkerFile, InlineParquetEncoder, ParquetWorkerEncoder, type ParquetEncoder } from '../lake/parquet-encoder.js';
import type { BenchSection } from './index.js';

export interface LakeBenchResult {
  encode_agg_trades: { files: number; rows_per_file: number; rows_per_s: number; ms_per_file: number; bytes_per_row: number };
  write_agg_trades_folder: { files: number; files_per_s: number; rows_per_s: number; avg_write_latency_ms: number };
  depth_snapshot_5000: { ms_per_snapshot: number; bytes: number };
  /** Longest event-loop stall while encoding 10 agg_trades pages and 5 depth snapshots one after another. */
  event_loop_stall_ms: { inline: number; worker: number | null };
}

function trades(first: number, n: number, t0: number): RestAggTrade[] {
  return Array.from({ length: n }, (_, i) => ({
    a: first + i,
    p: `${97000 + ((i * 37) % 500)}.${String(i % 100).padStart(2, '0')}000000`,
    q: `0.${String((i * 7919) % 100000000).padStart(8, '0')}`,
    f: 3 * (first + i),
    l: 3 * (first + i) + 2,
    T: t0 + i * 50,
    m: i % 3 === 0,
    M: true,
  }));
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** The longest gap beyond its period that a 1 ms timer saw while `work` ran. */
async function longestStallMs(work: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  try {
    await work();
    await new Promise((r) => setTimeout(r, 5));
  } finally {
    clearInterval(timer);
  }
  return r2(worst);
}

async function encodeStall(encoder: ParquetEncoder, pages: RestAggTrade[][], depth: DepthResponse, t0: number): Promise<number> {
  return longestStallMs(async () => {
    // Yield between files as the archivers do (each file is stored before the next is encoded).
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    for (const p of pages.slice(0, 10)) {
      await encoder.aggTrades('BTCUSDT', p);
      await turn();
    }
    for (let i = 0; i < 5; i++) {
      await encoder.depthSnapshot('BTCUSDT', depth, t0);
      await turn();
    }
  });
}

export async function runLakeBench(quick: boolean): Promise<LakeBenchResult> {
  const files = quick ? 30 : 200;
  const rowsPerFile = 1000;
  const t0 = Date.UTC(2026, 10, 21, 0, 0);
  const pages = Array.from({ length: files }, (_, i) => trades(i * rowsPerFile, rowsPerFile, t0 + i * rowsPerFile * 50));

  for (let i = 0; i < 20; i++) encodeAggTrades('BTCUSDT', pages[i % pages.length]); // warm-up
  let bytes = 0;
  let start = process.hrtime.bigint();
  for (const p of pages) bytes += encodeAggTrades('BTCUSDT', p).byteLength;
  const encodeMs = Number(process.hrtime.bigint() - start) / 1e6;

  const dir = await mkdtemp(join(tmpdir(), 'btcpipe-lake-bench-'));
  try {
    const writer = new LakeWriter(new FolderObjectStore(dir));
    start = process.hrtime.bigint();
    for (const p of pages) {
      const key = rangeFileKey('bronze', 'agg_trades', 'BTCUSDT', p[0].T, p[0].a, p[p.length - 1].a);
      await writer.write(key, encodeAggTrades('BTCUSDT', p), p.length);
    }
    const writeMs = Number(process.hrtime.bigint() - start) / 1e6;

    const levels = Array.from({ length: 5000 }, (_, i) => [`${97000 - i * 0.01}`, '0.12345678'] as [string, string]);
    const depth: DepthResponse = { lastUpdateId: 1, bids: levels, asks: levels };
    const reps = quick ? 5 : 20;
    let depthBytes = 0;
    start = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) depthBytes = encodeDepthSnapshot('BTCUSDT', depth, t0).byteLength;
    const depthMs = Number(process.hrtime.bigint() - start) / 1e6 / reps;

    const inlineStall = await encodeStall(new InlineParquetEncoder(), pages, depth, t0);
    const workerFile = compiledWorkerFile();
    let workerStall: number | null = null;
    if (workerFile) {
      const worker = new ParquetWorkerEncoder(workerFile);
      try {
        await worker.depthSnapshot('BTCUSDT', depth, t0); // start the thread outside the measurement
        workerStall = await encodeStall(worker, pages, depth, t0);
      } finally {
        await worker.close();
      }
    }

    return {
      encode_agg_trades: {
        files,
        rows_per_file: rowsPerFile,
        rows_per_s: Math.round((files * rowsPerFile) / (encodeMs / 1000)),
        ms_per_file: r2(encodeMs / files),
        bytes_per_row: r2(bytes / (files * rowsPerFile)),
      },
      write_agg_trades_folder: {
        files,
        files_per_s: r2(files / (writeMs / 1000)),
        rows_per_s: Math.round((files * rowsPerFile) / (writeMs / 1000)),
        avg_write_latency_ms: writer.stats().avg_write_latency_ms,
      },
      depth_snapshot_5000: { ms_per_snapshot: r2(depthMs), bytes: depthBytes },
      event_loop_stall_ms: { inline: inlineStall, worker: workerStall },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const lakeSection: BenchSection = {
  name: 'lake',
  async run({ json, quick }) {
    const r = await runLakeBench(quick);
    if (!json) {
      const e = r.encode_agg_trades;
      const w = r.write_agg_trades_folder;
      process.stdout.write(
        `lake (agg_trades, ${e.rows_per_file} rows/file)\n` +
          `  encode:        ${e.rows_per_s} rows/s, ${e.ms_per_file} ms/file, ${e.bytes_per_row} B/row\n` +
          `  encode+write:  ${w.files_per_s} files/s, ${w.rows_per_s} rows/s (folder store, put ${w.avg_write_latency_ms} ms avg)\n` +
          `  depth 5000×2:  ${r.depth_snapshot_5000.ms_per_snapshot} ms/snapshot, ${r.depth_snapshot_5000.bytes} B\n` +
          `  event-loop stall while encoding: inline ${r.event_loop_stall_ms.inline} ms, ` +
          `worker thread ${r.event_loop_stall_ms.worker ?? 'n/a (run from dist/)'} ms\n`,
      );
    }
    return r;
  },
};
