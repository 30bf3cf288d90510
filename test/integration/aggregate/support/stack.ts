/** Config and ground-truth helpers for the aggregator integration tests. */
import { resolveConfig, type BtcpipeConfig } from '../../../../src/ops/config.js';
import { normalizeDecimal } from '../../../../src/core/decimal.js';
import type { Level } from '../../../../src/core/events.js';
import type { StreamNames } from './pipe.js';

export function aggregatorConfig(o: {
  redisPort: number;
  kinesisEndpoint: string;
  streams: StreamNames;
  symbols: string[];
  initialPosition?: 'LATEST' | 'TRIM_HORIZON';
}): BtcpipeConfig {
  return resolveConfig(
    {
      binance: { symbols: o.symbols },
      aws: {
        region: 'us-east-1',
        endpoint_url: o.kinesisEndpoint,
        kinesis: {
          streams: o.streams,
          consumer_config: { shard_iterator_type: o.initialPosition ?? 'LATEST', max_records_per_poll: 1000, poll_interval_ms: 20 },
        },
      },
      redis: { host: '127.0.0.1', port: o.redisPort, socket_timeout_seconds: 2 },
      processing: { feature_update_interval_seconds: 1, reanchor_request_interval_seconds: 1 },
      health: { port: 0, host: '127.0.0.1' },
      metrics: { enable_prometheus: true, prometheus_port: 0 },
      logging: { level: 'warn' },
    },
    'test',
    { mode: 'aggregator', env: {} },
  );
}

export interface TruthBook {
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
}

/** The venue's true book right after update `id` (top `limit` levels), or null outside its history. */
export async function truthBook(restUrl: string, symbol: string, id: number, limit = 10): Promise<TruthBook | null> {
  const res = await fetch(`${restUrl}/sim/truth/book?symbol=${symbol}&updateId=${id}&limit=${limit}`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`truth book ${id}: HTTP ${res.status}`);
  return (await res.json()) as TruthBook;
}

/** Differences between an ob:{SYM} hash and the true book (exact values; representation normalized). */
export function obMismatches(ob: Record<string, string>, truth: TruthBook, depth = 10): string[] {
  const out: string[] = [];
  for (const [side, levels] of [['bid', truth.bids], ['ask', truth.asks]] as const) {
    for (let i = 0; i < depth; i++) {
      const want = levels[i];
      const p = ob[`${side}${i + 1}_p`];
      const q = ob[`${side}${i + 1}_q`];
      if (!want) {
        if (p !== undefined) out.push(`${side}${i + 1}: ${p} but the venue has no level`);
        continue;
      }
      if (p === undefined || q === undefined || normalizeDecimal(p) !== normalizeDecimal(want[0]) || normalizeDecimal(q) !== normalizeDecimal(want[1])) {
        out.push(`${side}${i + 1}: ${p}@${q} != ${want[0]}@${want[1]}`);
      }
    }
  }
  return out;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
