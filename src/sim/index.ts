/**
 * Binance-compatible venue simulator — the programmatic API used by tests, services, benches and
 * `btcpipe up` (and by `btcpipe sim`). Stable contract:
 *
 *   const sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 1, rate: 50 });
 *   sim.restUrl   // "http://127.0.0.1:<restPort>"  → /api/v3/{ping,time,exchangeInfo,depth,trades,aggTrades,klines}
 *                 //                                   (X-MBX-TIME-UNIT: MICROSECOND supported)
 *                 //                                   and /sim/truth/book?symbol&updateId&limit, /sim/truth/trades?symbol&fromId&limit,
 *                 //                                   /sim/stats, GET|POST|DELETE /sim/faults, /sim/faults/log (bounded)
 *   sim.wsUrl     // "ws://127.0.0.1:<wsPort>"      → /ws/<stream>, /stream?streams=a/b (X-MBX-APIKEY required)
 *   sim.restPort, sim.wsPort, sim.symbols
 *   sim.stats()                // same object as GET /sim/stats
 *   sim.setFaults(spec)        // same as POST /sim/faults (throws FaultSpecError with the reason)
 *   sim.clearFaults()          // same as DELETE /sim/faults
 *   sim.engine('BTCUSDT')      // the live MarketEngine (ground truth in-process)
 *   await sim.stop()           // closes every socket and timer
 *
 * Ports default to 0 (free ports picked by the kernel); the CLI defaults to 8090 / 9443. Streams are
 * `<symbol lowercase>@trade|@bestBidAsk|@depth|@depth20`. Prices/quantities use the instrument's tick and
 * lot (BTCUSDT 0.01 / 0.00001), exponent -8 on the wire, 8-decimal strings in REST JSON.
 */
import { SymbolError, symbolSpec } from './symbols.js';
import { FaultInjector, parseFaultSpec, type FaultSpec } from './faults.js';
import type { MarketEngine } from './engine.js';
import { DEFAULT_RATE } from './engine.js';
import type { HistoryLimits } from './history.js';
import { SimMarket } from './market.js';
import { SimRestServer } from './rest.js';
import { SimStats, type SimStatsSnapshot } from './stats.js';
import { SbeWebSocketServer } from './ws.js';
import { DEFAULT_WEIGHT_LIMIT_PER_MINUTE } from '../binance/rest-weights.js';

export interface SimulatorOptions {
  /** Interface to bind; default 127.0.0.1 (loopback only). */
  host?: string;
  /** REST + /sim control port; 0 (default) picks a free one. */
  restPort?: number;
  /** SBE WebSocket port; 0 (default) picks a free one. */
  wsPort?: number;
  /** Upper-case symbols; default ['BTCUSDT']. */
  symbols?: string[];
  /** Market seed; the same seed and clock give the same market. Default 1. */
  seed?: number;
  /** Order-flow actions per second per symbol; default 50 (tens of trades/s). Load tests: 50,000+. */
  rate?: number;
  /** Depth-diff interval (default 100 ms, shorter at rates above 1,000/s). */
  depthIntervalMs?: number;
  /** @depth20 snapshot interval (default 100 ms). */
  depth20IntervalMs?: number;
  /** Market timer period (default 10 ms; 2 ms above 5,000 actions/s). */
  tickMs?: number;
  /** Accepted WebSocket API keys; unset → any non-empty key is accepted. */
  apiKeys?: string[];
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Connection lifetime before serverShutdown + close; default 24 h. */
  maxConnectionSeconds?: number;
  /** Per-connection send buffer bound; default 8 MiB. */
  maxBufferedBytes?: number;
  maxClientMessagesPerSec?: number;
  /** REQUEST_WEIGHT per minute per IP; default 1200. */
  weightLimitPerMinute?: number;
  /** 418 ban length after sending during a 429 window; default 120 s. */
  banSeconds?: number;
  /** Ground-truth retention (default 10 min, bounded by count at load-test rates). */
  history?: Partial<HistoryLimits>;
}

