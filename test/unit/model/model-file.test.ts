import { describe, expect, it } from 'vitest';
import { parseDataset } from '../../../src/model/dataset.js';
import { predict } from '../../../src/model/baseline.js';
import { baselineFromFile, ModelFileError, parseModelFile } from '../../../src/model/model-file.js';
import { renderTable, trainJson, trainOnData } from '../../../src/model/train.js';
import { fixtureParquet } from './fixture.js';

async function trained() {
  const data = await parseDataset(fixtureParquet({ rows: 300, seed: 11 }));
  return { data, ...trainOnData(data, { folds: 3, datasetName: 'fixture.parquet', symbol: 'BTCUSDT' }) };
}

describe('model file', () => {
  it('round-trips through JSON with the same id and the same predictions', async () => {
    const { data, model } = await trained();
    const back = parseModelFile(JSON.stringify(model, null, 2));
    expect(back.model_id).toBe(model.model_id);
    expect(back.model_id).toMatch(/^[0-9a-f]{16}$/);
    const m = baselineFromFile(back);
    const p = predict(m, data.x[10]);
    expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p).toEqual(predict(baselineFromFile(model), data.x[10]));
    expect(back.training).toMatchObject({ dataset: 'fixture.parquet', rows: 300 });
    expect(back.symbol).toBe('BTCUSDT');
    expect(back.flat_band.bp).toBeGreaterThan(0.01);
    expect(back.flat_band.quantile).toBe(0.95);
  });

  it('the same training gives the same id (no timestamps in the hash)', async () => {
    const a = await trained();
    const b = await trained();
    expect(b.model.model_id).toBe(a.model.model_id);
  });

  it('refuses an edited file, a wrong shape and non-JSON, saying which', async () => {
    const { model } = await trained();
    const edited = { ...model, flat_band: { ...model.flat_band, bp: 99 } };
    expect(() => parseModelFile(JSON.stringify(edited))).toThrow(/does not match its content/);
    const short = { ...model, expected_return: { ...model.expected_return, weights: [1] } };
    expect(() => parseModelFile(JSON.stringify(short))).toThrow(/expected_return.weights has 1 entries for 18 features/);
    expect(() => parseModelFile('{"format":"x"}')).toThrow(ModelFileError);
    expect(() => parseModelFile('nope')).toThrow(/is not JSON/);
  });

  it('the table has a row per fold and an overall row, and --json the same numbers', async () => {
    const { data, model, walkForward } = await trained();
    const r = { dataset: '/tmp/fixture.parquet', rows: data.x.length, droppedUnlabelled: 0, horizonS: 10, features: data.features, walkForward, model, out: null };
    const text = renderTable(r);
    expect(text.split('\n').filter((l) => /^\| \d /.test(l))).toHaveLength(3);
    expect(text).toMatch(/^\| all \|/m);
    const j = trainJson(r) as { folds: unknown[]; overall: { model: { macro_f1: number } } };
    expect(j.folds).toHaveLength(3);
    expect(j.overall.model.macro_f1).toBeCloseTo(walkForward.overall.model.macroF1, 12);
  });
});
