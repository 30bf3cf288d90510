/**
 * The ingestor's share of the hot path, per event, over a recent window: queued (put into the producer →
 * its PutRecords call sent: linger, batching, a call in flight for the same key) and the call itself (sent →
 * acknowledged). Kept in fixed rings so recording costs three stores per event; percentiles are computed
 * only when asked (/stats, the e2e bench). Times are performance.now() milliseconds.
 */

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface PutLatencyReport {
  window_seconds: number;
  events: number;
  /** put() → the PutRecords call carrying the event was sent, ms. */
  queue_ms: LatencySummary;
  /** PutRecords sent → acknowledged, ms. */
  call_ms: LatencySummary;
}

export class PutLatencyWindow {
  private readonly at: Float64Array;
  private readonly queue: Float64Array;
  private readonly call: Float64Array;
  private next = 0;
  private size = 0;

  constructor(
    private readonly windowMs = 5000,
    capacity = 100_000,
  ) {
    this.at = new Float64Array(capacity);
    this.queue = new Float64Array(capacity);
    this.call = new Float64Array(capacity);
  }

  add(ackedAt: number, queueMs: number, callMs: number): void {
    const i = this.next;
    this.at[i] = ackedAt;
    this.queue[i] = queueMs;
    this.call[i] = callMs;
    this.next = i + 1 === this.at.length ? 0 : i + 1;
    if (this.size < this.at.length) this.size++;
  }

  /** Events acknowledged within the window before `now`. */
  report(now: number): PutLatencyReport {
    const from = now - this.windowMs;
    const q: number[] = [];
    const c: number[] = [];
    const cap = this.at.length;
    for (let k = 0; k < this.size; k++) {
      const i = (this.next - 1 - k + cap) % cap;
      if (this.at[i] < from) break; // older from here on
      q.push(this.queue[i]);
      c.push(this.call[i]);
    }
    return { window_seconds: this.windowMs / 1000, events: q.length, queue_ms: summarize(q), call_ms: summarize(c) };
  }
}

function summarize(v: number[]): LatencySummary {
  v.sort((a, b) => a - b);
  const pct = (p: number): number => (v.length === 0 ? 0 : round(v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]));
  return { p50: pct(50), p95: pct(95), p99: pct(99), max: v.length === 0 ? 0 : round(v[v.length - 1]) };
}

const round = (x: number): number => Math.round(x * 100) / 100;
