import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../../ops/config.js';
import { createLogger } from '../../ops/logger.js';
import { symbolKeys } from '../../redis/keys.js';
import { startDashboard } from '../../services/dashboard.js';
import { stopOnSignals } from '../../services/service.js';

/**
 * `btcpipe dashboard`: the dashboard `btcpipe up` serves, on its own, for a stack started some other way
 * (compose.yaml, separate terminals). Redis and the symbols come from the config; the services' health
 * URLs and extra links are given as name=url pairs.
 */

interface DashboardCliOptions {
  config: string;
  port: string;
  host: string;
  service: Record<string, string>;
  link: Record<string, string>;
}

/** Collects repeated `name=url` options into a record; refuses anything else with the option's name. */
export function namedUrl(option: string) {
  return (value: string, acc: Record<string, string> = {}): Record<string, string> => {
    const m = /^([A-Za-z0-9 _.-]+)=(https?:\/\/\S+)$/.exec(value);
    if (!m) throw new Error(`${option} expects name=http://host:port, got ${JSON.stringify(value)}`);
    return { ...acc, [m[1]]: m[2] };
  };
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve the dashboard for a running stack (Redis and symbols from the config)')
    .option('--config <file>', 'config naming Redis and the symbols (REDIS_HOST, REDIS_PORT, BINANCE_SYMBOLS override it)', 'config/local.yaml')
    .option('--port <port>', 'dashboard port', '8088')
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--service <name=url>', "a service's health server, e.g. aggregator=http://127.0.0.1:8082 (repeatable)", namedUrl('--service'), {})
    .option('--link <name=url>', 'an extra link shown on the page (repeatable)', namedUrl('--link'), {})
    .action(async (opts: DashboardCliOptions) => {
      let config;
      try {
        config = loadConfig(opts.config, { mode: 'aggregator' });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`btcpipe: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      if (config.redis.cluster) {
        process.stderr.write('btcpipe: the dashboard reads one Redis node; redis.cluster is not supported here\n');
        process.exit(2);
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${JSON.stringify(opts.port)}`);
      const logger = createLogger({ service: 'btcpipe-dashboard', level: config.logging.level });
      const redis = new Redis({ host: config.redis.host, port: config.redis.port, maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      const dashboard = await startDashboard({
        port,
        host: opts.host,
        redis,
        symbols: config.binance.symbols,
        services: opts.service,
        links: opts.link,
        keyOf: (s) => symbolKeys(s),
      });
      logger.info({ url: `http://${opts.host}:${dashboard.port}/`, redis: `${config.redis.host}:${config.redis.port}` }, 'dashboard running');
      stopOnSignals(async () => {
        await dashboard.close();
        redis.disconnect();
      }, logger);
    });
}
