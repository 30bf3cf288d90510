/**
 * A stand-in for the SBE ingestor in tests: a plain WebSocket client to the simulator → decodeFrame →
 * KinesisProducer (KPL-aggregated JSON events, one stream per type, partition key = symbol). It records
 * what it forwarded so tests can compare Redis with exactly what entered Kinesis.
 */
import WebSocket from 'ws';
import { decodeFrame } from '../../../../src/binance/sbe-decode.js';
import { streamKeyOf, type MarketEvent, type TradeEvent } from '../../../../src/core/events.js';
import { localKinesisClient } from '../../../../src/kinesis/embedded.js';
import { KinesisProducer } from '../../../../src/kinesis/producer.js';

export interface StreamNames {
  trade: string;
  bestbidask: string;
  depth: string;
}

export interface SbePipe {
  trades: TradeEvent[];
  forwarded(): number;
  stop(): Promise<void>;
}

export async function startSbePipe(opts: {
  wsUrl: string;
  symbols: string[];
  kinesisEndpoint: string;
  streams: StreamNames;
  /** Subscribed stream types (default all three). */
  types?: ('trade' | 'bestBidAsk' | 'depth')[];
}): Promise<SbePipe> {
  const client = localKinesisClient(opts.kinesisEndpoint);
  const producer = new KinesisProducer({ client, lingerMs: 5, streams: [] });
  await producer.start();
  const trades: TradeEvent[] = [];
  let forwarded = 0;
  const names = opts.symbols.flatMap((s) => (opts.types ?? ['trade', 'bestBidAsk', 'depth']).map((t) => `${s.toLowerCase()}@${t}`));
  const ws = new WebSocket(`${opts.wsUrl}/stream?streams=${names.join('/')}`, { headers: { 'X-MBX-APIKEY': 'test-key' } });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const recv = Date.now() * 1000;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    let events: MarketEvent[];
    try {
      events = decodeFrame(buf, recv);
    } catch {
      return;
    }
    for (const ev of events) {
      if (ev.type === 'depthSnapshot') continue;
      if (ev.type === 'trade') trades.push(ev);
      producer.putEvent(opts.streams[streamKeyOf(ev.type)], ev);
      forwarded++;
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    trades,
    forwarded: () => forwarded,
    async stop() {
      ws.removeAllListeners('message');
      ws.close();
      await producer.close(5000);
      client.destroy();
    },
  };
}
