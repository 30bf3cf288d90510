/**
 * `btcpipe train`: fit the baseline predictor on a `btcpipe dataset build` file, with a walk-forward table
 * against persistence; --out writes the model file the aggregator serves (processing.model_file).
 */
import type { Command } from 'commander';
import { renderTable, runTrain, trainJson } from '../../model/train.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`${name} must be a number >= 0, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('fit the baseline predictor (ridge return + logistic direction) on a dataset, walk-forward against persistence')
    .requiredOption('--dataset <file>', 'Parquet file from `btcpipe dataset build`')
    .option('--out <file>', 'write the model JSON here (served with processing.model_file)')
    .option('--folds <n>', 'walk-forward test folds (the rows are cut into n+1 parts)', positiveInt('--folds'), 5)
    .option('--symbol <symbol>', "symbol the model is for (default: the dataset's; the aggregator serves a model for its symbol only)")
    .option('--ridge-lambda <x>', 'L2 penalty of the return regression (standardized features)', nonNegative('--ridge-lambda'), 0.01)
    .option('--logit-lambda <x>', 'L2 penalty of the direction model (standardized features; > 0)', nonNegative('--logit-lambda'), 0.01)
    .option('--band-quantile <q>', "the flat band is this quantile of the training rows' spread_bp (0..1)", nonNegative('--band-quantile'), 0.95)
    .option('--json', 'print the table as JSON', false)
    .action(async (opts: { dataset: string; out?: string; folds: number; symbol?: string; ridgeLambda: number; logitLambda: number; bandQuantile: number; json: boolean }) => {
      if (!(opts.logitLambda > 0)) throw new Error('--logit-lambda must be > 0');
      if (!(opts.bandQuantile <= 1)) throw new Error('--band-quantile must be in [0, 1]');
      const r = await runTrain({
        dataset: opts.dataset,
        out: opts.out,
        folds: opts.folds,
        symbol: opts.symbol?.toUpperCase(),
        ridgeLambda: opts.ridgeLambda,
        logitLambda: opts.logitLambda,
        bandQuantile: opts.bandQuantile,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(trainJson(r))}\n` : renderTable(r));
    });
}
