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
 * lot (BTCUSDT 0.01 / 0.00001, exponents -8 on the wire; DOGEUSDT and ETHBTC use other ticks and exponents),
 * 8-decimal strings in REST JSON.
 *
 * `rough: true` turns on every way the real venue is harsher than a kind simulator (each seeded, each also
 * settable on its own): several symbols, @depth every 20 ms, a book deeper than a 5,000-level snapshot,
 * empty depth diffs, bestBidAsk culling, REST snapshots behind the stream, and serverShutdown at random
 * times in both forms. Faults stay per /sim/faults.
 */
import { ROUGH_SYMBOLS, SymbolError, symbolSpec } from './symbols.js';
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
  /**
   * Depth-diff interval. Default 100 ms (shorter at rates above 1,000/s), which keeps test suites that
   * run many simulators light; the venue sends every 20 ms, as `rough` and the `btcpipe sim` CLI do.
   */
  depthIntervalMs?: number;
  /** @depth20 snapshot interval (default 100 ms; 50 ms under `rough`, as the venue). */
  depth20IntervalMs?: number;
  /** Every venue roughness below at once (defaults noted per option); explicit options still win. */
  rough?: boolean;
  /** A book deeper than a 5,000-level snapshot per side (rough: on). Costs memory and CPU. */
  deepBook?: boolean;
  /** Share of order-flow actions that are updates no level shows, so some diffs are empty (rough: 0.05). */
  emptyUpdateProbability?: number;
  /** Probability that a superseded bestBidAsk in one market tick is culled (rough: 0.5). */
  cullBestBidAsk?: number;
  /** Mean seconds (after 1 s) before each connection gets a random serverShutdown (rough: 30). */
  randomShutdownMeanSeconds?: number;
  /** Share of /api/v3/depth answers that lag the stream by 1..maxUpdates updates (rough: 0.3, 200). */
  snapshotLag?: { probability: number; maxUpdates: number };
  /** Market timer period (default 10 ms at every rate: each tick is one socket write per connection). */
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
  /** REQUEST_WEIGHT per minute per IP, published in exchangeInfo; default 6,000 (Binance's). */
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

function unitInterval(name: string, v: number, open = false): number {
  if (!Number.isFinite(v) || v < 0 || (open ? v >= 1 : v > 1)) {
    throw new SimulatorConfigError(`${name} must be in [0, 1${open ? ')' : ']'}, got ${v}`);
  }
  return v;
}

function port(name: string, v: number | undefined): number {
  const p = v ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new SimulatorConfigError(`${name} must be 0-65535, got ${v}`);
  return p;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const rough = opts.rough === true;
  const symbols = [...new Set(opts.symbols?.length ? opts.symbols : rough ? ROUGH_SYMBOLS : ['BTCUSDT'])];
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
  const emptyUpdateProbability = unitInterval('emptyUpdateProbability', opts.emptyUpdateProbability ?? (rough ? 0.05 : 0), true);
  const cullBestBidAsk = unitInterval('cullBestBidAsk', opts.cullBestBidAsk ?? (rough ? 0.5 : 0));
  const shutdownMean = opts.randomShutdownMeanSeconds ?? (rough ? 30 : undefined);
  const lag = opts.snapshotLag ?? (rough ? { probability: 0.3, maxUpdates: 200 } : undefined);
  if (lag) {
    unitInterval('snapshotLag.probability', lag.probability);
    if (!Number.isSafeInteger(lag.maxUpdates) || lag.maxUpdates < 1) {
      throw new SimulatorConfigError(`snapshotLag.maxUpdates must be a positive integer, got ${lag.maxUpdates}`);
    }
  }

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
      randomShutdown:
        shutdownMean === undefined
          ? undefined
          : { meanMs: positive('randomShutdownMeanSeconds', shutdownMean, 30) * 1000, seed },
    },
    stats,
    faults,
  );
  const market = new SimMarket(
    {
      symbols,
      seed,
      ratePerSec: rate,
      depthIntervalMs: opts.depthIntervalMs ?? (rough ? 20 : undefined),
      depth20IntervalMs: opts.depth20IntervalMs ?? (rough ? 50 : undefined),
      tickMs: opts.tickMs,
      history: opts.history,
      deepBook: opts.deepBook ?? rough,
      emptyUpdateProbability,
      cullBestBidAsk,
      onCulled: (stream) => {
        stats.stream(stream).culled += 1;
      },
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
      snapshotLag: lag ? { ...lag, seed } : undefined,
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
