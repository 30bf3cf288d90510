import type { ObjectStore } from './object-store.js';

export interface LakeWriteInfo {
  key: string;
  bytes: number;
  rows: number;
  latencyMs: number;
  /** Undefined on success. */
  error?: Error;
}

export interface LakeWriterStats {
  status: 'healthy' | 'degraded';
  store: string;
  files_written_today: number;
  files_written_total: number;
  rows_written_total: number;
  bytes_written_total: number;
  /** Mean over the last 100 writes. */
  avg_write_latency_ms: number;
  write_errors: number;
  last_file: string | null;
  last_error: string | null;
}

export interface LakeWriterOptions {
  onWrite?: (info: LakeWriteInfo) => void;
  now?: () => number;
}

const LATENCY_WINDOW = 100;

/** Puts lake files and keeps the numbers the `s3_writer` health component reports. */
export class LakeWriter {
  private readonly onWrite: ((info: LakeWriteInfo) => void) | undefined;
  private readonly now: () => number;
  private day = '';
  private filesToday = 0;
  private filesTotal = 0;
  private rowsTotal = 0;
  private bytesTotal = 0;
  private errors = 0;
  private lastFile: string | null = null;
  private lastError: string | null = null;
  private lastFailed = false;
  private readonly latencies: number[] = [];

  constructor(
    readonly store: ObjectStore,
    opts: LakeWriterOptions = {},
  ) {
    this.onWrite = opts.onWrite;
    this.now = opts.now ?? Date.now;
  }

  async write(key: string, body: Uint8Array, rows: number): Promise<void> {
    const started = this.now();
    try {
      await this.store.put(key, body);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.errors += 1;
      this.lastFailed = true;
      this.lastError = `${key}: ${error.message}`;
      this.onWrite?.({ key, bytes: body.byteLength, rows, latencyMs: this.now() - started, error });
      throw error;
    }
    const done = this.now();
    const latencyMs = done - started;
    const today = new Date(done).toISOString().slice(0, 10);
    if (today !== this.day) {
      this.day = today;
      this.filesToday = 0;
    }
    this.filesToday += 1;
    this.filesTotal += 1;
    this.rowsTotal += rows;
    this.bytesTotal += body.byteLength;
    this.lastFile = key;
    this.lastFailed = false;
    this.latencies.push(latencyMs);
    if (this.latencies.length > LATENCY_WINDOW) this.latencies.shift();
    this.onWrite?.({ key, bytes: body.byteLength, rows, latencyMs });
  }

  stats(): LakeWriterStats {
    const today = new Date(this.now()).toISOString().slice(0, 10);
    const avg = this.latencies.length ? this.latencies.reduce((a, b) => a + b, 0) / this.latencies.length : 0;
    return {
      status: this.lastFailed ? 'degraded' : 'healthy',
      store: this.store.describe(),
      files_written_today: today === this.day ? this.filesToday : 0,
      files_written_total: this.filesTotal,
      rows_written_total: this.rowsTotal,
      bytes_written_total: this.bytesTotal,
      avg_write_latency_ms: Math.round(avg * 100) / 100,
      write_errors: this.errors,
      last_file: this.lastFile,
      last_error: this.lastError,
    };
  }
}
