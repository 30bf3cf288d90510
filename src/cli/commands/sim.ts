/**
 * `btcpipe sim`: serve the Binance-compatible venue simulator on loopback until SIGINT/SIGTERM. Prints one
 * line with its URLs once both ports accept connections. Diffs go out every 20 ms, as on the venue;
 * `--rough` adds every other way the venue is harsher than a kind simulator.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_RATE, defaultDepthIntervalUs } from '../../sim/engine.js';
import { startSimulator } from '../../sim/index.js';

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be in [${min}, ${max}]`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function probability(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`${name} must be a number in [0, 1]`);
    return n;
  };
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

interface SimCliOptions {
  host: string;
  restPort: number;
  wsPort: number;
  symbols?: string[];
  seed: number;
  rate?: number;
  depthIntervalMs?: number;
  maxConnectionSeconds?: number;
  pingIntervalSeconds?: number;
  apiKeys?: string[];
  weightLimit?: number;
  banSeconds?: number;
  rough?: boolean;
  deepBook?: boolean;
  emptyUpdates?: number;
  cullBestBidAsk?: number;
  randomShutdownSeconds?: number;
}

/** The CLI serves @depth at the venue's cadence; the programmatic default is kept lighter for test suites. */
const CLI_DEPTH_INTERVAL_MS = 20;

export function register(program: Command): void {
  program
    .command('sim')
    .description('serve a Binance-compatible venue (SBE WebSocket + REST + /sim control API) over a seeded synthetic market')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--rest-port <port>', 'REST and /sim port (0 = free port)', int('--rest-port', 0, 65535), 8090)
    .option('--ws-port <port>', 'SBE WebSocket port (0 = free port)', int('--ws-port', 0, 65535), 9443)
    .option('--symbols <list>', 'comma-separated symbols (default BTCUSDT; with --rough BTCUSDT,DOGEUSDT,ETHBTC)', list)
    .option('--seed <n>', 'market seed', int('--seed', -(2 ** 31), 2 ** 31 - 1), 1)
    .option('--rate <eventsPerSecond>', 'order-flow actions per second per symbol (default 50)', positiveNumber('--rate'))
    .option('--depth-interval-ms <ms>', `depth-diff interval (default ${CLI_DEPTH_INTERVAL_MS} as Binance, shorter above 5,000 actions/s)`, positiveNumber('--depth-interval-ms'))
    .option('--max-connection-seconds <s>', 'WebSocket connection lifetime (default 86400)', positiveNumber('--max-connection-seconds'))
    .option('--ping-interval-seconds <s>', 'server ping interval (default 20)', positiveNumber('--ping-interval-seconds'))
    .option('--api-keys <list>', 'accepted X-MBX-APIKEY values (default: any non-empty key; env BTCPIPE_SIM_API_KEYS)', list)
    .option('--weight-limit <n>', 'REQUEST_WEIGHT per minute per IP, published in exchangeInfo (default 6000)', int('--weight-limit', 1, 10_000_000))
    .option('--ban-seconds <s>', '418 ban length (default 120)', positiveNumber('--ban-seconds'))
    .option(
      '--rough',
      'a venue as rough as the real one: several symbols, a book deeper than 5,000 levels, empty diffs, bestBidAsk culling, REST snapshots behind the stream, random serverShutdowns (plain and combined)',
    )
    .option('--deep-book', 'a book deeper than a 5,000-level snapshot per side (on with --rough)')
    .option('--empty-updates <p>', 'share of actions that are invisible updates, making empty diffs (0.05 with --rough)', probability('--empty-updates'))
    .option('--cull-best-bid-ask <p>', 'probability of culling a superseded bestBidAsk (0.5 with --rough)', probability('--cull-best-bid-ask'))
    .option(
      '--random-shutdown-seconds <s>',
      'mean seconds (after 1 s) before each connection gets a serverShutdown (30 with --rough)',
      positiveNumber('--random-shutdown-seconds'),
    )
    .action(async (o: SimCliOptions) => {
      const apiKeys = o.apiKeys ?? (process.env.BTCPIPE_SIM_API_KEYS ? list(process.env.BTCPIPE_SIM_API_KEYS) : undefined);
      const sim = await startSimulator({
        host: o.host,
        restPort: o.restPort,
        wsPort: o.wsPort,
        symbols: o.symbols?.map((s) => s.toUpperCase()),
        seed: o.seed,
        rate: o.rate,
        // Still shorter at load-test rates, as the programmatic default.
        depthIntervalMs: o.depthIntervalMs ?? Math.min(CLI_DEPTH_INTERVAL_MS, defaultDepthIntervalUs(o.rate ?? DEFAULT_RATE) / 1000),
        maxConnectionSeconds: o.maxConnectionSeconds,
        pingIntervalMs: o.pingIntervalSeconds === undefined ? undefined : o.pingIntervalSeconds * 1000,
        apiKeys,
        weightLimitPerMinute: o.weightLimit,
        banSeconds: o.banSeconds,
        rough: o.rough,
        deepBook: o.deepBook,
        emptyUpdateProbability: o.emptyUpdates,
        cullBestBidAsk: o.cullBestBidAsk,
        randomShutdownMeanSeconds: o.randomShutdownSeconds,
      });
      process.stdout.write(
        `btcpipe sim: rest ${sim.restUrl} ws ${sim.wsUrl} symbols ${sim.symbols.join(',')} seed ${sim.seed} rate ${sim.rate}/s` +
          `${o.rough ? ' rough' : ''}` +
          `${apiKeys ? ` api-keys ${apiKeys.length}` : ''}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.stop();
    });
}
