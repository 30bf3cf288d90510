/**
 * Listens on `reanchor:requests` with XREAD BLOCK on its own connection, so an aggregator's request is
 * acted on within the block time (not at the next poll) and never waits behind other Redis traffic.
 */
import type { Logger } from '../ops/logger.js';
import type { RedisClient } from '../redis/connect.js';
import { REANCHOR_REQUESTS_STREAM } from '../redis/keys.js';
import { readReanchorRequests, type ReanchorRequest } from '../redis/streams.js';

export interface GapRequestListenerOptions {
  redis: RedisClient;
  logger: Logger;
  onRequests: (reqs: ReanchorRequest[]) => void;
  /** XREAD BLOCK time; also the longest stop() waits. Default 1 000 ms. */
  blockMs?: number;
  /** Requests made up to this long before start are still acted on (an aggregator may ask first). Default 60 s. */
  lookbackMs?: number;
}

/** First stream id to read after: entries newer than `sinceMs` (stream ids start with Redis' ms clock). */
export function streamIdAfter(sinceMs: number): string {
  return `${Math.max(0, Math.floor(sinceMs))}-0`;
}

export class GapRequestListener {
  private running = false;
  private loop: Promise<void> | undefined;
  private lastId = '0-0';
  private received = 0;
  private errors = 0;
  private lastError: string | undefined;

  constructor(private readonly o: GapRequestListenerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastId = streamIdAfter(Date.now() - (this.o.lookbackMs ?? 60_000));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  stats(): { stream: string; last_id: string; received: number; errors: number; last_error: string | null } {
    return {
      stream: REANCHOR_REQUESTS_STREAM,
      last_id: this.lastId,
      received: this.received,
      errors: this.errors,
      last_error: this.lastError ?? null,
    };
  }

  private async run(): Promise<void> {
    const blockMs = this.o.blockMs ?? 1000;
    let failures = 0;
    while (this.running) {
      try {
        const reqs = await readReanchorRequests(this.o.redis, this.lastId, blockMs, 100);
        failures = 0;
        if (reqs.length === 0) continue;
        this.lastId = reqs[reqs.length - 1].id;
        this.received += reqs.length;
        if (this.running) this.o.onRequests(reqs);
      } catch (err) {
        this.errors++;
        this.lastError = err instanceof Error ? err.message : String(err);
        // One warning per outage, not one per retry.
        if (failures++ === 0) this.o.logger.warn({ err: this.lastError }, 're-anchor request listener: Redis read failed; retrying');
        await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
