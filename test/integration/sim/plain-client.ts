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
  /** Diffs with no levels at all (Binance sends them). */
  emptyDiffs = 0;
  /** Diffs already seen (u ≤ the previous u), e.g. the overlap of two connections during a rotation. */
  repeats = 0;
  /** Step 4 taken: a snapshot older than the first buffered diff, fetched again. */
  refetches = 0;
  /** Levels diffs set beyond the snapshot's worst price (a book deeper than the snapshot). */
  levelsOutsideSnapshot = 0;
  /**
   * The snapshot's worst bid and ask: beyond them the local book is unknown until a level changes (the
   * snapshot holds at most 5,000 levels per side), so books are compared only within this band.
   */
  band: { minBid: number; maxAsk: number } | undefined;
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
    /** Record every n-th applied diff's book (1 = all); deep books are costly to serialize. */
    private readonly recordEvery = 1,
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
    if (this.prevU !== undefined && ev.final_update_id <= this.prevU) {
      this.repeats += 1;
      return;
    }
    this.diffs += 1;
    if (ev.bids.length === 0 && ev.asks.length === 0) this.emptyDiffs += 1;
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
        if (firstU !== undefined && snap.lastUpdateId < firstU) {
          // Step 4: too old, fetch again (after a breath, not in a tight loop).
          this.refetches += 1;
          await sleep(20);
          continue;
        }
        if (this.synced) return;
        // REST renders 8 decimals, SBE gives exact mantissas: key levels by the normalized price.
        const norm = (l: [string, string][]) => new Map(l.map(([p, q]) => [normalizeDecimal(p), q]));
        this.bids = norm(snap.bids);
        this.asks = norm(snap.asks);
        this.bookId = snap.lastUpdateId;
        this.band = {
          minBid: snap.bids.length >= 5000 ? Number(snap.bids[snap.bids.length - 1][0]) : 0,
          maxAsk: snap.asks.length >= 5000 ? Number(snap.asks[snap.asks.length - 1][0]) : Infinity,
        };
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
      if (this.band && Number(p) < this.band.minBid) this.levelsOutsideSnapshot += 1;
      if (Number(q) === 0) this.bids.delete(normalizeDecimal(p));
      else this.bids.set(normalizeDecimal(p), q);
    }
    for (const [p, q] of ev.asks) {
      if (this.band && Number(p) > this.band.maxAsk) this.levelsOutsideSnapshot += 1;
      if (Number(q) === 0) this.asks.delete(normalizeDecimal(p));
      else this.asks.set(normalizeDecimal(p), q);
    }
    this.bookId = ev.final_update_id;
    this.applied += 1;
    if (this.recordBooks && this.applied % this.recordEvery === 0) {
      const book = this.inBand(normalizeBook({ lastUpdateId: this.bookId, bids: [...this.bids], asks: [...this.asks] }));
      this.booksAt.set(this.bookId, JSON.stringify(book));
    }
  }

  private applied = 0;

  /** A book cut to the price band this client knows exactly (the whole book when the snapshot was shallow). */
  inBand(b: BookState): BookState {
    const band = this.band ?? { minBid: 0, maxAsk: Infinity };
    return {
      lastUpdateId: b.lastUpdateId,
      bids: b.bids.filter(([p]) => Number(p) >= band.minBid),
      asks: b.asks.filter(([p]) => Number(p) <= band.maxAsk),
    };
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

export interface ShutdownSeen {
  form: 'plain' | 'combined';
  atMs: number;
}

/**
 * One logical feed over a chain of connections, as a client follows serverShutdown: on the notice it opens the
 * next connection at once and buffers it, keeps reading the old one until the venue closes it, then continues
 * from the new one (frames already seen are skipped by the consumer). Accepts both serverShutdown forms.
 */
export class RotatingFeed {
  readonly shutdowns: ShutdownSeen[] = [];
  connections = 0;
  private current: WebSocket | undefined;
  private next: { ws?: WebSocket; buffered: Buffer[]; ready: Promise<void> } | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly onFrame: (frame: Uint8Array) => void,
  ) {}

  async start(): Promise<void> {
    this.current = await this.open((d) => this.onFrame(new Uint8Array(d)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.next?.ready.catch(() => undefined);
    for (const ws of [this.current, this.next?.ws]) ws?.terminate();
  }

  private async open(onBinary: (d: Buffer) => void): Promise<WebSocket> {
    this.connections += 1;
    const ref: { ws?: WebSocket } = {};
    const ws = await connect(this.url, undefined, (d, isBinary) => {
      if (isBinary) onBinary(d);
      else this.onText(d.toString(), ref.ws);
    });
    ref.ws = ws;
    ws.on('close', () => {
      if (ws === this.current) void this.switchOver();
    });
    return ws;
  }

  private onText(text: string, from: WebSocket | undefined): void {
    const msg = JSON.parse(text) as { e?: string; stream?: string; data?: { e?: string } };
    const form = msg.e === 'serverShutdown' ? 'plain' : msg.data?.e === 'serverShutdown' ? 'combined' : undefined;
    if (!form) return;
    this.shutdowns.push({ form, atMs: Date.now() });
    if (this.stopped) return;
    if (from !== this.current) {
      // The next connection is told to go before it took over: rotate again right after the switch.
      this.shutdownPending = true;
      return;
    }
    this.openNext();
  }

  private shutdownPending = false;

  private openNext(): void {
    if (this.next) return;
    const next: { ws?: WebSocket; buffered: Buffer[]; ready: Promise<void> } = { buffered: [], ready: Promise.resolve() };
    next.ready = this.open((d) => next.buffered.push(d)).then((ws) => {
      next.ws = ws;
    });
    this.next = next;
  }

  private async switchOver(): Promise<void> {
    const next = this.next;
    if (!next || this.stopped) return;
    await next.ready;
    this.current = next.ws;
    this.next = undefined;
    for (const d of next.buffered) this.onFrame(new Uint8Array(d));
    next.buffered.length = 0;
    // From now on the new connection feeds the consumer directly.
    next.ws?.removeAllListeners('message');
    next.ws?.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) this.onFrame(new Uint8Array(d));
      else this.onText(d.toString(), next.ws);
    });
    if (this.shutdownPending) {
      this.shutdownPending = false;
      this.openNext();
    }
  }
}
