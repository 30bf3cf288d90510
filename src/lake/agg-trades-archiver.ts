import type { AggTradesQuery } from '../binance/rest-client.js';
import type { RestAggTrade } from '../binance/rest-types.js';
import type { CursorStore } from './cursor-store.js';
import { InlineParquetEncoder, type ParquetEncoder } from './parquet-encoder.js';
import { DEFAULT_BRONZE_PREFIX, hourIndex, newestRangeEnd, rangeFileKey, symbolPrefix } from './keys.js';
import type { LakeWriter } from './lake-writer.js';
import { KeyedSerializer } from './serial.js';

/** The venue skipped aggregate ids: archiving past the hole would hide lost trades, so we stop. */
export class AggTradeGapError extends Error {
  override readonly name = 'AggTradeGapError';
  constructor(
    readonly symbol: string,
    readonly expectedId: number,
    readonly gotId: number,
  ) {
    super(`${symbol}: aggTrades not contiguous: expected id ${expectedId}, got ${gotId}; nothing past ${expectedId - 1} archived`);
  }
}

export interface AggTradesSource {
  aggTrades(q: AggTradesQuery): Promise<RestAggTrade[]>;
}

export interface AggTradesArchiverOptions {
  client: AggTradesSource;
  writer: LakeWriter;
  /** Parquet encoding (a worker thread in the service; inline by default). */
  encoder?: ParquetEncoder;
  cursors: CursorStore;
  bronzePrefix?: string;
  /** Page size (Binance max 1000). */
  pageLimit?: number;
  /** With no cursor and an empty lake, start with the trades of this many ms before now. Default 10 min. */
  initialLookbackMs?: number;
  /** Upper bound on pages per poll, so one poll cannot run for ever behind a fast market. Default 500. */
  maxPagesPerPoll?: number;
  /** A file is cut when it reaches this many rows even inside one hour (bounds memory). Default 100 000. */
  maxRowsPerFile?: number;
  now?: () => number;
}

export interface ArchiveResult {
  files: string[];
  count: number;
  firstId: number | undefined;
  lastId: number | undefined;
  /** Whether the poll stopped at maxPagesPerPoll with more data waiting. */
  truncated: boolean;
}

export function aggTradesCursorName(symbol: string): string {
  return `agg_trades:${symbol}`;
}

/**
 * Archives every aggregate trade of a symbol into `agg_trades` files, one or more per UTC hour, with
 * ids contiguous across files. The cursor advances only after a file is stored, so a crash re-fetches
 * at most the unstored tail.
 */
export class AggTradesArchiver {
  private readonly o: Required<Omit<AggTradesArchiverOptions, 'client' | 'writer' | 'cursors' | 'encoder'>>;
  private readonly serial = new KeyedSerializer();
  private readonly encoder: ParquetEncoder;

  constructor(private readonly opts: AggTradesArchiverOptions) {
    this.encoder = opts.encoder ?? new InlineParquetEncoder();
    this.o = {
      bronzePrefix: opts.bronzePrefix ?? DEFAULT_BRONZE_PREFIX,
      pageLimit: opts.pageLimit ?? 1000,
      initialLookbackMs: opts.initialLookbackMs ?? 10 * 60_000,
      maxPagesPerPoll: opts.maxPagesPerPoll ?? 500,
      maxRowsPerFile: opts.maxRowsPerFile ?? 100_000,
      now: opts.now ?? Date.now,
    };
  }

  /** The last archived aggregate id: the cursor, else the newest file name in the lake. */
  async resumePoint(symbol: string): Promise<number | undefined> {
    const fromCursor = await this.opts.cursors.get(aggTradesCursorName(symbol));
    if (fromCursor !== undefined) return fromCursor;
    const keys = await this.opts.writer.store.list(symbolPrefix(this.o.bronzePrefix, 'agg_trades', symbol));
    return newestRangeEnd('agg_trades', keys);
  }

  poll(symbol: string): Promise<ArchiveResult> {
    return this.serial.run(symbol, () => this.pollNow(symbol));
  }

  private async pollNow(symbol: string): Promise<ArchiveResult> {
    const { pageLimit } = this.o;
    const result: ArchiveResult = { files: [], count: 0, firstId: undefined, lastId: undefined, truncated: false };
    let last = await this.resumePoint(symbol);
    let buffer: RestAggTrade[] = [];

    const flush = async (): Promise<void> => {
      if (buffer.length === 0) return;
      const rows = buffer;
      buffer = [];
      const first = rows[0].a;
      const lastId = rows[rows.length - 1].a;
      const key = rangeFileKey(this.o.bronzePrefix, 'agg_trades', symbol, rows[0].T, first, lastId);
      await this.opts.writer.write(key, await this.encoder.aggTrades(symbol, rows), rows.length);
      await this.opts.cursors.set(aggTradesCursorName(symbol), lastId);
      result.files.push(key);
      result.count += rows.length;
      result.firstId ??= first;
      result.lastId = lastId;
    };

    for (let pages = 0; ; pages++) {
      if (pages >= this.o.maxPagesPerPoll) {
        result.truncated = true;
        break;
      }
      const page =
        last === undefined
          ? await this.opts.client.aggTrades({ symbol, startTime: this.o.now() - this.o.initialLookbackMs, limit: pageLimit })
          : await this.opts.client.aggTrades({ symbol, fromId: last + 1, limit: pageLimit });
      let expected = last === undefined ? page[0]?.a : last + 1;
      for (const t of page) {
        if (t.a !== expected) {
          await flush(); // keep what was verified before the hole
          throw new AggTradeGapError(symbol, expected ?? t.a, t.a);
        }
        const prev = buffer[buffer.length - 1];
        if (prev && (hourIndex(prev.T) !== hourIndex(t.T) || buffer.length >= this.o.maxRowsPerFile)) await flush();
        buffer.push(t);
        expected = t.a + 1;
        last = t.a;
      }
      if (page.length < pageLimit) break;
    }
    await flush();
    return result;
  }
}
