import type { MarketEvent } from '../core/events.js';
import { StreamSequenceMonitor } from '../core/stream-sequence.js';
import type { StreamDatasetName, StreamRow } from './datasets.js';
import { DEFAULT_BRONZE_PREFIX, hourIndex, newestRangeEnd, partitionPrefix, rangeFileKey, streamHoleKey } from './keys.js';
import type { LakeWriter } from './lake-writer.js';
import { KeyedSerializer } from './serial.js';
import { approxRowBytes, cutFiles, eventRow, filledTradeRow, type ArchiveRow, type EventDataset, type FilledTrade, type RecordMeta } from './stream-rows.js';

/** Encodes rows of one whole-stream dataset into a Parquet file (a worker thread in the service). */
export type StreamRowsEncoder = (dataset: StreamDatasetName, rows: StreamRow[]) => Promise<Uint8Array>;

/** Fetches the trades with ids in [fromId, toId] the venue still serves (fewer when it no longer has them). */
export type TradeFiller = (symbol: string, fromId: number, toId: number) => Promise<FilledTrade[]>;

export interface StreamHole {
  symbol: string;
  stream: 'depth' | 'trade';
  expected: number;
  got: number;
  missing: number;
  beforeEventTsUs: number | null;
  afterEventTsUs: number;
  detectedMs: number;
  filled: number;
  status: 'open' | 'partial' | 'filled';
  fillError?: string;
}

export interface StreamArchiverHooks {
  onEvent?(dataset: EventDataset): void;
  /** An event at or below the last one seen of its symbol and stream (a Kinesis re-delivery or a replay). */
  onDuplicate?(dataset: EventDataset): void;
  onHole?(hole: StreamHole): void;
  /** Rows skipped at flush because the lake already holds them (a restart re-reading past its checkpoint). */
  onAlreadyArchived?(dataset: EventDataset, rows: number): void;
  onFile?(info: { dataset: StreamDatasetName; key: string; rows: number; bytes: number }): void;
  onFlush?(info: { files: number; rows: number; seconds: number }): void;
}

export interface StreamArchiverOptions {
  writer: LakeWriter;
  encode: StreamRowsEncoder;
  bronzePrefix?: string;
  fill?: TradeFiller;
  /** Most rows per file (bounds the encoder's memory). Default 100 000. */
  maxRowsPerFile?: number;
  /** Flush everything once this many rows are buffered. Default 200 000. */
  maxBufferedRows?: number;
  /** Flush everything once the buffered rows weigh about this much. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Flush everything once the oldest buffered row waited this long. Default 60 s. */
  flushIntervalMs?: number;
  hooks?: StreamArchiverHooks;
  now?: () => number;
}

interface Buffer {
  dataset: EventDataset;
  symbol: string;
  rows: ArchiveRow[];
}

const STREAM_OF: Partial<Record<MarketEvent['type'], StreamHole['stream']>> = { depth: 'depth', trade: 'trade' };

/**
 * The whole stream into the lake: events in Kinesis order → sequence check per symbol and stream (duplicates
 * dropped, holes recorded and, for trades, filled from the REST API) → per-dataset buffers → range files.
 *
 * Exactly once across restarts, with the checkpoint saved only after a flush that emptied every buffer:
 * a restart re-reads what was not flushed, and a flush interrupted between its files left at most files whose
 * rows are re-read. Before writing into an hour partition for the first time since start, the flush lists it
 * and skips rows at or below the highest id there, so those rows are not written twice; within a run, each
 * written file raises that mark.
 */
export class StreamArchiver {
  private readonly o: Required<Omit<StreamArchiverOptions, 'writer' | 'encode' | 'fill' | 'hooks'>>;
  private readonly hooks: StreamArchiverHooks;
  private readonly serial = new KeyedSerializer();
  private readonly seq = new StreamSequenceMonitor();
  private readonly buffers = new Map<string, Buffer>();
  /** Filled trades, apart from the stream's rows (their ids lie below what the stream has reached). */
  private fills: ArchiveRow[][] = [];
  private holes: StreamHole[] = [];
  /** Last event time per symbol and stream (the "before" of a hole). */
  private readonly lastTs = new Map<string, number>();
  /** Highest id in the lake per dataset and symbol. */
  private readonly written = new Map<string, number>();
  private readonly listed = new Set<string>();
  private rows = 0;
  private bytes = 0;
  private oldestMs: number | undefined;
  private readonly counts = { events: 0, duplicates: 0, holes: 0, holes_open: 0, filled: 0, files: 0, rows_written: 0, already_archived: 0 };
  private lastHole: StreamHole | undefined;
  private lastFlushMs: number | undefined;

