/**
 * Runs atomic re-anchors for the REST mode: one at a time per symbol, coalescing requests that arrive while
 * one runs, retrying when the per-symbol minimum interval or another holder of the flag defers it, and
 * ignoring requests a later successful snapshot already covers. The swap itself is AtomicReanchor's.
 */
import type { BinanceRestClient } from '../binance/rest-client.js';
import type { DepthResponse, RestTrade } from '../binance/rest-types.js';
import type { TradeEvent } from '../core/events.js';
import { isRequestCovered } from '../core/gap-rules.js';
import { buildStagingState } from '../core/staging.js';
import type { DepthSnapshotArchiver } from '../lake/depth-snapshot-archiver.js';
import { correlationId, type Logger } from '../ops/logger.js';
import type { AtomicReanchor, ReanchorResult } from '../redis/reanchor.js';

/** REST /api/v3/trades rows as normalized trade events (source 'rest'; REST times are ms). */
export function restTradesToEvents(symbol: string, trades: readonly RestTrade[]): TradeEvent[] {
  return trades.map((t) => ({
    type: 'trade',
    symbol,
    event_ts: t.time * 1000,
    transact_ts: t.time * 1000,
    source: 'rest',
    trade_id: t.id,
    price: t.price,
    quantity: t.qty,
    is_buyer_maker: t.isBuyerMaker,
    sequence_id: t.id,
  }));
}

export interface ReanchorCoordinatorOptions {
  reanchor: AtomicReanchor;
  client: Pick<BinanceRestClient, 'depth' | 'trades'>;
  depthLimit: number;
  /** Levels per side in the staged ob (processing.order_book_levels, as the aggregator writes them). */
  obLevels: number;
  /** Recent trades fetched with the snapshot (Binance max 1000). */
  tradesLimit?: number;
  depthArchiver?: DepthSnapshotArchiver;
  logger: Logger;
  /** Retries after 'skipped' (another holder of the flag) or 'failed'. Default 3. */
  maxRetries?: number;
  /** Delay before retrying after 'skipped' / 'failed'. Default 2 000 ms. */
  retryDelayMs?: number;
  onResult?: (r: ReanchorResult, reason: string) => void;
  onDepthArchived?: (key: string) => void;
  onDepthArchiveError?: (err: Error) => void;
}

interface PendingRequest {
  reason: string;
  /** Earliest request time still waiting (ms). */
  tsMs: number;
  cid: string;
  retries: number;
}

interface SymbolSlot {
  running: Promise<void> | undefined;
  pending: PendingRequest | undefined;
  timer: NodeJS.Timeout | undefined;
  lastOkFetchStartMs: number | undefined;
  lastResult: ReanchorResult | undefined;
  lastResultAt: number | undefined;
}

export interface ReanchorCoordinatorStats {
  requested: number;
  covered: number;
  results: Record<string, number>;
  last: Record<string, { status: string; at: string; last_update_id?: number; total_ms?: number; error?: string }>;
  active: number;
}

export class ReanchorCoordinator {
  private readonly slots = new Map<string, SymbolSlot>();
  private readonly results: Record<string, number> = {};
  private requested = 0;
  private covered = 0;
  private stopped = false;
  private readonly archiving = new Set<Promise<void>>();
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;

  constructor(private readonly o: ReanchorCoordinatorOptions) {
    this.maxRetries = o.maxRetries ?? 3;
    this.retryDelayMs = o.retryDelayMs ?? 2000;
  }

  /** Ask for a re-anchor (fire and forget); resolves nothing, acts at once unless one runs. */
  request(symbol: string, reason: string, tsMs = Date.now(), cid = correlationId()): void {
    if (this.stopped) return;
    this.requested++;
    const slot = this.slot(symbol);
    if (isRequestCovered(tsMs, slot.lastOkFetchStartMs)) {
      this.covered++;
      this.o.logger.debug({ cid, symbol, reason }, 're-anchor request already covered by a newer snapshot');
      return;
    }
    if (slot.pending) {
      slot.pending.tsMs = Math.min(slot.pending.tsMs, tsMs);
      if (!slot.pending.reason.split(',').includes(reason)) slot.pending.reason += `,${reason}`;
    } else {
      slot.pending = { reason, tsMs, cid, retries: 0 };
    }
    if (!slot.running && !slot.timer) this.launch(symbol, slot);
  }

  /** Ask and wait until the symbol's re-anchor work (including this request) has settled. */
  async requestAndWait(symbol: string, reason: string, tsMs = Date.now(), cid = correlationId()): Promise<ReanchorResult | undefined> {
    this.request(symbol, reason, tsMs, cid);
    const slot = this.slot(symbol);
    while (slot.running) await slot.running;
    return slot.lastResult;
  }

  lastSuccessFetchStartMs(symbol: string): number | undefined {
    return this.slots.get(symbol)?.lastOkFetchStartMs;
  }

