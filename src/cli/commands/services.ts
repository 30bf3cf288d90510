import type { Command } from 'commander';
import { ConfigError, loadConfig, type ServiceMode } from '../../ops/config.js';
import { createLogger } from '../../ops/logger.js';
import { runService, stopOnSignals, type Service } from '../../services/service.js';
import type { BtcpipeConfig } from '../../ops/config.js';
import type { Logger } from '../../ops/logger.js';

const DEFAULT_CONFIG: Record<ServiceMode, string> = {
  sbe: 'config/sbe.yaml',
  rest: 'config/rest.yaml',
  aggregator: 'config/aggregator.yaml',
  archive: 'config/archive.yaml',
};

/** Services are loaded lazily so `btcpipe decode` does not pay for the AWS SDK and friends. */
async function createService(mode: ServiceMode, config: BtcpipeConfig, logger: Logger): Promise<Service> {
  switch (mode) {
    case 'sbe':
      return (await import('../../services/ingest-sbe.js')).createSbeIngestService(config, logger);
    case 'rest':
      return (await import('../../services/ingest-rest.js')).createRestIngestService(config, logger);
    case 'aggregator':
      return (await import('../../services/aggregate.js')).createAggregatorService(config, logger);
    case 'archive':
      return (await import('../../services/archive.js')).createArchiveService(config, logger);
  }
}

async function startFromCli(mode: ServiceMode, configFile: string | undefined): Promise<void> {
  const file = configFile ?? process.env.CONFIG_FILE ?? DEFAULT_CONFIG[mode];
  let config: BtcpipeConfig;
  try {
    config = loadConfig(file, { mode });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`btcpipe: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ service: config.service_name, level: config.logging.level });
  const service = await createService(mode, config, logger);
  const running = await runService(service, config, logger);
  stopOnSignals(running.stop, logger);
}

function parseMode(value: string | undefined): ServiceMode {
  const m = value ?? process.env.MODE;
  if (!m) throw new Error(`--mode is required (or MODE=…): one of sbe, rest`);
  if (m !== 'sbe' && m !== 'rest') {
    throw new Error(`unknown ingest mode ${JSON.stringify(m)}: one of sbe, rest (the aggregator is \`btcpipe aggregate\`)`);
  }
  return m;
}

export function register(program: Command): void {
  program
    .command('ingest')
    .description('run the ingestor: --mode sbe (WebSocket → Kinesis hot path) or --mode rest (gap detection, re-anchor, data lake)')
    .option('--mode <mode>', 'sbe | rest (default: $MODE)')
    .option('--config <file>', 'YAML config (default: $CONFIG_FILE, else config/sbe.yaml or config/rest.yaml)')
    .action(async (opts: { mode?: string; config?: string }) => {
      await startFromCli(parseMode(opts.mode), opts.config);
    });
  program
    .command('aggregate')
    .description('run the aggregator: Kinesis → exact order book, windows and features → Redis')
    .option('--config <file>', 'YAML config (default: $CONFIG_FILE, else config/aggregator.yaml)')
    .action(async (opts: { config?: string }) => {
      await startFromCli('aggregator', opts.config);
    });
  program
    .command('archive')
    .description('run the lake archiver: every Kinesis event (depth diffs, trades, best bid/ask) and the re-anchor snapshots → Parquet, sequence-checked')
    .option('--config <file>', 'YAML config (default: $CONFIG_FILE, else config/archive.yaml)')
    .action(async (opts: { config?: string }) => {
      await startFromCli('archive', opts.config);
    });
}