  constructor(private readonly opts: StreamArchiverOptions) {
    this.hooks = opts.hooks ?? {};
    this.o = {
      bronzePrefix: opts.bronzePrefix ?? DEFAULT_BRONZE_PREFIX,
      maxRowsPerFile: opts.maxRowsPerFile ?? 100_000,
      maxBufferedRows: opts.maxBufferedRows ?? 200_000,
      maxBufferedBytes: opts.maxBufferedBytes ?? 64 * 1024 * 1024,
      flushIntervalMs: opts.flushIntervalMs ?? 60_000,
      now: opts.now ?? Date.now,
    };
  }

  /** Rows waiting for a flush (holes and filled trades included). */
  get bufferedRows(): number {
    return this.rows + this.holes.length;
  }

  /** True when nothing waits for a flush: a checkpoint saved now loses nothing. */
  get drained(): boolean {
    return this.bufferedRows === 0;
  }

  /** Buffer one batch of decoded events (in Kinesis order); flushes when a bound is reached. */
  ingest(items: ReadonlyArray<{ ev: MarketEvent; meta?: RecordMeta }>): Promise<void> {
    return this.serial.run('archive', async () => {
      for (const { ev, meta } of items) await this.add(ev, meta ?? {});
      if (this.flushDue()) await this.flushNow();
    });
  }

  /** Flush when the time bound has passed (the service's timer; a quiet stream still reaches the lake). */
  flushIfDue(): Promise<boolean> {
    return this.serial.run('archive', async () => {
      if (!this.flushDue()) return false;
      await this.flushNow();
      return true;
    });
  }

  /** Write everything buffered. Rows that could not be written stay buffered (the error is thrown). */
  flush(): Promise<void> {
    return this.serial.run('archive', () => this.flushNow());
  }

  stats(): Record<string, unknown> {
    return {
      ...this.counts,
      buffered_rows: this.bufferedRows,
      buffered_bytes: this.bytes,
      last_flush: this.lastFlushMs ? new Date(this.lastFlushMs).toISOString() : null,
      last_hole: this.lastHole ?? null,
      sequences: this.seq.positions(),
    };
  }

  /** Holes seen since start whose ids were not (all) filled. */
  get openHoles(): number {
    return this.counts.holes_open;
  }

  get lastHoleSeen(): StreamHole | undefined {
    return this.lastHole;
  }

  private flushDue(): boolean {
    if (this.bufferedRows === 0) return false;
    if (this.rows >= this.o.maxBufferedRows || this.bytes >= this.o.maxBufferedBytes) return true;
    return this.oldestMs !== undefined && this.o.now() - this.oldestMs >= this.o.flushIntervalMs;
  }

  private push(key: string, r: ArchiveRow): void {
    let b = this.buffers.get(key);
    if (!b) {
      b = { dataset: r.dataset, symbol: r.symbol, rows: [] };
      this.buffers.set(key, b);
    }
    b.rows.push(r);
    this.count(r, 1);
  }

  private count(r: ArchiveRow, sign: 1 | -1): void {
    this.rows += sign;
    this.bytes += sign * approxRowBytes(r);
    if (sign > 0) this.oldestMs ??= this.o.now();
  }

  private async add(ev: MarketEvent, meta: RecordMeta): Promise<void> {
    const r = eventRow(ev, meta);
    const verdict = this.seq.check(ev);
    if (verdict.kind === 'duplicate') {
      this.counts.duplicates++;
      this.hooks.onDuplicate?.(r.dataset);
      return;
    }
    const tsKey = `${ev.symbol}\u0000${ev.type}`;
    const stream = STREAM_OF[ev.type];
    if (verdict.kind === 'gap' && stream) {
      const hole: StreamHole = {
        symbol: ev.symbol,
        stream,
        expected: verdict.expected,
        got: verdict.got,
        missing: verdict.missing,
        beforeEventTsUs: this.lastTs.get(tsKey) ?? null,
        afterEventTsUs: ev.event_ts,
        detectedMs: this.o.now(),
        filled: 0,
        status: 'open',
      };
      if (stream === 'trade' && this.opts.fill) await this.fillTrades(hole);
      this.counts.holes++;
      if (hole.status !== 'filled') this.counts.holes_open++;
      this.holes.push(hole);
      this.lastHole = hole;
      this.hooks.onHole?.(hole);
    }
    this.lastTs.set(tsKey, ev.event_ts);
    this.counts.events++;
    this.hooks.onEvent?.(r.dataset);
    this.push(`${r.dataset}\u0000${r.symbol}`, r);
  }

