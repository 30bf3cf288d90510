/**
 * `npm run synth`: synthesize the btcpipe CDK app offline into deploy/cdk.out (no AWS account, no Docker:
 * the image is built by `cdk deploy` from the staged context) and print each stack's resources by type.
 *
 * Deploy config: BTCPIPE_DEPLOY_CONFIG or deploy/deploy.yaml. The CDK CLI uses the same entry point
 * (deploy/cdk.json) and names its own output directory (CDK_OUTDIR).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployConfigError } from '../lib/config.js';
import { findRepoRoot } from '../lib/repo-root.js';
import { formatSynthSummary, synthesize } from '../lib/synth.js';

const root = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const configFile = resolve(process.env.BTCPIPE_DEPLOY_CONFIG ?? join(root, 'deploy', 'deploy.yaml'));
const outdir = process.env.CDK_OUTDIR ?? join(root, 'deploy', 'cdk.out');

try {
  const result = synthesize({ configFile, repoRoot: root, outdir, clean: !process.env.CDK_OUTDIR });
  process.stdout.write(formatSynthSummary(result, configFile));
} catch (err) {
  if (err instanceof DeployConfigError) {
    process.stderr.write(`synth: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
