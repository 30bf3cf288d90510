/**
 * Reads every record of the stack's Kinesis stream(s) from TRIM_HORIZON, as an independent consumer would,
 * and counts the trade ids it finds per symbol. kinesis-local keeps nothing across a restart, so the chaos
 * run reads all along and drains before it restarts kinesis-local; `reset()` starts again on the new streams.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { deaggregateRecordData } from '../kinesis/deaggregate.js';
import { localKinesisClient } from '../kinesis/embedded.js';
import { inflateRecord } from '../kinesis/record-compression.js';
import { decodeUserRecord } from '../kinesis/record-format.js';
import { isSbeRecord } from '../kinesis/record-sbe.js';

export interface TradeTally {
  /** symbol → trade id → times seen */
  trades: Map<string, Map<number, number>>;
  undecodable: number;
  records: number;
}

/** Fold one Kinesis record's data into the tally (pure apart from the tally). */
export function tallyRecord(tally: TradeTally, data: Uint8Array): void {
  tally.records += 1;
  let users: Buffer[];
  try {
    users = deaggregateRecordData(inflateRecord(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  } catch {
    tally.undecodable += 1;
    return;
  }
  for (const u of users) {
    if (isSbeRecord(u)) {
      tallySbe(tally, u);
      continue;
    }
    let o: unknown;
    try {
      o = JSON.parse(u.toString('utf8'));
    } catch {
      tally.undecodable += 1;
      continue;
    }
    if (typeof o !== 'object' || o === null) {
      tally.undecodable += 1;
      continue;
    }
    const e = o as { type?: unknown; symbol?: unknown; trade_id?: unknown };
    if (e.type !== 'trade') continue;
    if (typeof e.symbol !== 'string' || typeof e.trade_id !== 'number' || !Number.isSafeInteger(e.trade_id)) {
      tally.undecodable += 1;
      continue;
    }
    let m = tally.trades.get(e.symbol);
    if (!m) {
      m = new Map();
      tally.trades.set(e.symbol, m);
    }
    m.set(e.trade_id, (m.get(e.trade_id) ?? 0) + 1);
  }
}

/** An SBE user record: the trades of the venue message it carries. */
function tallySbe(tally: TradeTally, data: Uint8Array): void {
  let events;
  try {
    events = decodeUserRecord(data).events;
  } catch {
    tally.undecodable += 1;
    return;
  }
  for (const e of events) {
    if (e.type !== 'trade') continue;
    let m = tally.trades.get(e.symbol);
    if (!m) {
      m = new Map();
      tally.trades.set(e.symbol, m);
    }
    m.set(e.trade_id, (m.get(e.trade_id) ?? 0) + 1);
  }
}

interface ShardCursor {
  stream: string;
  shardId: string;
  iterator: string | undefined;
  lastSeq: string | undefined;
  behindMs: number;
}

export class KinesisTradeReader {
  readonly tally: TradeTally = { trades: new Map(), undecodable: 0, records: 0 };
  private client: KinesisClient;
  private shards: ShardCursor[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  lastError = '';

  constructor(
    private readonly endpoint: string,
    private readonly streams: string[],
  ) {
    this.client = localKinesisClient(endpoint);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async listShards(): Promise<void> {
    const out: ShardCursor[] = [];
    for (const stream of this.streams) {
      const res = await this.client.send(new ListShardsCommand({ StreamName: stream }));
      for (const s of res.Shards ?? []) if (s.ShardId) out.push({ stream, shardId: s.ShardId, iterator: undefined, lastSeq: undefined, behindMs: Infinity });
    }
    this.shards = out;
  }

  private async pollShard(c: ShardCursor): Promise<number> {
    if (!c.iterator) {
      const res = await this.client.send(
        new GetShardIteratorCommand(
          c.lastSeq
            ? { StreamName: c.stream, ShardId: c.shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: c.lastSeq }
            : { StreamName: c.stream, ShardId: c.shardId, ShardIteratorType: 'TRIM_HORIZON' },
        ),
      );
      c.iterator = res.ShardIterator;
    }
    const res = await this.client.send(new GetRecordsCommand({ ShardIterator: c.iterator, Limit: 1000 }));
    for (const r of res.Records ?? []) {
      if (r.Data) tallyRecord(this.tally, r.Data);
      if (r.SequenceNumber) c.lastSeq = r.SequenceNumber;
    }
    c.iterator = res.NextShardIterator;
    c.behindMs = res.MillisBehindLatest ?? 0;
    return res.Records?.length ?? 0;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let got = 0;
      try {
        if (this.shards.length === 0) await this.listShards();
        for (const c of this.shards) got += await this.pollShard(c);
        this.lastError = '';
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        for (const c of this.shards) c.iterator = undefined;
        if (/not found|ResourceNotFound/i.test(this.lastError)) this.shards = [];
      }
      if (got === 0) await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** True once every shard has been read to its tip. */
  caughtUp(): boolean {
    return this.shards.length > 0 && this.shards.every((c) => c.behindMs === 0);
  }

  /** Read until caught up (or the deadline), e.g. before kinesis-local is restarted. */
  async drain(timeoutMs: number): Promise<boolean> {
    for (const c of this.shards) c.behindMs = Infinity;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.caughtUp()) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return this.caughtUp();
  }

  /** kinesis-local was restarted: its streams are new and empty; read them from the start. */
  reset(): void {
    this.shards = [];
    this.client.destroy();
    this.client = localKinesisClient(this.endpoint);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client.destroy();
  }
}