  private async fillTrades(hole: StreamHole): Promise<void> {
    const fill = this.opts.fill as TradeFiller;
    let trades: FilledTrade[];
    try {
      trades = await fill(hole.symbol, hole.expected, hole.got - 1);
    } catch (err) {
      hole.fillError = err instanceof Error ? err.message : String(err);
      return;
    }
    const fetchedAt = this.o.now();
    const byId = new Map<number, FilledTrade>();
    for (const t of trades) if (t.id >= hole.expected && t.id < hole.got) byId.set(t.id, t);
    const rows = [...byId.values()].sort((a, b) => a.id - b.id).map((t) => filledTradeRow(hole.symbol, t, fetchedAt));
    hole.filled = rows.length;
    hole.status = rows.length === 0 ? 'open' : rows.length === hole.missing ? 'filled' : 'partial';
    this.counts.filled += rows.length;
    if (rows.length > 0) {
      this.fills.push(rows);
      for (const r of rows) this.count(r, 1);
    }
  }

  private async flushNow(): Promise<void> {
    if (this.bufferedRows === 0) return;
    const started = this.o.now();
    let files = 0;
    let rows = 0;
    for (const [key, b] of this.buffers) {
      const mark = await this.lakeMark(b);
      const chunks = cutFiles(b.rows, this.o.maxRowsPerFile, mark);
      const skipped = b.rows.length - chunks.reduce((n, c) => n + c.length, 0);
      if (skipped > 0) {
        this.counts.already_archived += skipped;
        this.hooks.onAlreadyArchived?.(b.dataset, skipped);
      }
      let done = b.rows.length - chunks.reduce((n, c) => n + c.length, 0);
      try {
        for (const chunk of chunks) {
          await this.writeRange(b.dataset, b.symbol, chunk);
          this.written.set(key, chunk[chunk.length - 1].id);
          done += chunk.length;
          files++;
          rows += chunk.length;
        }
      } finally {
        for (const r of b.rows.slice(0, done)) this.count(r, -1);
        b.rows = b.rows.slice(done);
        if (b.rows.length === 0) this.buffers.delete(key);
      }
    }
    while (this.fills.length > 0) {
      const group = this.fills[0];
      for (const chunk of cutFiles(group, this.o.maxRowsPerFile)) {
        await this.writeRange('trades', group[0].symbol, chunk);
        files++;
        rows += chunk.length;
      }
      for (const r of group) this.count(r, -1);
      this.fills.shift();
    }
    while (this.holes.length > 0) {
      const h = this.holes[0];
      const key = streamHoleKey(this.o.bronzePrefix, h.symbol, h.stream, h.expected, h.got, Math.floor(h.afterEventTsUs / 1000));
      await this.writeFile('stream_holes', key, [holeRow(h)]);
      this.holes.shift();
      files++;
    }
    if (this.rows === 0) this.oldestMs = undefined;
    this.lastFlushMs = this.o.now();
    this.hooks.onFlush?.({ files, rows, seconds: (this.lastFlushMs - started) / 1000 });
  }

  /**
   * The highest id the lake holds for this buffer's dataset and symbol. The first time a partition is written
   * since start, it is listed: a flush cut short before its checkpoint may have left files there.
   */
  private async lakeMark(b: Buffer): Promise<number | undefined> {
    const key = `${b.dataset}\u0000${b.symbol}`;
    let mark = this.written.get(key);
    const hours = new Set<number>();
    for (const r of b.rows) if (mark === undefined || r.id > mark) hours.add(hourIndex(r.tsMs));
    for (const h of hours) {
      const prefix = partitionPrefix(this.o.bronzePrefix, b.dataset, b.symbol, h * 3_600_000);
      if (this.listed.has(prefix)) continue;
      const end = newestRangeEnd(b.dataset, await this.opts.writer.store.list(prefix));
      this.listed.add(prefix);
      if (end !== undefined && (mark === undefined || end > mark)) mark = end;
    }
    if (mark !== undefined) this.written.set(key, mark);
    return mark;
  }

  private async writeRange(dataset: EventDataset, symbol: string, chunk: ArchiveRow[]): Promise<void> {
    const key = rangeFileKey(this.o.bronzePrefix, dataset, symbol, chunk[0].tsMs, chunk[0].id, chunk[chunk.length - 1].id);
    await this.writeFile(dataset, key, chunk.map((r) => r.row));
  }

  private async writeFile(dataset: StreamDatasetName, key: string, rows: StreamRow[]): Promise<void> {
    const body = await this.opts.encode(dataset, rows);
    await this.opts.writer.write(key, body, rows.length);
    this.counts.files++;
    this.counts.rows_written += rows.length;
    this.hooks.onFile?.({ dataset, key, rows: rows.length, bytes: body.byteLength });
  }
}

export function holeRow(h: StreamHole): StreamRow {
  return {
    symbol: h.symbol,
    stream: h.stream,
    expected_id: h.expected,
    got_id: h.got,
    missing: h.missing,
    before_event_ts_us: h.beforeEventTsUs,
    after_event_ts_us: h.afterEventTsUs,
    detected_ts_ms: h.detectedMs,
    filled: h.filled,
    status: h.status,
  };
}
