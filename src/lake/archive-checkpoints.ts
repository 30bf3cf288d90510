import type { CheckpointStore } from '../kinesis/checkpoints.js';

/** The part of an ioredis client (standalone or cluster) the store needs. */
export interface CheckpointHashClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
}

/** The archiver's own checkpoints: never the aggregator's `kinesis:checkpoint:<stream>`, so neither moves the other. */
export function archiveCheckpointKey(stream: string): string {
  return `lake:archive:checkpoint:${stream}`;
}

/**
 * Kinesis checkpoints that follow the lake, not the handler: the consumer saves after every batch, but a
 * position is stored only once every row before it is in a lake file (`drained()`); until then it waits and
 * is stored by commit() after the next complete flush. A restart thus re-reads whatever was only buffered.
 */
export class LakeCheckpointStore implements CheckpointStore {
  private readonly pending = new Map<string, { stream: string; shardId: string; seq: string }>();

  constructor(
    private readonly redis: CheckpointHashClient,
    private readonly drained: () => boolean,
  ) {}

  async load(stream: string, shardId: string): Promise<string | undefined> {
    return (await this.redis.hget(archiveCheckpointKey(stream), shardId)) ?? undefined;
  }

  async save(stream: string, shardId: string, sequenceNumber: string): Promise<void> {
    this.pending.set(`${stream}\u0000${shardId}`, { stream, shardId, seq: sequenceNumber });
    if (this.drained()) await this.commit();
  }

  /** Store every waiting position (call after a flush that emptied every buffer). */
  async commit(): Promise<void> {
    for (const [k, p] of [...this.pending]) {
      await this.redis.hset(archiveCheckpointKey(p.stream), p.shardId, p.seq);
      // A newer position saved meanwhile stays for the next commit.
      if (this.pending.get(k) === p) this.pending.delete(k);
    }
  }

  get waiting(): number {
    return this.pending.size;
  }
}
