/**
 * `btcpipe train` minus the CLI: read a dataset, evaluate walk-forward against persistence, fit the final
 * model on every labelled row, and render the table.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fitBaseline, type FitOptions } from './baseline.js';
import { readDataset, type TrainingData } from './dataset.js';
import { toModelFile, type ModelFile } from './model-file.js';
import { walkForward, type Scores, type WalkForwardResult } from './walk-forward.js';

export interface TrainOptions extends FitOptions {
  dataset: string;
  out?: string;
  folds: number;
  symbol?: string;
  horizonS?: number;
  features?: readonly string[];
}

export interface TrainResult {
  dataset: string;
  rows: number;
  droppedUnlabelled: number;
  horizonS: number;
  features: string[];
  walkForward: WalkForwardResult;
  model: ModelFile;
  out: string | null;
}

export function trainOnData(data: TrainingData, opts: Omit<TrainOptions, 'dataset' | 'out'> & { datasetName: string }): { walkForward: WalkForwardResult; model: ModelFile } {
  const wf = walkForward(data, opts.folds, opts);
  const final = fitBaseline(data.features, data.x, data.ret, data.spreadBp, opts);
  const model = toModelFile(final, {
    symbol: opts.symbol ?? data.symbol,
    horizonS: data.horizonS,
    dataset: opts.datasetName,
    rows: data.x.length,
    fromTs: data.featureTs[0],
    toTs: data.featureTs[data.featureTs.length - 1],
    walkForward: { folds: opts.folds, model: wf.overall.model, baseline: wf.overall.baseline },
  });
  return { walkForward: wf, model };
}

export async function runTrain(opts: TrainOptions): Promise<TrainResult> {
  const data = await readDataset(opts.dataset, { features: opts.features, horizonS: opts.horizonS });
  const { walkForward: wf, model } = trainOnData(data, { ...opts, datasetName: basename(opts.dataset) });
  if (opts.out) await writeFile(opts.out, `${JSON.stringify(model, null, 2)}\n`);
  return {
    dataset: opts.dataset,
    rows: data.x.length,
    droppedUnlabelled: data.droppedUnlabelled,
    horizonS: data.horizonS,
    features: data.features,
    walkForward: wf,
    model,
    out: opts.out ?? null,
  };
}

const num = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const iso = (s: number): string => new Date(s * 1000).toISOString().slice(11, 19);

/** The walk-forward table as text (what the CLI prints without --json). */
export function renderTable(r: TrainResult): string {
  const wf = r.walkForward;
  const head = ['fold', 'train rows', 'purged', 'test rows', 'test span (UTC)', 'flat %', 'band bp', 'F1 model', 'F1 persist', 'R² model', 'R² persist'];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const row = (name: string, train: string, purged: string, test: number, span: string, flat: number, band: string, m: Scores, b: Scores): string =>
    line([name, train, purged, String(test), span, num(flat * 100, 1), band, num(m.macroF1, 3), num(b.macroF1, 3), num(m.r2, 3), num(b.r2, 3)]);
  const lines = [
    `walk-forward on ${r.rows} labelled rows of ${basename(r.dataset)} (${r.droppedUnlabelled} unlabelled dropped): ${wf.folds.length} folds, expanding window, ` +
      `${r.horizonS} s horizon; direction down/flat/up with flat = |ret| ≤ the ${r.model.flat_band.quantile} quantile of the training spread; persistence = no change (flat, ret 0)`,
    line(head),
    line(head.map(() => '---')),
    ...wf.folds.map((f) =>
      row(String(f.fold), String(f.trainRows), String(f.purged), f.testRows, `${iso(f.testFromTs)}–${iso(f.testToTs)}`, f.flatShare, num(f.bandBp, 3), f.model, f.baseline),
    ),
    row('all', '', '', wf.overall.rows, '', wf.overall.flatShare, '', wf.overall.model, wf.overall.baseline),
    `model ${r.model.model_id}: ${r.features.length} features, trained on all ${r.rows} rows, flat band ${num(r.model.flat_band.bp, 3)} bp` +
      (r.out ? `; written to ${r.out}` : '; not written (no --out)'),
  ];
  return `${lines.join('\n')}\n`;
}

/** --json output: the table's numbers, without the fitted weights of each fold. */
export function trainJson(r: TrainResult): unknown {
  const clean = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const s = (x: Scores): Record<string, number | null> => ({ rows: x.rows, macro_f1: clean(x.macroF1), accuracy: clean(x.accuracy), r2: clean(x.r2) });
  return {
    dataset: r.dataset,
    rows: r.rows,
    dropped_unlabelled: r.droppedUnlabelled,
    horizon_seconds: r.horizonS,
    features: r.features,
    folds: r.walkForward.folds.map((f) => ({
      fold: f.fold,
      train_rows: f.trainRows,
      purged: f.purged,
      test_rows: f.testRows,
      train_from_ts: f.trainFromTs,
      train_to_ts: f.trainToTs,
      test_from_ts: f.testFromTs,
      test_to_ts: f.testToTs,
      band_bp: f.bandBp,
      flat_share: clean(f.flatShare),
      model: s(f.model),
      baseline: s(f.baseline),
    })),
    overall: { rows: r.walkForward.overall.rows, flat_share: clean(r.walkForward.overall.flatShare), model: s(r.walkForward.overall.model), baseline: s(r.walkForward.overall.baseline) },
    model_id: r.model.model_id,
    out: r.out,
  };
}
