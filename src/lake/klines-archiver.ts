import type { KlinesQuery } from '../binance/rest-client.js';
import type { RestKline } from '../binance/rest-types.js';
import type { CursorStore } from './cursor-store.js';
import { InlineParquetEncoder, type ParquetEncoder } from './parquet-encoder.js';
import { DEFAULT_BRONZE_PREFIX, hourIndex, newestRangeEnd, rangeFileKey, symbolPrefix } from './keys.js';
import type { LakeWriter } from './lake-writer.js';
import { KeyedSerializer } from './serial.js';

const MINUTE = 60_000;

export interface KlinesSource {
  klines(q: KlinesQuery): Promise<RestKline[]>;
}

export interface KlinesArchiverOptions {
  client: KlinesSource;
  writer: LakeWriter;
  /** Parquet encoding (a worker thread in the service; inline by default). */
  encoder?: ParquetEncoder;
  cursors: CursorStore;
  bronzePrefix?: string;
  pageLimit?: number;
  /** With no cursor and an empty lake, start this far back. Default 60 min. */
  initialLookbackMs?: number;
  maxPagesPerPoll?: number;
  /** A kline counts as closed only this long after its close time (local vs venue clock skew). Default 1000. */
  closedGraceMs?: number;
  now?: () => number;
}

export interface KlinesArchiveResult {
  files: string[];
  count: number;
  firstOpenTime: number | undefined;
  lastOpenTime: number | undefined;
  /** Minutes the venue has no kline for (exchange maintenance); files never span a hole. */
  missingMinutes: number;
  truncated: boolean;
}

export function klinesCursorName(symbol: string): string {
  return `klines_1m:${symbol}`;
}

/**
 * Archives closed 1-minute klines into `klines_1m` files (per UTC hour). A kline is closed once its
 * close time has passed; the open one is left for the next poll. Unlike aggregate ids, minutes without
 * a kline do happen at the venue (maintenance), so a hole splits files and is reported, not fatal.
 */
export class KlinesArchiver {
  private readonly serial = new KeyedSerializer();
  private readonly bronzePrefix: string;
  private readonly pageLimit: number;
  private readonly lookback: number;
  private readonly maxPages: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly encoder: ParquetEncoder;

  constructor(private readonly opts: KlinesArchiverOptions) {
    this.bronzePrefix = opts.bronzePrefix ?? DEFAULT_BRONZE_PREFIX;
    this.pageLimit = opts.pageLimit ?? 1000;
    this.lookback = opts.initialLookbackMs ?? 60 * MINUTE;
    this.maxPages = opts.maxPagesPerPoll ?? 100;
    this.graceMs = opts.closedGraceMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.encoder = opts.encoder ?? new InlineParquetEncoder();
  }

  /** Open time of the last archived kline: the cursor, else the newest file name in the lake. */
  async resumePoint(symbol: string): Promise<number | undefined> {
    const fromCursor = await this.opts.cursors.get(klinesCursorName(symbol));
    if (fromCursor !== undefined) return fromCursor;
    const keys = await this.opts.writer.store.list(symbolPrefix(this.bronzePrefix, 'klines_1m', symbol));
    return newestRangeEnd('klines_1m', keys);
  }

  poll(symbol: string): Promise<KlinesArchiveResult> {
    return this.serial.run(symbol, () => this.pollNow(symbol));
  }

  private async pollNow(symbol: string): Promise<KlinesArchiveResult> {
    const result: KlinesArchiveResult = {
      files: [], count: 0, firstOpenTime: undefined, lastOpenTime: undefined, missingMinutes: 0, truncated: false,
    };
    const resumed = await this.resumePoint(symbol);
    let start = resumed === undefined ? Math.floor((this.now() - this.lookback) / MINUTE) * MINUTE : resumed + MINUTE;
    let buffer: RestKline[] = [];

    const flush = async (): Promise<void> => {
      if (buffer.length === 0) return;
      const rows = buffer;
      buffer = [];
      const first = rows[0][0];
      const last = rows[rows.length - 1][0];
      const key = rangeFileKey(this.bronzePrefix, 'klines_1m', symbol, first, first, last);
      await this.opts.writer.write(key, await this.encoder.klines(symbol, rows), rows.length);
      await this.opts.cursors.set(klinesCursorName(symbol), last);
      result.files.push(key);
      result.count += rows.length;
      result.firstOpenTime ??= first;
      result.lastOpenTime = last;
    };

    let expected: number | undefined = resumed === undefined ? undefined : resumed + MINUTE;
    for (let pages = 0; ; pages++) {
      if (pages >= this.maxPages) {
        result.truncated = true;
        break;
      }
      const now = this.now();
      const page = await this.opts.client.klines({ symbol, interval: '1m', startTime: start, limit: this.pageLimit });
      let sawOpen = false;
      for (const k of page) {
        const [openTime, , , , , , closeTime] = k;
        if (expected !== undefined && openTime < expected) continue; // already archived
        if (closeTime + this.graceMs >= now) {
          sawOpen = true;
          break;
        }
        const prev = buffer[buffer.length - 1];
        if (expected !== undefined && openTime > expected) {
          result.missingMinutes += (openTime - expected) / MINUTE;
          await flush();
        } else if (prev && hourIndex(prev[0]) !== hourIndex(openTime)) {
          await flush();
        }
        buffer.push(k);
        expected = openTime + MINUTE;
      }
      if (sawOpen || page.length < this.pageLimit) break;
      start = page[page.length - 1][0] + MINUTE;
    }
    await flush();
    return result;
  }
}
