/**
 * The model file `btcpipe train --out` writes and the aggregator serves: plain JSON holding everything a
 * prediction needs (feature names and order, standardization, weights, band) plus where it came from. The
 * model id is a hash of that content, so the same training gives the same id and any edit gives another —
 * pred:{SYM} says exactly which weights produced it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { BaselineModel } from './baseline.js';
import { DIRECTIONS } from './metrics.js';

export const MODEL_FORMAT = 'btcpipe.model.v1';

export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

const finite = z.number().finite();
const scoresSchema = z.object({ rows: z.number().int(), macro_f1: z.number().nullable(), accuracy: z.number().nullable(), r2: z.number().nullable() });

const bodySchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    kind: z.literal('linear-baseline'),
    symbol: z.string().nullable(),
    horizon_seconds: z.number().positive(),
    features: z.array(z.string().min(1)).min(1),
    standardization: z.object({ mean: z.array(finite), std: z.array(finite.positive()) }),
    expected_return: z.object({ model: z.literal('ridge'), lambda: finite, intercept: finite, weights: z.array(finite) }),
    direction: z.object({
      model: z.literal('softmax'),
      lambda: finite,
      classes: z.tuple([z.literal('down'), z.literal('flat'), z.literal('up')]),
      intercepts: z.array(finite).length(3),
      weights: z.array(z.array(finite)).length(3),
    }),
    flat_band: z.object({ ret: finite.nonnegative(), bp: finite.nonnegative(), quantile: finite.min(0).max(1), rule: z.string() }),
    training: z.object({ dataset: z.string(), rows: z.number().int().positive(), from_feature_ts: finite, to_feature_ts: finite }),
    walk_forward: z.object({ folds: z.number().int().positive(), model: scoresSchema, baseline: scoresSchema }).nullable(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const d = m.features.length;
    const sizes: [string, number][] = [
      ['standardization.mean', m.standardization.mean.length],
      ['standardization.std', m.standardization.std.length],
      ['expected_return.weights', m.expected_return.weights.length],
      ...m.direction.weights.map((w, i): [string, number] => [`direction.weights[${i}]`, w.length]),
    ];
    for (const [name, n] of sizes) {
      if (n !== d) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name} has ${n} entries for ${d} features` });
    }
  });

export type ModelBody = z.infer<typeof bodySchema>;
export type ModelFile = ModelBody & { model_id: string };

/** sha256 of the body's JSON, first 16 hex digits. */
export function modelId(body: ModelBody): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}

export interface ModelMeta {
  symbol: string | null;
  horizonS: number;
  dataset: string;
  rows: number;
  fromTs: number;
  toTs: number;
  walkForward: { folds: number; model: { rows: number; macroF1: number; accuracy: number; r2: number }; baseline: { rows: number; macroF1: number; accuracy: number; r2: number } } | null;
}

const nullIfNaN = (v: number): number | null => (Number.isFinite(v) ? v : null);
const scoreJson = (s: { rows: number; macroF1: number; accuracy: number; r2: number }): z.infer<typeof scoresSchema> => ({
  rows: s.rows,
  macro_f1: nullIfNaN(s.macroF1),
  accuracy: nullIfNaN(s.accuracy),
  r2: nullIfNaN(s.r2),
});

export function toModelFile(m: BaselineModel, meta: ModelMeta): ModelFile {
  const body: ModelBody = {
    format: MODEL_FORMAT,
    kind: 'linear-baseline',
    symbol: meta.symbol,
    horizon_seconds: meta.horizonS,
    features: [...m.features],
    standardization: { mean: [...m.standardization.mean], std: [...m.standardization.std] },
    expected_return: { model: 'ridge', lambda: m.ridge.lambda, intercept: m.ridge.intercept, weights: [...m.ridge.weights] },
    direction: {
      model: 'softmax',
      lambda: m.direction.lambda,
      classes: [...DIRECTIONS] as ['down', 'flat', 'up'],
      intercepts: [...m.direction.intercepts],
      weights: m.direction.weights.map((w) => [...w]),
    },
    flat_band: { ret: m.band, bp: m.bandBp, quantile: m.bandQuantile, rule: `quantile ${m.bandQuantile} of the training rows' spread_bp` },
    training: { dataset: meta.dataset, rows: meta.rows, from_feature_ts: meta.fromTs, to_feature_ts: meta.toTs },
    walk_forward: meta.walkForward
      ? { folds: meta.walkForward.folds, model: scoreJson(meta.walkForward.model), baseline: scoreJson(meta.walkForward.baseline) }
      : null,
  };
  return { model_id: modelId(body), ...body };
}

/** Validate a model file's text (shape, sizes, and that model_id matches the content). */
export function parseModelFile(text: string, source = 'model file'): ModelFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelFileError(`${source} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelFileError(`${source} is not a JSON object`);
  const { model_id: id, ...rest } = raw as Record<string, unknown>;
  const parsed = bodySchema.safeParse(rest);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ModelFileError(`${source} is not a ${MODEL_FORMAT} model: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  const expected = modelId(parsed.data);
  if (id !== expected) throw new ModelFileError(`${source}: model_id ${JSON.stringify(id)} does not match its content (${expected}); the file was edited or damaged`);
  return { model_id: expected, ...parsed.data };
}

export async function loadModelFile(path: string): Promise<ModelFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ModelFileError(`cannot read model file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseModelFile(text, `model file ${path}`);
}

/** The in-memory model a file describes. */
export function baselineFromFile(f: ModelFile): BaselineModel {
  return {
    features: [...f.features],
    bandQuantile: f.flat_band.quantile,
    standardization: { mean: [...f.standardization.mean], std: [...f.standardization.std] },
    ridge: { lambda: f.expected_return.lambda, intercept: f.expected_return.intercept, weights: [...f.expected_return.weights] },
    direction: { lambda: f.direction.lambda, intercepts: [...f.direction.intercepts], weights: f.direction.weights.map((w) => [...w]) },
    band: f.flat_band.ret,
    bandBp: f.flat_band.bp,
  };
}
