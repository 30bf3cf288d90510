/**
 * The served-feature log: every feature vector the aggregator writes to feat:{SYM}, with what is needed to
 * rebuild it exactly from the archived stream — the wall clock it was computed at and the cut (the last event
 * of each type the symbol's state had been given, with its event and receive times). Re-anchor snapshots
 * applied and the first event of each run are logged too: a rebuild starts a fresh state where a run started,
 * loads the same snapshot at the same point, and computes features at the same cuts.
 *
 * Entries go to the capped Redis stream `feat:log:{SYM}` (XADD MAXLEN ~), written after the projection write
 * that served them, off the write path: one XADD per symbol per feature tick, at most one batch in flight,
 * a bounded queue while Redis is away (the oldest entries are dropped beyond it, and counted).
 * ServedFeatureArchiver moves them to the lake (`features_served`).
 */
import { randomBytes } from 'node:crypto';
import type { MarketEvent } from '../core/events.js';
import type { AnyEvent } from '../core/fixed-events.js';
import type { RedisClient } from '../redis/connect.js';
import { assertSymbol } from '../redis/keys.js';

/** Entries kept per symbol in Redis (≈ 11 h of 2 s ticks): the archiver moves them out long before. */
export const SERVED_LOG_MAXLEN = 20_000;
const MAX_PENDING = 5000;

export function servedLogKey(symbol: string, cluster = false): string {
  assertSymbol(symbol);
  return `feat:log:${cluster ? `{${symbol}}` : symbol}`;
}

/**
 * The newest event of each type given to one symbol's state in this run (ids −1 / times 0 when none yet), and
 * the first one (where the run's state began). Updated for every event, so plain fields only.
 */
export interface EventCut {
  /** Events given to the state in this run (re-applied retries included). */
  n: number;
  firstType: MarketEvent['type'] | '';
  firstId: number;
  firstTs: number;
  depthU: number;
  depthTs: number;
  depthRecv: number;
  tradeId: number;
  tradeTs: number;
  tradeRecv: number;
  bbaSeq: number;
  bbaTs: number;
  bbaRecv: number;
  /** last_update_id of the last re-anchor snapshot applied (−1: none). */
  anchorId: number;
}

export function newCut(): EventCut {
  return {
    n: 0, firstType: '', firstId: -1, firstTs: 0,
    depthU: -1, depthTs: 0, depthRecv: 0,
    tradeId: -1, tradeTs: 0, tradeRecv: 0,
    bbaSeq: -1, bbaTs: 0, bbaRecv: 0,
    anchorId: -1,
  };
}

/** The id that orders an event within its type (depth u, trade id, bestBidAsk update id). */
export function eventId(ev: AnyEvent): number {
  switch (ev.type) {
    case 'depth':
      return ev.final_update_id;
    case 'trade':
      return ev.trade_id;
    case 'bestBidAsk':
      return ev.sequence_id;
    case 'depthSnapshot':
      return ev.last_update_id;
  }
}

/** Hot path: called for every event given to a symbol's state. */
export function noteEvent(cut: EventCut, ev: AnyEvent): void {
  if (cut.n === 0) {
    cut.firstType = ev.type;
    cut.firstId = eventId(ev);
    cut.firstTs = ev.event_ts;
  }
  cut.n++;
  const recv = ev.recv_ts_us ?? 0;
  // The highest id of each type, not the last: a re-delivered (older) event changes nothing in the state, and
  // the lake keeps each event once, so a rebuild can only meet the highest.
  switch (ev.type) {
    case 'depth':
      if (ev.final_update_id <= cut.depthU) break;
      cut.depthU = ev.final_update_id;
      cut.depthTs = ev.event_ts;
      cut.depthRecv = recv;
      break;
    case 'trade':
      if (ev.trade_id <= cut.tradeId) break;
      cut.tradeId = ev.trade_id;
      cut.tradeTs = ev.event_ts;
      cut.tradeRecv = recv;
      break;
    case 'bestBidAsk':
      if (ev.sequence_id <= cut.bbaSeq) break;
      cut.bbaSeq = ev.sequence_id;
      cut.bbaTs = ev.event_ts;
      cut.bbaRecv = recv;
      break;
    case 'depthSnapshot':
      // Partial snapshots on the stream are not anchors (the core skips them); re-anchors are noted apart.
      break;
  }
}

export type ServedEntryKind = 'feat' | 'anchor';

/** One log entry, as stored (Redis fields / lake columns). */
export interface ServedEntry {
  kind: ServedEntryKind;
  symbol: string;
  run: string;
  wall_ms: number;
  /** The state's `now` (µs). */
  event_ts_us: number;
  cut: EventCut;
  /** Book status and id as the state had them (a rebuild checks it reaches the same). */
  book_status: string;
  book_id: number;
  /** feat: the hash written to feat:{SYM}; anchor: {} */
  feat: Record<string, string>;
}

