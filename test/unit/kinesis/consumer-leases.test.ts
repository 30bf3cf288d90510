import { describe, expect, it } from 'vitest';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisStreamConsumer, type BatchContext } from '../../../src/kinesis/consumer.js';
import type { HeldShard, ShardLeaseGate } from '../../../src/kinesis/lease-coordinator.js';
import { fast, until } from '../../support/consumer.js';

/** Endless single-shard stream: every GetRecords returns one record with the next sequence number. */
function endlessClient(): { client: KinesisClient; log: Array<{ op: string; input: Record<string, unknown> }> } {
  const log: Array<{ op: string; input: Record<string, unknown> }> = [];
  let seq = 100;
  let iter = 0;
  const send = async (cmd: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> => {
    const op = cmd.constructor.name;
    log.push({ op, input: cmd.input });
    await new Promise((r) => setTimeout(r, 2));
    if (op === 'GetShardIteratorCommand') return { ShardIterator: `it-${iter++}` };
    if (op === 'GetRecordsCommand') {
      const s = String(seq++);
      return { Records: [{ SequenceNumber: s, PartitionKey: 'SYM', Data: Buffer.from('{}'), ApproximateArrivalTimestamp: new Date() }], NextShardIterator: `it-${iter++}`, MillisBehindLatest: 0 };
    }
    throw new Error(`unexpected ${op}`);
  };
  return { client: { send } as unknown as KinesisClient, log };
}

class FakeGate implements ShardLeaseGate {
  held: HeldShard[] = [];
  checkpoints: [string, number, string][] = [];
  stopped: [string, number][] = [];
  acceptCheckpoints = true;
  private listeners: (() => void)[] = [];
  readable(): HeldShard[] {
    return this.held;
  }
  holds(shardId: string, epoch: number): boolean {
    return this.held.some((h) => h.shardId === shardId && h.epoch === epoch);
  }
  checkpoint(shardId: string, epoch: number, sequence: string): Promise<boolean> {
    this.checkpoints.push([shardId, epoch, sequence]);
    if (!this.acceptCheckpoints) this.set([]);
    return Promise.resolve(this.acceptCheckpoints);
  }
  finished(): Promise<void> {
    return Promise.resolve();
  }
  readerStopped(shardId: string, epoch: number): void {
    this.stopped.push([shardId, epoch]);
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  set(held: HeldShard[]): void {
    this.held = held;
    for (const l of this.listeners) l();
  }
}

describe('KinesisStreamConsumer with shard leases', () => {
  it('reads only held shards from the lease checkpoint, checkpoints in the lease, and stops when the lease goes', async () => {
    const { client, log } = endlessClient();
    const gate = new FakeGate();
    const batches: BatchContext[] = [];
    const c = new KinesisStreamConsumer({ client, stream: 's', leases: gate, handler: (_b, ctx) => {
        batches.push(ctx);
        return Promise.resolve();
      }, ...fast });
    await c.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(log).toEqual([]);

    gate.set([{ shardId: 'shardId-0', epoch: 3, checkpoint: '99', start: 'TRIM_HORIZON' }]);
    await until(() => gate.checkpoints.length >= 3);
    expect(log.find((l) => l.op === 'GetShardIteratorCommand')?.input).toMatchObject({ ShardId: 'shardId-0', ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: '99' });
    expect(batches.every((b) => b.leaseEpoch === 3 && b.shardId === 'shardId-0')).toBe(true);
    expect(gate.checkpoints[0]).toEqual(['shardId-0', 3, '100']);

    gate.set([]);
    await until(() => gate.stopped.length === 1);
    expect(gate.stopped).toEqual([['shardId-0', 3]]);
    const handled = batches.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(batches.length).toBe(handled);
    await c.stop();
  });

  it('starts a shard without checkpoint at its lease start, and stops at once when a checkpoint is refused', async () => {
    const { client, log } = endlessClient();
    const gate = new FakeGate();
    gate.acceptCheckpoints = false;
    const c = new KinesisStreamConsumer({ client, stream: 's', leases: gate, handler: () => Promise.resolve(), ...fast });
    await c.start();
    gate.set([{ shardId: 'shardId-7', epoch: 9, checkpoint: '', start: 'AT_TIMESTAMP:1700000000000' }]);
    await until(() => gate.stopped.length === 1);
    const it = log.find((l) => l.op === 'GetShardIteratorCommand')?.input;
    expect(it).toMatchObject({ ShardIteratorType: 'AT_TIMESTAMP' });
    expect((it?.Timestamp as Date).getTime()).toBe(1_700_000_000_000);
    expect(gate.checkpoints).toEqual([['shardId-7', 9, '100']]);
    await c.stop();
  });
});
