import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DepthResponse, RestAggTrade, RestKline } from '../binance/rest-types.js';
import type { StreamDatasetName, StreamRow } from './datasets.js';
import { fromJobFailure, runParquetJob, type ParquetJob, type ParquetJobFailure } from './parquet-jobs.js';
import { columnsOf, type StreamColumns } from './stream-columns.js';

/** Turns archiver rows into Parquet file bytes, inline or on a worker thread. */
export interface ParquetEncoder {
  aggTrades(symbol: string, rows: readonly RestAggTrade[]): Promise<Uint8Array>;
  klines(symbol: string, rows: readonly RestKline[]): Promise<Uint8Array>;
  depthSnapshot(symbol: string, depth: DepthResponse, tsMs: number): Promise<Uint8Array>;
  /** Rows of a whole-stream dataset (src/lake/datasets.ts STREAM_DATASETS); a bad cell rejects with StreamRowError. */
  streamRows(dataset: StreamDatasetName, rows: readonly StreamRow[]): Promise<Uint8Array>;
  /** A run of a whole-stream dataset's rows held as columns (the archiver's buffers). */
  streamColumns(columns: StreamColumns): Promise<Uint8Array>;
  close(): Promise<void>;
}

abstract class JobEncoder implements ParquetEncoder {
  protected abstract run(job: ParquetJob): Promise<Uint8Array>;
  abstract close(): Promise<void>;
  aggTrades(symbol: string, rows: readonly RestAggTrade[]): Promise<Uint8Array> {
    return this.run({ kind: 'aggTrades', symbol, rows });
  }
  klines(symbol: string, rows: readonly RestKline[]): Promise<Uint8Array> {
    return this.run({ kind: 'klines', symbol, rows });
  }
  depthSnapshot(symbol: string, depth: DepthResponse, tsMs: number): Promise<Uint8Array> {
    return this.run({ kind: 'depthSnapshot', symbol, depth, tsMs });
  }
  async streamRows(dataset: StreamDatasetName, rows: readonly StreamRow[]): Promise<Uint8Array> {
    return this.run({ kind: 'streamColumns', columns: columnsOf(dataset, rows) });
  }
  streamColumns(columns: StreamColumns): Promise<Uint8Array> {
    return this.run({ kind: 'streamColumns', columns });
  }
}

/** Encodes on the caller's thread (Lambda handlers, tests, and the fallback when no compiled worker exists). */
export class InlineParquetEncoder extends JobEncoder {
  protected run(job: ParquetJob): Promise<Uint8Array> {
    try {
      return Promise.resolve(runParquetJob(job));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

interface Reply {
  id: number;
  bytes?: Uint8Array;
  failure?: ParquetJobFailure;
}

/**
 * One worker thread, started on first use and restarted after a crash (the jobs in flight then fail;
 * the archivers retry them on their next poll). It does not keep the process alive while idle.
 */
export class ParquetWorkerEncoder extends JobEncoder {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly workerFile: string,
    /** The worker's own V8 heap cap, MiB (default: the process's). */
    private readonly maxHeapMib?: number,
  ) {
    super();
  }

  protected run(job: ParquetJob): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('Parquet encoder is closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, job }, transferable(job));
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerFile, this.maxHeapMib ? { resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMib } } : {});
    worker.unref();
    worker.on('message', (reply: Reply) => this.settle(reply));
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const p of pending) p.reject(err);
    };
    worker.on('error', (err) => fail(new Error(`Parquet worker failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`Parquet worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settle(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.bytes) p.resolve(reply.bytes);
    else p.reject(fromJobFailure(reply.failure ?? { name: 'Error', message: 'empty reply from the Parquet worker' }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

/** The column arrays of a job: moved to the worker, not copied (each is a slice of its own, used once). */
function transferable(job: ParquetJob): ArrayBuffer[] {
  if (job.kind !== 'streamColumns') return [];
  const out: ArrayBuffer[] = [];
  for (const d of Object.values(job.columns.columns)) {
    if (d.kind === 'num' || d.kind === 'bool') out.push(d.values.buffer as ArrayBuffer);
    else if (d.kind === 'bytes') out.push(d.data.buffer as ArrayBuffer, d.starts.buffer as ArrayBuffer, d.lens.buffer as ArrayBuffer);
  }
  return out;
}

/** The compiled worker next to this module (dist/lake/parquet-worker.js); absent when running from sources. */
export function compiledWorkerFile(): string | undefined {
  const file = fileURLToPath(new URL('./parquet-worker.js', import.meta.url));
  return existsSync(file) ? file : undefined;
}

/** A worker-thread encoder when the compiled worker exists, else inline. */
export function createParquetEncoder(): ParquetEncoder {
  const file = compiledWorkerFile();
  return file ? new ParquetWorkerEncoder(file) : new InlineParquetEncoder();
}
