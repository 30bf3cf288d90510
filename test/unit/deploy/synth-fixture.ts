import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BtcpipeApp } from '../../../deploy/lib/app.js';
import { resolveDeployConfig, type DeployConfig } from '../../../deploy/lib/config.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

export interface Synthesized extends BtcpipeApp {
  config: DeployConfig;
  dataT: Template;
  servicesT: Template;
  dispose: () => void;
}

/** Synthesize the app for a deploy config document (once per test file: it takes seconds). */
export function synth(doc: unknown): Synthesized {
  const config = resolveDeployConfig(doc, 'test');
  const outdir = mkdtempSync(join(tmpdir(), 'btcpipe-cdk-'));
  const built = buildApp({ config, repoRoot: REPO_ROOT, outdir, skipAssetStaging: true, validate: false });
  return {
    ...built,
    config,
    dataT: Template.fromStack(built.data),
    servicesT: Template.fromStack(built.services),
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
}

/** Every statement of every inline IAM policy (AWS::IAM::Policy) in a template. */
export function policyStatements(t: Template): Array<{ policy: string; statement: Statement }> {
  const out: Array<{ policy: string; statement: Statement }> = [];
  for (const [id, r] of Object.entries(t.findResources('AWS::IAM::Policy'))) {
    const doc = (r as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument;
    for (const statement of doc.Statement) out.push({ policy: id, statement });
  }
  return out;
}

export const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** IAM statements that grant a wildcard action on every resource ("*" or "service:*"-like on "*"). */
export function wildcardGrants(t: Template): string[] {
  const bad: string[] = [];
  for (const { policy, statement } of policyStatements(t)) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asArray(statement.Action);
    const resources = statement.Resource === undefined ? [] : asArray(statement.Resource);
    const onEverything = resources.some((r) => r === '*');
    for (const a of actions) {
      if (a === '*' || /^[a-z0-9-]+:\*$/i.test(a)) bad.push(`${policy}: ${a} on ${JSON.stringify(resources)}`);
      else if (onEverything && a.includes('*')) bad.push(`${policy}: ${a} on *`);
    }
  }
  return bad;
}
