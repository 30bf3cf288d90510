/**
 * `btcpipe chaos --duration S [--json] [--seed N]`: the whole local stack under a fault schedule, judged from
 * outside against the venue's truth. Progress goes to stderr, the report (table or JSON) to stdout; the exit
 * code is 1 when an invariant failed, 2 when the stack could not be run at all.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { runChaos } from '../../chaos/run.js';
import { formatReport } from '../../chaos/report.js';

function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return Number(v);
  };
}

interface ChaosCliOptions {
  duration: number;
  json?: boolean;
  seed: number;
  config: string;
  workdir?: string;
  keep?: boolean;
  rate?: number;
}

export function register(program: Command): void {
  program
    .command('chaos')
    .description('run the whole local stack under a fault schedule and check it against the venue: wrong or stale while live, stalls, crashes, lost trades, lake gaps')
    .option('--duration <seconds>', 'length of the fault schedule (start-up and the final checks come on top)', positiveInt('--duration'), 120)
    .option('--json', 'print the report as JSON instead of a table')
    .option('--seed <n>', 'simulator seed', positiveInt('--seed'), 1)
    .option('--config <file>', 'config the stack is derived from (ports, lake folder and a 5 s lake poll are set by chaos)', 'config/local.yaml')
    .option('--rate <eventsPerSecond>', 'simulator order-flow rate (default: the simulator default)', positiveInt('--rate'))
    .option('--workdir <dir>', 'keep logs, the derived config and the lake here (default: a temporary folder, removed after)')
    .option('--keep', 'keep the temporary folder and print its path')
    .action(async (o: ChaosCliOptions) => {
      process.stdout.on('error', () => undefined);
      let report;
      try {
        report = await runChaos({
          durationS: o.duration,
          seed: o.seed,
          configFile: o.config,
          workDir: o.workdir,
          keep: o.keep,
          rate: o.rate,
          progress: (m) => process.stderr.write(`[chaos] ${m}\n`),
        });
      } catch (err) {
        process.stderr.write(`btcpipe chaos: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(2);
      }
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      process.exit(report.ok ? 0 : 1);
    });
}