const CUT_FIELDS = [
  'n', 'firstId', 'firstTs', 'depthU', 'depthTs', 'depthRecv', 'tradeId', 'tradeTs', 'tradeRecv', 'bbaSeq', 'bbaTs', 'bbaRecv', 'anchorId',
] as const satisfies readonly (keyof EventCut)[];

export function encodeEntry(e: ServedEntry): string[] {
  const out = ['kind', e.kind, 'run', e.run, 'wall_ms', String(e.wall_ms), 'event_ts_us', String(e.event_ts_us),
    'book_status', e.book_status, 'book_id', String(e.book_id), 'firstType', e.cut.firstType];
  for (const f of CUT_FIELDS) out.push(f, String(e.cut[f]));
  out.push('feat', JSON.stringify(e.feat));
  return out;
}

export class ServedLogDecodeError extends Error {
  override readonly name = 'ServedLogDecodeError';
}

export function decodeEntry(symbol: string, fields: Record<string, string>): ServedEntry {
  const num = (k: string): number => {
    const v = Number(fields[k]);
    if (fields[k] === undefined || !Number.isFinite(v)) throw new ServedLogDecodeError(`served-feature log entry of ${symbol}: field ${k} is ${JSON.stringify(fields[k])}`);
    return v;
  };
  const kind = fields.kind;
  if (kind !== 'feat' && kind !== 'anchor') throw new ServedLogDecodeError(`served-feature log entry of ${symbol}: unknown kind ${JSON.stringify(kind)}`);
  const cut = newCut();
  for (const f of CUT_FIELDS) cut[f] = num(f);
  const ft = fields.firstType ?? '';
  cut.firstType = ft === 'depth' || ft === 'trade' || ft === 'bestBidAsk' || ft === 'depthSnapshot' ? ft : '';
  let feat: Record<string, string>;
  try {
    const parsed: unknown = JSON.parse(fields.feat ?? '{}');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    feat = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  } catch (err) {
    throw new ServedLogDecodeError(`served-feature log entry of ${symbol}: feat is not a JSON object (${err instanceof Error ? err.message : String(err)})`);
  }
  return {
    kind,
    symbol,
    run: fields.run ?? '',
    wall_ms: num('wall_ms'),
    event_ts_us: num('event_ts_us'),
    book_status: fields.book_status ?? '',
    book_id: num('book_id'),
    cut,
    feat,
  };
}

export type ServedEntryInput = Omit<ServedEntry, 'run'>;

export interface ServedFeatureLogOptions {
  redis: RedisClient;
  cluster?: boolean;
  maxLen?: number;
  /** Identifies this process's run in the log (default: random). */
  runId?: string;
  onError?(err: Error): void;
}

/** Queue + writer of served-log entries (one per symbol per feature tick). */
export class ServedFeatureLog {
  readonly runId: string;
  private pending: Array<{ key: string; fields: string[] }> = [];
  private inFlight: Promise<void> | null = null;
  private dropped = 0;
  private written = 0;
  private errors = 0;

  constructor(private readonly o: ServedFeatureLogOptions) {
    this.runId = o.runId ?? `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  }

  stats(): { written: number; dropped: number; errors: number; pending: number } {
    return { written: this.written, dropped: this.dropped, errors: this.errors, pending: this.pending.length };
  }

  add(entry: ServedEntryInput): void {
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.dropped++;
    }
    const e: ServedEntry = { ...entry, run: this.runId };
    this.pending.push({ key: servedLogKey(e.symbol, this.o.cluster), fields: encodeEntry(e) });
  }

  /** Write what is queued (never throws; failures keep the entries for the next call). */
  flush(): Promise<void> {
    if (this.inFlight || this.pending.length === 0) return this.inFlight ?? Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    const maxLen = String(this.o.maxLen ?? SERVED_LOG_MAXLEN);
    this.inFlight = Promise.all(batch.map((b) => this.o.redis.xadd(b.key, 'MAXLEN', '~', maxLen, '*', ...b.fields)))
      .then(() => {
        this.written += batch.length;
      })
      .catch((err: unknown) => {
        this.errors++;
        // Entries that did reach Redis are written again (a duplicate entry rebuilds the same row once).
        const keep = batch.concat(this.pending);
        const over = keep.length - MAX_PENDING;
        if (over > 0) this.dropped += over;
        this.pending = over > 0 ? keep.slice(over) : keep;
        this.o.onError?.(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
