/**
 * Where a stream consumer remembers, per shard, the last sequence number whose records have been fully
 * handled. Saved only after the handler finished, so a restart re-delivers at most the last batch.
 */
export interface CheckpointStore {
  load(stream: string, shardId: string): Promise<string | undefined>;
  save(stream: string, shardId: string, sequenceNumber: string): Promise<void>;
}

export class InMemoryCheckpointStore implements CheckpointStore {
  private readonly data = new Map<string, string>();

  load(stream: string, shardId: string): Promise<string | undefined> {
    return Promise.resolve(this.data.get(`${stream}\u0000${shardId}`));
  }

  save(stream: string, shardId: string, sequenceNumber: string): Promise<void> {
    this.data.set(`${stream}\u0000${shardId}`, sequenceNumber);
    return Promise.resolve();
  }
}