  /** Wait for every running re-anchor (retries scheduled by timers are not awaited). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.slots.values()].map((s) => s.running).filter((p): p is Promise<void> => p !== undefined);
      running.push(...this.archiving);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.slots.values()) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
      s.pending = undefined;
    }
    await this.idle();
  }

  stats(): ReanchorCoordinatorStats {
    const last: ReanchorCoordinatorStats['last'] = {};
    let active = 0;
    for (const [symbol, s] of this.slots) {
      if (s.running) active++;
      const r = s.lastResult;
      if (!r || s.lastResultAt === undefined) continue;
      last[symbol] = {
        status: r.status,
        at: new Date(s.lastResultAt).toISOString(),
        ...(r.status === 'ok' ? { last_update_id: r.lastUpdateId, total_ms: Math.round(r.totalMs) } : {}),
        ...(r.status === 'failed' ? { error: r.error.message } : {}),
      };
    }
    return { requested: this.requested, covered: this.covered, results: { ...this.results }, last, active };
  }

  private slot(symbol: string): SymbolSlot {
    let s = this.slots.get(symbol);
    if (!s) {
      s = { running: undefined, pending: undefined, timer: undefined, lastOkFetchStartMs: undefined, lastResult: undefined, lastResultAt: undefined };
      this.slots.set(symbol, s);
    }
    return s;
  }

  private launch(symbol: string, slot: SymbolSlot): void {
    const req = slot.pending;
    if (!req || this.stopped) return;
    slot.pending = undefined;
    slot.running = this.runOne(symbol, slot, req).finally(() => {
      slot.running = undefined;
      if (slot.pending && !slot.timer) this.launch(symbol, slot);
    });
  }

  private schedule(symbol: string, slot: SymbolSlot, req: PendingRequest, delayMs: number): void {
    if (this.stopped) return;
    // Merge with anything that arrived meanwhile; the timer launches whatever is pending then.
    if (slot.pending) {
      slot.pending.tsMs = Math.min(slot.pending.tsMs, req.tsMs);
      slot.pending.retries = Math.max(slot.pending.retries, req.retries);
    } else slot.pending = req;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (!slot.running) this.launch(symbol, slot);
    }, Math.max(1, delayMs));
  }

  private async runOne(symbol: string, slot: SymbolSlot, req: PendingRequest): Promise<void> {
    if (isRequestCovered(req.tsMs, slot.lastOkFetchStartMs)) {
      this.covered++;
      return;
    }
    const log = this.o.logger.child({ cid: req.cid, symbol });
    let fetchStartMs = 0;
    let depth: DepthResponse | undefined;
    const result = await this.o.reanchor.run(
      symbol,
      async () => {
        fetchStartMs = Date.now();
        // Snapshot and recent trades in parallel: the snapshot's age when it is swapped in stays minimal.
        const [d, trades] = await Promise.all([
          this.o.client.depth(symbol, this.o.depthLimit),
          this.o.client.trades(symbol, this.o.tradesLimit ?? 1000),
        ]);
        depth = d;
        const staged = buildStagingState(symbol, d, restTradesToEvents(symbol, trades), Date.now(), { depth: this.o.obLevels });
        return { ob: staged.ob, tr1s: staged.tr1s, tr5s: staged.tr5s, feat: staged.feat, snapshot: d };
      },
      { reason: req.reason, correlationId: req.cid },
    );
    slot.lastResult = result;
    slot.lastResultAt = Date.now();
    this.results[result.status] = (this.results[result.status] ?? 0) + 1;
    this.o.onResult?.(result, req.reason);

    switch (result.status) {
      case 'ok':
        slot.lastOkFetchStartMs = Math.max(slot.lastOkFetchStartMs ?? 0, fetchStartMs);
        log.info({ reason: req.reason, last_update_id: result.lastUpdateId, swap_ms: result.swapMs, total_ms: result.totalMs }, 're-anchor ok');
        if (depth && this.o.depthArchiver) this.archiveDepth(symbol, depth, fetchStartMs, log);
        break;
      case 'rate_limited':
        this.schedule(symbol, slot, req, result.retryInMs);
        break;
      case 'skipped':
      case 'failed':
        if (result.status === 'failed') {
          log.error(
            { alert: 'REANCHOR_FAILED', reason: req.reason, err: result.error.message, cleaned_up: result.cleanedUp, retries: req.retries },
            're-anchor failed',
          );
        }
        if (req.retries < this.maxRetries) {
          // Behind another holder, wait at least until its lease would run out: a killed holder frees it by then.
          const delay = this.retryDelayMs * (req.retries + 1);
          const leaseLeft = result.status === 'skipped' && result.heldForMs !== null ? result.heldForMs + 100 : 0;
          this.schedule(symbol, slot, { ...req, retries: req.retries + 1 }, Math.max(delay, leaseLeft));
        }
        break;
    }
  }

  private archiveDepth(symbol: string, depth: DepthResponse, tsMs: number, log: Logger): void {
    // The lake copy must never delay or fail the hot-state repair: written after the swap, errors logged.
    const archiver = this.o.depthArchiver;
    if (!archiver) return;
    const p = archiver
      .write(symbol, depth, tsMs)
      .then((key) => {
        if (key) this.o.onDepthArchived?.(key);
      })
      .catch((err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        this.o.onDepthArchiveError?.(e);
        log.error({ err: e.message }, 'depth snapshot not archived');
      })
      .finally(() => this.archiving.delete(p));
    this.archiving.add(p);
  }
}
