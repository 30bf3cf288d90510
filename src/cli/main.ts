import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { register as registerDecode } from './commands/decode.js';
import { register as registerBench } from './commands/bench.js';
import { register as registerReplay } from './commands/replay.js';
import { register as registerSim } from './commands/sim.js';
import { register as registerServices } from './commands/services.js';
import { register as registerUp } from './commands/up.js';
import { register as registerChaos } from './commands/chaos.js';
import { register as registerDashboard } from './commands/dashboard.js';
import { register as registerDataset } from './commands/dataset.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerRedisCluster } from './commands/redis-cluster.js';
import { register as registerKinesisLocal } from './commands/kinesis-local.js';

// Each command lives in its own module under ./commands and registers itself on the program.
const registrations: Array<(program: Command) => void> = [registerDecode, registerBench, registerReplay, registerSim, registerServices, registerUp, registerDashboard, registerChaos, registerTrain, registerDataset, registerRedisCluster, registerKinesisLocal];

const pkg = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8'),
) as { version: string };

const program = new Command()
  .name('btcpipe')
  .description('Binance SBE market-data pipeline: ingest → Kinesis → exact order book, windows and features in Redis')
  .version(pkg.version)
  .showHelpAfterError();

for (const register of registrations) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`btcpipe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
