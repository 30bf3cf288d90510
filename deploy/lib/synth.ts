import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, resourceCounts } from './app.js';
import { loadDeployConfig } from './config.js';

export interface SynthOptions {
  configFile: string;
  repoRoot: string;
  outdir: string;
  /** Remove the output directory first (staged contexts of earlier runs would pile up). */
  clean?: boolean;
  /** CDK's CloudFormation schema validation (default on). */
  validate?: boolean;
}

export interface SynthResult {
  outdir: string;
  stacks: Array<{ name: string; total: number; counts: Record<string, number> }>;
  /** Schema violations CDK found; undefined when validation did not run. */
  violations?: Array<{ ruleName?: string; description?: string; severity?: string }>;
}

interface ValidationReport {
  pluginReports?: Array<{ violations?: Array<{ ruleName?: string; description?: string; severity?: string }> }>;
}

/** Synthesize the app for a deploy config file and count each stack's resources by type. */
export function synthesize(o: SynthOptions): SynthResult {
  const config = loadDeployConfig(o.configFile);
  if (o.clean) rmSync(o.outdir, { recursive: true, force: true });
  const { app } = buildApp({ config, repoRoot: o.repoRoot, outdir: o.outdir, validate: o.validate ?? true });
  const assembly = app.synth();
  const stacks = assembly.stacks.map((stack) => {
    const template = JSON.parse(readFileSync(join(o.outdir, stack.templateFile), 'utf8')) as { Resources?: Record<string, { Type: string }> };
    const counts = resourceCounts(template);
    return { name: stack.stackName, total: Object.values(counts).reduce((a, b) => a + b, 0), counts };
  });
  const reportFile = join(o.outdir, 'validation-report.json');
  let violations: SynthResult['violations'];
  if ((o.validate ?? true) && existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ValidationReport;
    violations = (report.pluginReports ?? []).flatMap((r) => r.violations ?? []);
  }
  return { outdir: o.outdir, stacks, violations };
}

/** The summary `npm run synth` prints. */
export function formatSynthSummary(r: SynthResult, configFile: string): string {
  const lines = [`synthesized ${r.stacks.length} stacks from ${configFile} into ${r.outdir}`];
  for (const s of r.stacks) {
    lines.push('', `${s.name}: ${s.total} resources`);
    for (const [type, n] of Object.entries(s.counts)) lines.push(`  ${String(n).padStart(3)}  ${type}`);
  }
  if (r.violations) {
    lines.push('', `CloudFormation schema validation: ${r.violations.length} violation(s)`);
    for (const v of r.violations) lines.push(`  [${v.severity ?? '?'}] ${v.ruleName ?? ''}: ${v.description ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}
