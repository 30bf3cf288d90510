import type { CheckpointStore } from './checkpoints.js';

/** The part of an ioredis client (standalone or cluster) the checkpoint store needs. */
export interface RedisHashClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
}

export function checkpointKey(stream: string): string {
  return `kinesis:checkpoint:${stream}`;
}

/** Checkpoints in Redis: hash `kinesis:checkpoint:<stream>`, field shardId → sequence number. */
export class RedisCheckpointStore implements CheckpointStore {
  constructor(private readonly redis: RedisHashClient) {}

  async load(stream: string, shardId: string): Promise<string | undefined> {
    const v = await this.redis.hget(checkpointKey(stream), shardId);
    return v ?? undefined;
  }

  async save(stream: string, shardId: string, sequenceNumber: string): Promise<void> {
    await this.redis.hset(checkpointKey(stream), shardId, sequenceNumber);
  }
}
