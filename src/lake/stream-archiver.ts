import type { MarketEvent } from '../core/events.js';
import { StreamSequenceMonitor } from '../core/stream-sequence.js';
import type { StreamDatasetName, StreamRow } from './datasets.js';
import { columnsOf, StreamColumnBuffer, StreamRowError, type StreamColumns } from './stream-columns.js';
import { DEFAULT_BRONZE_PREFIX, hourIndex, newestRangeEnd, partitionPrefix, rangeFileKey, streamHoleKey } from './keys.js';
import type { LakeWriter } from './lake-writer.js';
import { KeyedSerializer } from './serial.js';
import { cutFiles, eventRow, filledTradeRow, type EventDataset, type FilledTrade, type RecordMeta } from './stream-rows.js';

/** Encodes a run of one whole-stream dataset's rows into a Parquet file (a worker thread in the service). */
export type StreamColumnsEncoder = (columns: StreamColumns) => Promise<Uint8Array>;

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
  /** An event whose row does not fit its dataset (a defect upstream): counted, never buffered. */
  onBadRow?(dataset: EventDataset, err: StreamRowError): void;
  onFile?(info: { dataset: StreamDatasetName; key: string; rows: number; bytes: number }): void;
  onFlush?(info: { files: number; rows: number; seconds: number }): void;
}

export interface StreamArchiverOptions {
  writer: LakeWriter;
  encode: StreamColumnsEncoder;
  bronzePrefix?: string;
  fill?: TradeFiller;
  /** Most rows per file (bounds the encoder's memory). Default 100 000. */
  maxRowsPerFile?: number;
  /** Flush everything once this many rows are buffered. Default 200 000. */
  maxBufferedRows?: number;
  /** Flush everything once the buffers hold this many bytes (their arrays, SBE bytes and strings). Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Flush everything once the oldest buffered row waited this long. Default 60 s. */
  flushIntervalMs?: number;
  hooks?: StreamArchiverHooks;
  now?: () => number;
}

interface Buffer {
  dataset: EventDataset;
  symbol: string;
  rows: StreamColumnBuffer;
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
  private fills: Buffer[] = [];
  private holes: StreamHole[] = [];
  /** Last event time per symbol and stream (the "before" of a hole). */
  private readonly lastTs = new Map<string, number>();
  /** Highest id in the lake per dataset and symbol. */
  private readonly written = new Map<string, number>();
  private readonly listed = new Set<string>();
  private rows = 0;
  private oldestMs: number | undefined;
  private readonly counts = { events: 0, bad_rows: 0, duplicates: 0, holes: 0, holes_open: 0, filled: 0, files: 0, rows_written: 0, already_archived: 0 };
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
      buffered_bytes: this.bufferedBytes,
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

  /** What the buffers hold, bytes (filled trades included). */
  get bufferedBytes(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.rows.bytes;
    for (const b of this.fills) n += b.rows.bytes;
    return n;
  }

  private flushDue(): boolean {
    if (this.bufferedRows === 0) return false;
    if (this.rows >= this.o.maxBufferedRows || this.bufferedBytes >= this.o.maxBufferedBytes) return true;
    return this.oldestMs !== undefined && this.o.now() - this.oldestMs >= this.o.flushIntervalMs;
  }

  private counted(n: number): void {
    this.rows += n;
    if (n > 0) this.oldestMs ??= this.o.now();
  }

  private async add(ev: MarketEvent, meta: RecordMeta): Promise<void> {
    const r = eventRow(ev, meta);
    const key = `${r.dataset}\u0000${r.symbol}`;
    let b = this.buffers.get(key);
    if (!b) {
      b = { dataset: r.dataset, symbol: r.symbol, rows: new StreamColumnBuffer(r.dataset) };
      this.buffers.set(key, b);
    }
    try {
      b.rows.push(r.row, r.id, r.tsMs);
    } catch (err) {
      if (!(err instanceof StreamRowError)) throw err;
      this.counts.bad_rows++;
      this.hooks.onBadRow?.(r.dataset, err);
      return;
    }
    const verdict = this.seq.check(ev);
    if (verdict.kind === 'duplicate') {
      b.rows.dropBack(1);
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
    this.counted(1);
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
    const rows = new StreamColumnBuffer('trades', byId.size);
    for (const t of [...byId.values()].sort((a, b) => a.id - b.id)) {
      const r = filledTradeRow(hole.symbol, t, fetchedAt);
      rows.push(r.row, r.id, r.tsMs);
    }
    hole.filled = rows.length;
    hole.status = rows.length === 0 ? 'open' : rows.length === hole.missing ? 'filled' : 'partial';
    this.counts.filled += rows.length;
    if (rows.length > 0) {
      this.fills.push({ dataset: 'trades', symbol: hole.symbol, rows });
      this.counted(rows.length);
    }
  }

  private async flushNow(): Promise<void> {
    if (this.bufferedRows === 0) return;
    const started = this.o.now();
    let files = 0;
    let rows = 0;
    for (const [key, b] of this.buffers) {
      const mark = await this.lakeMark(b);
      const ranges = cutFiles(b.rows, this.o.maxRowsPerFile, mark);
      const skipped = b.rows.length - ranges.reduce((n, c) => n + c.to - c.from, 0);
      if (skipped > 0) {
        this.counts.already_archived += skipped;
        this.hooks.onAlreadyArchived?.(b.dataset, skipped);
      }
      // Ids only rise within a buffer, so the rows already in the lake are the first ones.
      let done = ranges.length > 0 ? ranges[0].from : b.rows.length;
      try {
        for (const range of ranges) {
          await this.writeRange(b, range);
          this.written.set(key, b.rows.id(range.to - 1));
          done = range.to;
          files++;
          rows += range.to - range.from;
        }
      } finally {
        this.counted(-done);
        b.rows.dropFront(done);
        if (b.rows.length === 0) this.buffers.delete(key);
      }
    }
    while (this.fills.length > 0) {
      const group = this.fills[0];
      for (const range of cutFiles(group.rows, this.o.maxRowsPerFile)) {
        await this.writeRange(group, range);
        files++;
        rows += range.to - range.from;
      }
      this.counted(-group.rows.length);
      this.fills.shift();
    }
    while (this.holes.length > 0) {
      const h = this.holes[0];
      const key = streamHoleKey(this.o.bronzePrefix, h.symbol, h.stream, h.expected, h.got, Math.floor(h.afterEventTsUs / 1000));
      await this.writeFile(key, columnsOf('stream_holes', [holeRow(h)]));
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
    for (let i = 0; i < b.rows.length; i++) if (mark === undefined || b.rows.id(i) > mark) hours.add(hourIndex(b.rows.tsMs(i)));
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

  private async writeRange(b: Buffer, { from, to }: { from: number; to: number }): Promise<void> {
    const key = rangeFileKey(this.o.bronzePrefix, b.dataset, b.symbol, b.rows.tsMs(from), b.rows.id(from), b.rows.id(to - 1));
    await this.writeFile(key, b.rows.slice(from, to));
  }

  private async writeFile(key: string, columns: StreamColumns): Promise<void> {
    const body = await this.opts.encode(columns);
    await this.opts.writer.write(key, body, columns.length);
    this.counts.files++;
    this.counts.rows_written += columns.length;
    this.hooks.onFile?.({ dataset: columns.dataset, key, rows: columns.length, bytes: body.byteLength });
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
