/**
 * `npm run synth`: synthesize the btcpipe CDK app offline into deploy/cdk.out (no AWS account, no Docker:
 * the image is built by `cdk deploy` from the staged context) and print each stack's resources by type.
 *
 * Deploy config: BTCPIPE_DEPLOY_CONFIG or deploy/deploy.yaml. The CDK CLI uses the same entry point
 * (deploy/cdk.json), with its own output directory.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, resourceCounts } from '../lib/app.js';
import { DeployConfigError, loadDeployConfig } from '../lib/config.js';
import { findRepoRoot } from '../lib/repo-root.js';

const root = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const configFile = resolve(process.env.BTCPIPE_DEPLOY_CONFIG ?? join(root, 'deploy', 'deploy.yaml'));
// The CDK CLI says where it wants the assembly; run directly, it goes to deploy/cdk.out.
const outdir = process.env.CDK_OUTDIR ?? join(root, 'deploy', 'cdk.out');

interface ValidationReport {
  pluginReports?: Array<{ summary?: { pluginName?: string }; violations?: Array<{ ruleName?: string; description?: string; severity?: string }> }>;
}

try {
  const config = loadDeployConfig(configFile);
  // Staged contexts of earlier runs would otherwise pile up beside the new one.
  if (!process.env.CDK_OUTDIR) rmSync(outdir, { recursive: true, force: true });
  const { app } = buildApp({ config, repoRoot: root, outdir });
  const assembly = app.synth();
  process.stdout.write(`synthesized ${assembly.stacks.length} stacks from ${configFile} into ${outdir}\n`);
  for (const stack of assembly.stacks) {
    const template = JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')) as { Resources?: Record<string, { Type: string }> };
    const counts = resourceCounts(template);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    process.stdout.write(`\n${stack.stackName}: ${total} resources\n`);
    for (const [type, n] of Object.entries(counts)) process.stdout.write(`  ${String(n).padStart(3)}  ${type}\n`);
  }
  const reportFile = join(outdir, 'validation-report.json');
  if (existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ValidationReport;
    const violations = (report.pluginReports ?? []).flatMap((r) => r.violations ?? []);
    process.stdout.write(`\nCloudFormation schema validation: ${violations.length} violation(s)\n`);
    for (const v of violations) process.stdout.write(`  [${v.severity ?? '?'}] ${v.ruleName ?? ''}: ${v.description ?? ''}\n`);
  }
} catch (err) {
  if (err instanceof DeployConfigError) {
    process.stderr.write(`synth: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
