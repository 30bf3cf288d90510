/**
 * Following `reanchor:done`: a loop of blocking XREADs on a connection of its own, so the projection
 * writes never wait behind a BLOCK. It starts from the id that was last in the stream when the service
 * started (not '$' at the first XREAD: a swap finishing in between would be missed).
 */
import type { Logger } from 'pino';
import type { RedisClient } from '../redis/connect.js';
import { REANCHOR_DONE_STREAM } from '../redis/keys.js';
import { readReanchorDone, type ReanchorDone } from '../redis/streams.js';
import { toRedisError } from '../redis/errors.js';

/** The id of the newest `reanchor:done` entry ('0-0' when the stream is empty or missing). */
export async function lastReanchorDoneId(redis: RedisClient): Promise<string> {
  try {
    const last = await redis.xrevrange(REANCHOR_DONE_STREAM, '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  } catch (err) {
    throw toRedisError(err, 'read reanchor:done position');
  }
}

export interface ReanchorDoneListenerOptions {
  /** A blocking connection (createRedis({ blocking: true })), used by nothing else. */
  redis: RedisClient;
  startId: string;
  onDone(entry: ReanchorDone): Promise<void>;
  blockMs?: number;
  logger?: Logger;
}

export class ReanchorDoneListener {
  private lastId: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private errors = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly o: ReanchorDoneListenerOptions) {
    this.lastId = o.startId;
  }

  get position(): string {
    return this.lastId;
  }

  get errorCount(): number {
    return this.errors;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the current XREAD returns (at most blockMs). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      let entries: ReanchorDone[];
      try {
        entries = await readReanchorDone(this.o.redis, this.lastId, this.o.blockMs ?? 1000);
        attempt = 0;
      } catch (err) {
        if (!this.running) return;
        this.errors++;
        this.o.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'reading reanchor:done failed; retrying');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt++));
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
        continue;
      }
      for (const e of entries) {
        this.lastId = e.id;
        try {
          await this.o.onDone(e);
        } catch (err) {
          // The snapshot is already in memory; a failed write is retried by the next flush.
          this.o.logger?.warn({ err: err instanceof Error ? err.message : String(err), entry: e.id }, 're-anchor follow-up failed');
        }
      }
    }
  }
}
