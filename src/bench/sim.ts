/**
 * Bench section "sim": how fast the venue simulator produces and serves market data.
 *  - engine: order-flow actions/s and events/s of the pure MarketEngine on a virtual clock (no I/O);
 *  - loopback: a live simulator at a load-test rate with WebSocket clients (in a worker thread, so they
 *    use the second core) subscribed to every stream; frames/s generated, sent and received, MB/s,
 *    frames dropped for slow consumers.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { MarketEngine } from '../sim/engine.js';
import { startSimulator } from '../sim/index.js';
import { symbolSpec } from '../sim/symbols.js';
import type { BenchSection } from './index.js';

export interface SimBenchResult {
  engine: { actionsPerSec: number; eventsPerSec: number; bookUpdatesPerSec: number; tradesPerSec: number };
  loopback: {
    rate: number;
    clients: number;
    seconds: number;
    generatedFramesPerSec: number;
    sentFramesPerSec: number;
    receivedFramesPerSec: number;
    receivedMBPerSec: number;
    bookUpdatesPerSec: number;
    tradesPerSec: number;
    overflowed: number;
  };
}

const round = (x: number): number => Math.round(x);

function engineBench(quick: boolean): SimBenchResult['engine'] {
  const rate = 200_000;
  const start = 1_767_225_600_000_000;
  const e = new MarketEngine({ spec: symbolSpec('BTCUSDT'), seed: 1, startTimeUs: start, ratePerSec: rate });
  e.advance(start + 200_000); // warm-up
  const u0 = e.lastUpdateId;
  const tr0 = e.trades.newestId;
  const virtualSec = quick ? 1 : 3;
  let events = 0;
  const t0 = performance.now();
  for (let i = 1; i <= virtualSec * 100; i++) events += e.advance(start + 200_000 + i * 10_000).length;
  const sec = (performance.now() - t0) / 1000;
  return {
    actionsPerSec: round((rate * virtualSec) / sec),
    eventsPerSec: round(events / sec),
    bookUpdatesPerSec: round((e.lastUpdateId - u0) / sec),
    tradesPerSec: round((e.trades.newestId - tr0) / sec),
  };
}

// Plain CommonJS so it can run as an eval'd worker; it only counts frames and bytes.
const CLIENT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.wsPath);
let frames = 0, bytes = 0;
const sockets = [];
for (let i = 0; i < workerData.clients; i++) {
  const ws = new WebSocket(workerData.url, { headers: { 'X-MBX-APIKEY': 'bench' } });
  ws.on('message', (d, isBinary) => { if (isBinary) { frames++; bytes += d.length; } });
  ws.on('open', () => { if (sockets.push(ws) === workerData.clients) parentPort.postMessage({ open: true }); });
}
parentPort.on('message', (m) => {
  if (m === 'sample') parentPort.postMessage({ frames, bytes });
  if (m === 'stop') { for (const s of sockets) s.close(); parentPort.postMessage({ frames, bytes, done: true }); }
});
`;

async function loopbackBench(quick: boolean): Promise<SimBenchResult['loopback']> {
  const rate = 100_000;
  const clients = 2;
  const seconds = quick ? 1 : 5;
  const sim = await startSimulator({ rate, seed: 1 });
  const worker = new Worker(CLIENT_WORKER, {
    eval: true,
    workerData: {
      wsPath: createRequire(import.meta.url).resolve('ws'),
      clients,
      url: `${sim.wsUrl}/stream?streams=btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth/btcusdt@depth20`,
    },
  });
  type Sample = { frames: number; bytes: number; open?: boolean };
  const next = (): Promise<Sample> => new Promise((resolve) => worker.once('message', (m: Sample) => resolve(m)));
  try {
    await next(); // all clients connected
    await new Promise((r) => setTimeout(r, 300));
    const sum = (key: 'generated' | 'sent' | 'overflowed'): number =>
      Object.values(sim.stats().streams).reduce((s, c) => s + c[key], 0);
    const engine = sim.engine('BTCUSDT');
    if (!engine) throw new Error('simulator has no BTCUSDT engine');
    const g0 = sum('generated');
    const s0 = sum('sent');
    const o0 = sum('overflowed');
    const u0 = engine.lastUpdateId;
    const tr0 = engine.trades.newestId;
    worker.postMessage('sample');
    const r0 = await next();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    worker.postMessage('sample');
    const r1 = await next();
    const sec = (performance.now() - t0) / 1000;
    return {
      rate,
      clients,
      seconds: Math.round(sec * 100) / 100,
      generatedFramesPerSec: round((sum('generated') - g0) / sec),
      sentFramesPerSec: round((sum('sent') - s0) / sec),
      receivedFramesPerSec: round((r1.frames - r0.frames) / sec),
      receivedMBPerSec: Math.round(((r1.bytes - r0.bytes) / sec / 1e6) * 10) / 10,
      bookUpdatesPerSec: round((engine.lastUpdateId - u0) / sec),
      tradesPerSec: round((engine.trades.newestId - tr0) / sec),
      overflowed: sum('overflowed') - o0,
    };
  } finally {
    worker.postMessage('stop');
    await next().catch(() => undefined);
    await worker.terminate();
    await sim.stop();
  }
}

export async function runSimBench(quick: boolean): Promise<SimBenchResult> {
  const engine = engineBench(quick);
  const loopback = await loopbackBench(quick);
  return { engine, loopback };
}

export const simSection: BenchSection = {
  name: 'sim',
  async run({ json, quick }) {
    const r = await runSimBench(quick);
    if (!json) {
      const e = r.engine;
      const l = r.loopback;
      process.stdout.write(
        `sim engine (virtual clock): ${e.actionsPerSec} actions/s → ${e.eventsPerSec} events/s, ` +
          `${e.bookUpdatesPerSec} book updates/s, ${e.tradesPerSec} trades/s\n` +
          `sim loopback (rate ${l.rate}/s, ${l.clients} clients × 4 streams, ${l.seconds} s): ` +
          `generated ${l.generatedFramesPerSec} frames/s, sent ${l.sentFramesPerSec} frames/s, ` +
          `received ${l.receivedFramesPerSec} frames/s (${l.receivedMBPerSec} MB/s), ` +
          `${l.bookUpdatesPerSec} book updates/s, ${l.tradesPerSec} trades/s, overflowed ${l.overflowed}\n`,
      );
    }
    return r;
  },
};
