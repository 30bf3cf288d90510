/**
 * The aggregator's intake when event types arrive on several Kinesis streams: each stream's decoded events
 * wait in an EventTimeMerge until the watermark passes them, and are then applied to the pipeline in
 * event-time order across streams, so a lagging stream never advances a symbol's time past events that
 * have not arrived (windows would undercount and the REST volume check would see false gaps).
 *
 * A consumer's batch resolves only once all of its events have been applied and a Redis write containing
 * them has succeeded, so its checkpoint still follows the state it covers. A failed write rejects the
 * batches whose events it carried; the consumer retries them and the core skips what it already applied.
 */
import type { Logger } from 'pino';
import type { AnyEvent } from '../core/fixed-events.js';
import { EventTimeMerge, type MergeStats } from '../core/event-time-merge.js';
import type { AggregatorPipeline, PipelineRecord } from './aggregate-pipeline.js';

interface Waiter {
  remaining: number;
  resolve(): void;
  reject(err: unknown): void;
}

interface Tagged {
  tsUs: number;
  ev: AnyEvent;
  waiter: Waiter;
}

export interface MergedIntakeOptions {
  pipeline: AggregatorPipeline;
  streams: readonly string[];
  idleGraceMs: number;
  maxHoldMs: number;
  logger?: Logger;
  /** Whether a stream's consumer is at its shard tip right now (empty polls move no batch through). */
  caughtUp?: (stream: string) => boolean;
  /** How often held events are re-examined between batches, ms (default 20). */
  pumpIntervalMs?: number;
  /** Wall clock, ms (tests). */
  now?: () => number;
}

export class MergedStreamsIntake {
  private readonly merge: EventTimeMerge<Tagged>;
  private readonly pipeline: AggregatorPipeline;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private pumping: Promise<void> | null = null;
  private again = false;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly streams: readonly string[];
  private readonly caughtUp: ((stream: string) => boolean) | undefined;

  constructor(o: MergedIntakeOptions) {
    this.pipeline = o.pipeline;
    this.logger = o.logger;
    this.now = o.now ?? Date.now;
    this.merge = new EventTimeMerge<Tagged>(o.streams, { idleGraceMs: o.idleGraceMs, maxHoldMs: o.maxHoldMs });
    this.streams = o.streams;
    this.caughtUp = o.caughtUp;
    // The watermark also moves with the wall clock (idle streams, the hold limit): look again between batches.
    this.timer = setInterval(() => {
      if (this.merge.heldCount === 0) return;
      if (this.caughtUp) for (const s of this.streams) this.merge.setCaughtUp(s, this.caughtUp(s));
      this.pump();
    }, o.pumpIntervalMs ?? 20);
    this.timer.unref();
  }

  /**
   * Shutdown: release everything held (in event-time order: nothing more will arrive to wait for) so every
   * waiting batch settles and its consumer can stop; batches arriving afterwards are applied at once.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pump();
    await this.idle();
  }

  /**
   * One consumer batch of `stream`. `caughtUp`: the stream had nothing more to read after this batch
   * (MillisBehindLatest 0). Resolves once the batch's events are in Redis.
   */
  async ingest(stream: string, records: readonly PipelineRecord[], caughtUp: boolean, log?: Logger): Promise<{ invalid: number }> {
    const { events, invalid } = await this.pipeline.decodeRecords(records, log);
    const done = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: events.length, resolve, reject };
      const tagged: Tagged[] = new Array<Tagged>(events.length);
      for (let i = 0; i < events.length; i++) tagged[i] = { tsUs: events[i].event_ts, ev: events[i], waiter };
      this.merge.push(stream, tagged, this.now());
      this.merge.setCaughtUp(stream, caughtUp);
      if (events.length === 0) resolve();
    });
    this.pump();
    await done;
    return { invalid };
  }

  /** A stream's consumer position changed without a batch (an empty poll at the tip, or lag reported). */
  setCaughtUp(stream: string, caughtUp: boolean): void {
    this.merge.setCaughtUp(stream, caughtUp);
  }

  /** Release what the watermark (or the hold limit) allows now; the timer calls this between batches. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.again = false;
        await this.releaseOnce();
      } while (this.again);
    })().finally(() => {
      this.pumping = null;
    });
  }

  /** Resolves when no release is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  stats(): MergeStats {
    return this.merge.stats();
  }

  private async releaseOnce(): Promise<void> {
    const released = this.closing ? this.merge.drainAll() : this.merge.drain(this.now());
    if (released.length === 0) return;
    const events = new Array<AnyEvent>(released.length);
    for (let i = 0; i < released.length; i++) events[i] = released[i].ev;
    const finished: Waiter[] = [];
    for (const t of released) if (--t.waiter.remaining === 0) finished.push(t.waiter);
    try {
      await this.pipeline.ingestEvents(events);
      await this.pipeline.flush();
    } catch (err) {
      this.logger?.warn({ err: err instanceof Error ? err.message : String(err), events: events.length }, 'merged events not written; their batches will be retried');
      // Every batch that had an event in this release is retried whole (re-applying is idempotent).
      const failed = new Set<Waiter>();
      for (const t of released) failed.add(t.waiter);
      for (const w of failed) w.reject(err);
      return;
    }
    for (const w of finished) w.resolve();
  }
}
