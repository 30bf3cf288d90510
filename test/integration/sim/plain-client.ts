/**
 * A deliberately plain venue client for the simulator tests (ws + fetch + decodeFrame — not the project's
 * ingestor): it follows Binance's documented diff-depth sync procedure (PROTOCOL.md §4) and records every
 * sequence gap it sees.
 */
import WebSocket from 'ws';
import { normalizeDecimal } from '../../../src/core/decimal.js';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import type { DepthEvent, MarketEvent } from '../../../src/core/events.js';

export const API_KEY = 'test-key';

export interface BookState {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

/** A book as Binance-style [price, qty] arrays, normalized and sorted best first (for exact comparison). */
export function normalizeBook(b: { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }): BookState {
  const norm = (levels: [string, string][], desc: boolean): [string, string][] =>
    levels
      .map(([p, q]) => [normalizeDecimal(p), normalizeDecimal(q)] as [string, string])
      .sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0])));
  return { lastUpdateId: b.lastUpdateId, bids: norm(b.bids, true), asks: norm(b.asks, false) };
}

export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/**
 * Open a WebSocket. `onMessage` is attached before the handshake completes: frames that arrive with the
 * upgrade response are emitted before the caller's `await` resumes and would otherwise be missed.
 */
export function connect(
  url: string,
  headers: Record<string, string> = { 'X-MBX-APIKEY': API_KEY },
  onMessage?: (data: Buffer, isBinary: boolean) => void,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    if (onMessage) ws.on('message', onMessage);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: HTTP ${res.statusCode}`)));
  });
}

export interface Gap {
  /** First and last missing update id. */
  from: number;
  to: number;
}

/**
 * Diff-depth book sync with Binance's procedure. Gap detection runs on the raw diff sequence (U must be the
 * previous u + 1), independently of the book; on a gap the book is rebuilt from a fresh snapshot.
 */
export class PlainBookClient {
  readonly gaps: Gap[] = [];
  malformed = 0;
  diffs = 0;
  /** Book serialized after each applied diff, keyed by its u (compared with /sim/truth/book later). */
  readonly booksAt = new Map<number, string>();
  lastU = 0;
  private prevU: number | undefined;
  private synced = false;
  private syncing = false;
  private buffer: DepthEvent[] = [];
  private bids = new Map<string, string>();
  private asks = new Map<string, string>();
  private bookId = 0;

  constructor(
    private readonly restUrl: string,
    private readonly symbol: string,
    private readonly recordBooks: boolean,
  ) {}

  onFrame(frame: Uint8Array): void {
    let events: MarketEvent[];
    try {
      events = decodeFrame(frame);
    } catch {
      this.malformed += 1;
      return;
    }
    for (const ev of events) if (ev.type === 'depth') this.onDiff(ev);
  }

  private onDiff(ev: DepthEvent): void {
    this.diffs += 1;
    if (this.prevU !== undefined && ev.first_update_id !== this.prevU + 1) {
      this.gaps.push({ from: this.prevU + 1, to: ev.first_update_id - 1 });
      this.synced = false;
    }
    this.prevU = ev.final_update_id;
    this.lastU = ev.final_update_id;
    if (!this.synced) {
      this.buffer.push(ev);
      if (!this.syncing) void this.sync();
      return;
    }
    this.apply(ev);
  }

  /** Steps 3-7 of the documented procedure. */
  private async sync(): Promise<void> {
    this.syncing = true;
    try {
      for (;;) {
        const snap = await getJson<BookState>(`${this.restUrl}/api/v3/depth?symbol=${this.symbol}&limit=5000`);
        const firstU = this.buffer[0]?.first_update_id;
        if (firstU !== undefined && snap.lastUpdateId < firstU) continue; // step 4: too old, fetch again
        if (this.synced) return;
        // REST renders 8 decimals, SBE gives exact mantissas: key levels by the normalized price.
        const norm = (l: [string, string][]) => new Map(l.map(([p, q]) => [normalizeDecimal(p), q]));
        this.bids = norm(snap.bids);
        this.asks = norm(snap.asks);
        this.bookId = snap.lastUpdateId;
        const pending = this.buffer.filter((e) => e.final_update_id > snap.lastUpdateId); // step 5
        this.buffer = [];
        this.synced = true;
        for (const e of pending) {
          if (!this.synced) {
            this.buffer.push(e);
            continue;
          }
          this.apply(e);
        }
        if (this.synced) return;
      }
    } finally {
      this.syncing = false;
      if (!this.synced && this.buffer.length > 0) void this.sync();
    }
  }

  private apply(ev: DepthEvent): void {
    if (ev.final_update_id <= this.bookId) return;
    if (ev.first_update_id > this.bookId + 1) {
      // The procedure says: discard the book and restart.
      this.synced = false;
      this.buffer = [ev];
      if (!this.syncing) void this.sync();
      return;
    }
    for (const [p, q] of ev.bids) {
      if (Number(q) === 0) this.bids.delete(normalizeDecimal(p));
      else this.bids.set(normalizeDecimal(p), q);
    }
    for (const [p, q] of ev.asks) {
      if (Number(q) === 0) this.asks.delete(normalizeDecimal(p));
      else this.asks.set(normalizeDecimal(p), q);
    }
    this.bookId = ev.final_update_id;
    if (this.recordBooks) {
      const book = normalizeBook({ lastUpdateId: this.bookId, bids: [...this.bids], asks: [...this.asks] });
      this.booksAt.set(this.bookId, JSON.stringify(book));
    }
  }
}

/** Merge [from, to] ranges that touch into maximal runs. */
export function mergeRanges(ranges: Gap[]): Gap[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: Gap[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
