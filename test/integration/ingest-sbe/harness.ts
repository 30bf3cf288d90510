/**
 * Test harness for the SBE ingestor: a config built like the CLI's (resolveConfig), a logger whose JSON
 * lines are captured, and a plain AWS SDK reader (GetRecords + aws-kinesis-agg de-aggregation, none of
 * the project's consumer code; user records read by decodeUserRecord) that follows every shard of the
 * ingestor's streams.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { localKinesisClient } from '../../../src/kinesis/embedded.js';
import { decodeUserRecord } from '../../../src/kinesis/record-format.js';
import { resolveConfig, type BtcpipeConfig } from '../../../src/ops/config.js';
import { createLogger, type Logger } from '../../../src/ops/logger.js';
import { uniqueSuffix } from '../../support/servers.js';

export const API_KEY = 'test-ed25519-key-Zq81Xv0001';

export interface IngestConfigOptions {
  wsUrl: string;
  kinesisEndpoint: string;
  symbols?: string[];
  binance?: Record<string, unknown>;
  kinesis?: Record<string, unknown>;
  apiKey?: string | null;
}

export function ingestConfig(o: IngestConfigOptions): BtcpipeConfig {
  const sfx = uniqueSuffix();
  const doc = {
    binance: {
      sbe_ws_url: o.wsUrl,
      ...(o.apiKey === null ? {} : { api_key: o.apiKey ?? API_KEY }),
      symbols: o.symbols ?? ['BTCUSDT'],
      stream_types: ['trade', 'bestBidAsk', 'depth'],
      reconnect_interval_seconds: 0.05,
      reconnect_max_interval_seconds: 0.5,
      watchdog_timeout_seconds: 10,
      ...o.binance,
    },
    aws: {
      region: 'us-east-1',
      endpoint_url: o.kinesisEndpoint,
      kinesis: {
        streams: { trade: `t-trade-${sfx}`, bestbidask: `t-bba-${sfx}`, depth: `t-depth-${sfx}` },
        create_streams: true,
        ...o.kinesis,
      },
    },
    health: { port: 0, host: '127.0.0.1' },
    metrics: { prometheus_port: 0 },
    logging: { level: 'debug' },
  };
  return resolveConfig(doc, 'test', { mode: 'sbe', env: {} });
}

export interface CapturedLogger {
  logger: Logger;
  text(): string;
  lines(): Array<Record<string, unknown>>;
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ service: 'test-ingest-sbe', level, destination });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

interface AggUserRecord {
  partitionKey: string;
  data: string;
}
const agg = createRequire(import.meta.url)('aws-kinesis-agg') as {
  deaggregateSync(
    record: { partitionKey: string; sequenceNumber: string; data: string },
    computeChecksums: boolean,
    done: (err: Error | null | undefined, records?: AggUserRecord[]) => void,
  ): void;
};

export interface ReadEvent {
  stream: string;
  shardId: string;
  partitionKey: string;
  event: Record<string, unknown>;
}

/** Follows every shard of the given streams from TRIM_HORIZON, collecting user records in order. */
export class PlainKinesisReader {
  readonly events: ReadEvent[] = [];
  /** User records read (what the producer counts as sent; an SBE trades message may hold several events). */
  userRecords = 0;
  private readonly client: KinesisClient;
  private running = false;
  private loop: Promise<void> | undefined;
  errors = 0;

  constructor(
    endpoint: string,
    private readonly streams: string[],
  ) {
    this.client = localKinesisClient(endpoint);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client.destroy();
  }

  of(stream: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.stream === stream).map((e) => e.event);
  }

  private async run(): Promise<void> {
    const iterators = new Map<string, { stream: string; shardId: string; it: string | undefined }>();
    while (this.running) {
      try {
        // Discover each stream until it exists: the service creates them one by one, so some may be
        // missing on the first pass (and again after an emulator restart).
        const discovered = new Set([...iterators.values()].map((c) => c.stream));
        for (const stream of this.streams.filter((n) => !discovered.has(n))) {
          try {
            const { Shards = [] } = await this.client.send(new ListShardsCommand({ StreamName: stream }));
            for (const s of Shards) {
              const r = await this.client.send(
                new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
              );
              iterators.set(`${stream}/${s.ShardId}`, { stream, shardId: s.ShardId as string, it: r.ShardIterator });
            }
          } catch {
            this.errors++; // not created yet; the next pass tries again
          }
        }
        let got = 0;
        for (const cur of iterators.values()) {
          if (!cur.it) continue;
          const res = await this.client.send(new GetRecordsCommand({ ShardIterator: cur.it, Limit: 10_000 }));
          cur.it = res.NextShardIterator;
          for (const r of res.Records ?? []) {
            const data = Buffer.from(r.Data as Uint8Array).toString('base64');
            agg.deaggregateSync({ partitionKey: r.PartitionKey as string, sequenceNumber: r.SequenceNumber as string, data }, true, (err, recs) => {
              if (err) throw err;
              for (const u of recs ?? []) {
                this.userRecords++;
                // Either record format: one event's JSON, or an SBE message (a trades message may hold several).
                for (const ev of decodeUserRecord(Buffer.from(u.data, 'base64')).events) {
                  this.events.push({ stream: cur.stream, shardId: cur.shardId, partitionKey: u.partitionKey, event: { ...ev } });
                  got++;
                }
              }
            });
          }
        }
        if (got === 0) await sleep(25);
      } catch {
        // The streams may not exist yet (the service creates them) or the emulator is restarting.
        this.errors++;
        await sleep(100);
      }
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `cond` until true; throws with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface TruthTrade {
  id: number;
  price: string;
  qty: string;
}

/** Every trade the simulator made from `fromId` on (paged by /sim/truth/trades). */
export async function truthTrades(restUrl: string, symbol: string, fromId: number, toId: number): Promise<TruthTrade[]> {
  const out: TruthTrade[] = [];
  let from = fromId;
  while (from <= toId) {
    const page = await getJson<unknown>(`${restUrl}/sim/truth/trades?symbol=${symbol}&fromId=${from}&limit=1000`);
    const list = (Array.isArray(page) ? page : (page as { trades: unknown[] }).trades) as Array<Record<string, unknown>>;
    if (list.length === 0) break;
    for (const t of list) {
      const id = Number(t.id ?? t.tradeId ?? t.t);
      if (id > toId) return out;
      out.push({ id, price: String(t.price ?? t.p), qty: String(t.qty ?? t.q) });
    }
    from = out[out.length - 1].id + 1;
  }
  return out;
}
