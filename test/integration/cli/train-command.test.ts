import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelFile } from '../../../src/model/model-file.js';
import { fixtureParquet } from '../../unit/model/fixture.js';

/** Run `btcpipe train` (needs `npm run build`). */
function train(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/btcpipe.js', 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'btcpipe-train-'));
  await writeFile(join(dir, 'ds.parquet'), new Uint8Array(fixtureParquet({ rows: 400, seed: 5, unlabelledTail: 5 })));
  await writeFile(join(dir, 'small.parquet'), new Uint8Array(fixtureParquet({ rows: 30, seed: 5 })));
  await writeFile(join(dir, 'nolabel.parquet'), new Uint8Array(fixtureParquet({ rows: 30, seed: 5, omit: ['label_ret_10s', 'label_mid_price_10s'] })));
  await writeFile(join(dir, 'empty.parquet'), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('btcpipe train (CLI)', () => {
  it('prints the walk-forward table and writes a model file that loads', async () => {
    const out = join(dir, 'model.json');
    const r = await train(['--dataset', join(dir, 'ds.parquet'), '--folds', '4', '--out', out, '--symbol', 'btcusdt']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/walk-forward on 395 labelled rows of ds\.parquet \(5 unlabelled dropped\): 4 folds/);
    expect(r.out.split('\n').filter((l) => /^\| [1-4] \|/.test(l))).toHaveLength(4);
    expect(r.out).toMatch(/^\| all \|/m);
    const model = parseModelFile(await readFile(out, 'utf8'));
    expect(r.out).toContain(`model ${model.model_id}`);
    expect(model.symbol).toBe('BTCUSDT');
    expect(model.walk_forward?.folds).toBe(4);
  }, 60_000);

  it('--json gives the same table as data', async () => {
    const r = await train(['--dataset', join(dir, 'ds.parquet'), '--folds', '2', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { folds: Array<{ model: { macro_f1: number } }>; overall: { rows: number }; out: null };
    expect(j.folds).toHaveLength(2);
    expect(j.overall.rows).toBe(395 - Math.floor(395 / 3));
    expect(j.out).toBeNull();
  }, 60_000);

  it('clear errors: missing, empty, too small, no label column', async () => {
    const [missing, empty, small, nolabel] = await Promise.all(
      ['nope', 'empty', 'small', 'nolabel'].map((name) => train(['--dataset', join(dir, `${name}.parquet`)])),
    );
    expect(missing.err).toMatch(/btcpipe: dataset .*nope\.parquet does not exist/);
    expect(empty.err).toMatch(/empty\.parquet is an empty file/);
    expect(small.err).toMatch(/dataset too small: 30 labelled rows for 5 folds; walk-forward needs at least 120/);
    expect(nolabel.err).toMatch(/no label column: expected label_ret_10s/);
    for (const r of [missing, empty, small, nolabel]) {
      expect(r.code).toBe(1);
      expect(r.err).not.toMatch(/at .*\.js:\d+/);
    }
  }, 60_000);
});
