/** Counters behind GET /sim/stats: what the simulator generated, sent and injected, per stream. */

export interface StreamCounters {
  /** Frames the market produced for this stream (once per event, whoever listens). */
  generated: number;
  /** Frames written to sockets (every connection counts; a duplicate counts twice). */
  sent: number;
  /** Frames removed by an injected `drop` fault. */
  dropped: number;
  /** Extra copies sent by an injected `duplicate` fault. */
  duplicated: number;
  /** Frames held back by an injected `delayMs` fault. */
  delayed: number;
  /** Frames replaced by a corrupt one (`malformed` fault). */
  malformed: number;
  /** Frames held during an injected `stall` and sent after it. */
  stalled: number;
  /** Frames dropped because a slow consumer's buffer was full (not a fault; never OOM). */
  overflowed: number;
  /** bestBidAsk events culled because a newer one for the symbol was already due (venue behaviour). */
  culled: number;
}

export type CloseReason =
  | 'client'
  | 'lifetime'
  | 'pong_timeout'
  | 'fault_disconnect'
  | 'message_rate'
  | 'server_shutdown'
  | 'server_stop';

export interface SimStatsSnapshot {
  uptimeMs: number;
  streams: Record<string, StreamCounters>;
  connections: { open: number; total: number; closed: Partial<Record<CloseReason, number>> };
  rest: {
    requests: number;
    /** Answers replaced by an injected `rest` fault, by status. */
    faulted: Record<string, number>;
    rateLimited429: number;
    banned418: number;
    /** /api/v3/depth answers that were a book older than the stream (fault or seeded lag). */
    snapshotsBehind: number;
  };
}

export function emptyCounters(): StreamCounters {
  return { generated: 0, sent: 0, dropped: 0, duplicated: 0, delayed: 0, malformed: 0, stalled: 0, overflowed: 0, culled: 0 };
}

export class SimStats {
  private readonly started = Date.now();
  private readonly streams = new Map<string, StreamCounters>();
  private open = 0;
  private total = 0;
  private readonly closed: Partial<Record<CloseReason, number>> = {};
  readonly rest = { requests: 0, faulted: {} as Record<string, number>, rateLimited429: 0, banned418: 0, snapshotsBehind: 0 };

  /** Counters of one stream (e.g. "btcusdt@depth"), created on first use. */
  stream(name: string): StreamCounters {
    let c = this.streams.get(name);
    if (!c) {
      c = emptyCounters();
      this.streams.set(name, c);
    }
    return c;
  }

  connectionOpened(): void {
    this.open += 1;
    this.total += 1;
  }

  connectionClosed(reason: CloseReason): void {
    this.open -= 1;
    this.closed[reason] = (this.closed[reason] ?? 0) + 1;
  }

  snapshot(): SimStatsSnapshot {
    const streams: Record<string, StreamCounters> = {};
    for (const [k, v] of [...this.streams.entries()].sort((a, b) => a[0].localeCompare(b[0]))) streams[k] = { ...v };
    return {
      uptimeMs: Date.now() - this.started,
      streams,
      connections: { open: this.open, total: this.total, closed: { ...this.closed } },
      rest: { ...this.rest, faulted: { ...this.rest.faulted } },
    };
  }
}
