import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { Redis } from 'ioredis';
import { configuredPorts, LocalStack, parseSymbolList, readConfigDoc, StackStartError } from '../../chaos/stack.js';
import { busyPortMessage, findPortHolder, portIsFree } from '../../chaos/port-holder.js';
import { npmLauncherGone } from '../../chaos/launcher-watch.js';
import { startDashboard, type Dashboard } from '../../services/dashboard.js';
import { symbolKeys } from '../../redis/keys.js';

/**
 * `btcpipe up`: the whole pipeline on one machine — redis-server (unless one answers), kinesis-local with
 * the streams, the venue simulator, both ingestor modes and the aggregator (each its own process, exactly
 * as they run alone), and the dashboard. Logs go to ./data/logs/<name>.log; warnings and errors also to
 * the console. SIGINT (Ctrl-C), SIGTERM and SIGHUP stop everything (also when the `npx` that ran it is
 * stopped); if `up` itself is killed, its watchdog does.
 */

interface UpOptions {
  config: string;
  rate?: string;
  seed: string;
  symbols?: string[];
  dashboardPort: string;
  duration?: string;
  logs: string;
}

function say(msg: string): void {
  process.stdout.write(`[up] ${msg}\n`);
}

function symbolsOption(v: string): string[] {
  try {
    return parseSymbolList(v);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

async function up(opts: UpOptions): Promise<void> {
  // A closed terminal or a parent that stopped reading must not turn the shutdown into a crash.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const logsDir = resolve(opts.logs);
  let stoppingAll = false;
  const stack = new LocalStack({
    configFile: opts.config,
    runDir: logsDir,
    logsDir,
    ports: configuredPorts(readConfigDoc(opts.config)),
    symbols: opts.symbols,
    seed: Number(opts.seed),
    rate: opts.rate === undefined ? undefined : Number(opts.rate),
    reuseRedis: true,
    archive: true,
    say,
    onLine: (name, line) => {
      // pino levels: 40 warn, 50 error, 60 fatal. Non-JSON lines (start-up banners) are shown as they are.
      const m = /"level":(\d+)/.exec(line);
      if (!m || Number(m[1]) >= 40) process.stdout.write(`[${name}] ${line}\n`);
    },
    onUnexpectedExit: (name, code, signal) => {
      // Ctrl-C reaches every child as well as up: 130 is a service's "second signal" exit.
      if (stoppingAll && (code === 130 || code === 0)) return;
      say(`${name} exited (code ${code}, signal ${signal})`);
    },
  });
  let dashboard: Dashboard | undefined;
  let reader: Redis | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      stoppingAll = true;
      say('stopping…');
      await dashboard?.close();
      reader?.disconnect();
      await stack.stop();
      say('stopped');
    })());
  const exitAfterStop = (code: number) => (): void => {
    void stopAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', exitAfterStop(0));
  process.on('SIGTERM', exitAfterStop(0));
  process.on('SIGHUP', exitAfterStop(0));
  const launcherGone = npmLauncherGone();
  if (launcherGone) {
    setInterval(() => {
      if (launcherGone()) exitAfterStop(0)();
    }, 1000).unref();
  }

  try {
    const dashboardPort = Number(opts.dashboardPort);
    if (!(await portIsFree(dashboardPort))) throw new StackStartError(busyPortMessage(dashboardPort, 'dashboard', findPortHolder(dashboardPort)));
    await stack.start();
    reader = new Redis({ host: '127.0.0.1', port: stack.redis?.port ?? configuredPorts(readConfigDoc(opts.config)).redis, maxRetriesPerRequest: 1 });
    reader.on('error', () => undefined);
    const health: Record<string, string> = {};
    for (const s of stack.services) health[s] = stack.healthUrl(s);
    dashboard = await startDashboard({
      port: dashboardPort,
      redis: reader,
      symbols: stack.symbols,
      services: health,
      links: { 'simulator stats': `${stack.simUrl}/sim/stats` },
      keyOf: (s) => symbolKeys(s),
    });
    say(`dashboard: http://127.0.0.1:${dashboard.port}/   logs: ${logsDir}   (Ctrl-C stops everything)`);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof StackStartError) process.stderr.write(`btcpipe up: ${msg}\n`);
    else say(`start-up failed: ${msg}`);
    await stopAll();
    process.exit(1);
  }
  if (opts.duration) setTimeout(exitAfterStop(0), Number(opts.duration) * 1000);
}

export function register(program: Command): void {
  program
    .command('up')
    .description('bring the whole pipeline up on embedded defaults: simulator, kinesis-local, redis-server, all services, dashboard')
    .option('--config <file>', 'config shared by the services (ports, symbols and lake folder come from it)', 'config/local.yaml')
    .option('--symbols <list>', "comma-separated symbols, e.g. BTCUSDT,ETHUSDT (default: the config's binance.symbols)", symbolsOption)
    .option('--rate <eventsPerSecond>', 'simulator order-flow actions per second, per symbol (default: realistic)')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--dashboard-port <port>', 'dashboard port', '8088')
    .option('--duration <seconds>', 'stop by itself after this many seconds')
    .option('--logs <dir>', 'where each process writes its log (and the derived config stack.yaml)', 'data/logs')
    .action(async (opts: UpOptions) => {
      await up(opts);
    });
}
