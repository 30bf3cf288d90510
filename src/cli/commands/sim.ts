/**
 * `btcpipe sim`: serve the Binance-compatible venue simulator on loopback until SIGINT/SIGTERM. Prints one
 * line with its URLs once both ports accept connections.
 */
import { InvalidArgumentError, type Command } from 'commander';
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
  symbols: string[];
  seed: number;
  rate?: number;
  depthIntervalMs?: number;
  maxConnectionSeconds?: number;
  pingIntervalSeconds?: number;
  apiKeys?: string[];
  weightLimit?: number;
  banSeconds?: number;
}

export function register(program: Command): void {
  program
    .command('sim')
    .description('serve a Binance-compatible venue (SBE WebSocket + REST + /sim control API) over a seeded synthetic market')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--rest-port <port>', 'REST and /sim port (0 = free port)', int('--rest-port', 0, 65535), 8090)
    .option('--ws-port <port>', 'SBE WebSocket port (0 = free port)', int('--ws-port', 0, 65535), 9443)
    .option('--symbols <list>', 'comma-separated symbols', list, ['BTCUSDT'])
    .option('--seed <n>', 'market seed', int('--seed', -(2 ** 31), 2 ** 31 - 1), 1)
    .option('--rate <eventsPerSecond>', 'order-flow actions per second per symbol (default 50)', positiveNumber('--rate'))
    .option('--depth-interval-ms <ms>', 'depth-diff interval (default 100, shorter at high rates)', positiveNumber('--depth-interval-ms'))
    .option('--max-connection-seconds <s>', 'WebSocket connection lifetime (default 86400)', positiveNumber('--max-connection-seconds'))
    .option('--ping-interval-seconds <s>', 'server ping interval (default 20)', positiveNumber('--ping-interval-seconds'))
    .option('--api-keys <list>', 'accepted X-MBX-APIKEY values (default: any non-empty key; env BTCPIPE_SIM_API_KEYS)', list)
    .option('--weight-limit <n>', 'REQUEST_WEIGHT per minute per IP (default 1200)', int('--weight-limit', 1, 10_000_000))
    .option('--ban-seconds <s>', '418 ban length (default 120)', positiveNumber('--ban-seconds'))
    .action(async (o: SimCliOptions) => {
      const apiKeys = o.apiKeys ?? (process.env.BTCPIPE_SIM_API_KEYS ? list(process.env.BTCPIPE_SIM_API_KEYS) : undefined);
      const sim = await startSimulator({
        host: o.host,
        restPort: o.restPort,
        wsPort: o.wsPort,
        symbols: o.symbols.map((s) => s.toUpperCase()),
        seed: o.seed,
        rate: o.rate,
        depthIntervalMs: o.depthIntervalMs,
        maxConnectionSeconds: o.maxConnectionSeconds,
        pingIntervalMs: o.pingIntervalSeconds === undefined ? undefined : o.pingIntervalSeconds * 1000,
        apiKeys,
        weightLimitPerMinute: o.weightLimit,
        banSeconds: o.banSeconds,
      });
      process.stdout.write(
        `btcpipe sim: rest ${sim.restUrl} ws ${sim.wsUrl} symbols ${sim.symbols.join(',')} seed ${sim.seed} rate ${sim.rate}/s` +
          `${apiKeys ? ` api-keys ${apiKeys.length}` : ''}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.stop();
    });
}