export interface Simulator {
  restUrl: string;
  wsUrl: string;
  restPort: number;
  wsPort: number;
  symbols: string[];
  seed: number;
  rate: number;
  stats(): SimStatsSnapshot;
  engine(symbol: string): MarketEngine | undefined;
  setFaults(spec: unknown): FaultSpec;
  clearFaults(): void;
  stop(): Promise<void>;
}

export class SimulatorConfigError extends Error {
  override readonly name = 'SimulatorConfigError';
}

function positive(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isFinite(x) || x <= 0) throw new SimulatorConfigError(`${name} must be a positive number, got ${v}`);
  return x;
}

function port(name: string, v: number | undefined): number {
  const p = v ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new SimulatorConfigError(`${name} must be 0-65535, got ${v}`);
  return p;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const symbols = [...new Set(opts.symbols?.length ? opts.symbols : ['BTCUSDT'])];
  for (const s of symbols) {
    try {
      symbolSpec(s);
    } catch (err) {
      if (err instanceof SymbolError) throw new SimulatorConfigError(err.message);
      throw err;
    }
  }
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new SimulatorConfigError(`seed must be an integer, got ${opts.seed}`);
  const rate = positive('rate', opts.rate, DEFAULT_RATE);
  const restPort = port('restPort', opts.restPort);
  const wsPort = port('wsPort', opts.wsPort);

  const stats = new SimStats();
  const faults = new FaultInjector(seed);
  const wsServer = new SbeWebSocketServer(
    {
      host,
      port: wsPort,
      apiKeys: opts.apiKeys?.length ? new Set(opts.apiKeys) : undefined,
      pingIntervalMs: positive('pingIntervalMs', opts.pingIntervalMs, 20_000),
      pongTimeoutMs: positive('pongTimeoutMs', opts.pongTimeoutMs, 60_000),
      maxConnectionMs: positive('maxConnectionSeconds', opts.maxConnectionSeconds, 86_400) * 1000,
      maxBufferedBytes: positive('maxBufferedBytes', opts.maxBufferedBytes, 8 * 1024 * 1024),
      maxClientMessagesPerSec: positive('maxClientMessagesPerSec', opts.maxClientMessagesPerSec, 5),
      maxStreamsPerConnection: 1024,
      symbols,
    },
    stats,
    faults,
  );
  const market = new SimMarket(
    {
      symbols,
      seed,
      ratePerSec: rate,
      depthIntervalMs: opts.depthIntervalMs,
      depth20IntervalMs: opts.depth20IntervalMs,
      tickMs: opts.tickMs,
      history: opts.history,
    },
    (frame) => wsServer.publish(frame),
  );
  const rest = new SimRestServer(
    {
      host,
      port: restPort,
      weightLimitPerMinute: positive('weightLimitPerMinute', opts.weightLimitPerMinute, DEFAULT_WEIGHT_LIMIT_PER_MINUTE),
      banSeconds: positive('banSeconds', opts.banSeconds, 120),
      marketStartMs: Date.now(),
    },
    market,
    stats,
    faults,
    () => wsServer.faultsChanged(),
  );
  let actualRest: number;
  let actualWs: number;
  try {
    actualRest = await rest.listen();
    actualWs = await wsServer.listen();
  } catch (err) {
    await Promise.allSettled([rest.close(), wsServer.close()]);
    throw err;
  }
  market.start();

  let stopped = false;
  return {
    restUrl: `http://${host}:${actualRest}`,
    wsUrl: `ws://${host}:${actualWs}`,
    restPort: actualRest,
    wsPort: actualWs,
    symbols,
    seed,
    rate,
    stats: () => stats.snapshot(),
    engine: (symbol) => market.engine(symbol),
    setFaults(spec) {
      const parsed = parseFaultSpec(spec);
      faults.set(parsed, Date.now());
      wsServer.faultsChanged();
      return faults.active(Date.now());
    },
    clearFaults() {
      faults.clear();
      wsServer.faultsChanged();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      market.stop();
      await Promise.all([wsServer.close(), rest.close()]);
    },
  };
}

export { FaultSpecError, type FaultSpec } from './faults.js';
export type { SimStatsSnapshot } from './stats.js';
export type { MarketEngine } from './engine.js';
