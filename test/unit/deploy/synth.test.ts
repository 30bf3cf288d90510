import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployConfigError } from '../../../deploy/lib/config.js';
import { formatSynthSummary, synthesize } from '../../../deploy/lib/synth.js';
import { REPO_ROOT } from './synth-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'btcpipe-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run synth (in process, schema validation off)', () => {
  it('writes both templates and the image context, and prints resource counts per stack', () => {
    const outdir = join(dir, 'out');
    const r = synthesize({ configFile: join(REPO_ROOT, 'deploy/deploy.yaml'), repoRoot: REPO_ROOT, outdir, clean: true, validate: false });
    expect(r.stacks.map((s) => s.name)).toEqual(['BtcpipeData', 'BtcpipeServices']);
    expect(existsSync(join(outdir, 'BtcpipeData.template.json'))).toBe(true);
    // The image's build context is staged beside the templates for `cdk deploy`, .dockerignore applied.
    const assets = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    expect(readdirSync(join(outdir, assets[0])).sort()).toEqual(
      ['.dockerignore', 'Dockerfile', 'bin', 'config', 'deploy', 'package-lock.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json'].sort(),
    );
    for (const s of r.stacks) expect(s.total).toBe(Object.values(s.counts).reduce((a, b) => a + b, 0));
    const text = formatSynthSummary(r, 'deploy/deploy.yaml');
    expect(text).toMatch(/^BtcpipeData: \d+ resources$/m);
    expect(text).toMatch(/^ +1 {2}AWS::ElastiCache::ReplicationGroup$/m);
    expect(text).toMatch(/^ +3 {2}AWS::ECS::Service$/m);
    expect(r.violations).toBeUndefined();
  });

  it('a config error names the file and key, and writes nothing', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kinesis:\n  capacity: burst\n');
    const outdir = join(dir, 'bad-out');
    expect(() => synthesize({ configFile: file, repoRoot: REPO_ROOT, outdir, validate: false })).toThrow(DeployConfigError);
    expect(() => synthesize({ configFile: file, repoRoot: REPO_ROOT, outdir, validate: false })).toThrow(/bad\.yaml:\n {2}kinesis\.capacity/);
    expect(existsSync(outdir)).toBe(false);
  });
});
