import { App, Tags } from 'aws-cdk-lib';
import type { DeployConfig } from './config.js';
import { DataStack } from './data-stack.js';
import { ServicesStack } from './services-stack.js';

export interface BtcpipeApp {
  app: App;
  data: DataStack;
  services: ServicesStack;
}

export interface BuildAppOptions {
  config: DeployConfig;
  repoRoot: string;
  outdir: string;
  /** Skip copying the image's build context into the cloud assembly (tests: the templates are the same). */
  skipAssetStaging?: boolean;
  /**
   * CDK's built-in CloudFormation schema validation of the templates (default on). It compiles a large
   * WebAssembly validator on every synth: tests that only read the templates turn it off.
   */
  validate?: boolean;
}

/** The btcpipe CDK app: a stateful data stack and a stateless services stack that depends on it. */
export function buildApp(o: BuildAppOptions): BtcpipeApp {
  const app = new App({
    outdir: o.outdir,
    builtinCloudFormationValidation: o.validate ?? true,
    context: o.skipAssetStaging ? { 'aws:cdk:disable-asset-staging': true } : {},
  });
  const c = o.config;
  const env = c.account || c.region ? { account: c.account, region: c.region } : undefined;
  const data = new DataStack(app, `${c.stack_prefix}Data`, {
    config: c,
    env,
    description: 'btcpipe: network, event stream(s), Redis, data lake, API key',
  });
  const services = new ServicesStack(app, `${c.stack_prefix}Services`, {
    config: c,
    data,
    repoRoot: o.repoRoot,
    env,
    description: 'btcpipe: ingestors, aggregator, REST mode, alarms',
  });
  services.addStackDependency(data);
  Tags.of(app).add('app', 'btcpipe');
  return { app, data, services };
}

/** Resource count per CloudFormation type, per stack, of a synthesized app. */
export function resourceCounts(template: { Resources?: Record<string, { Type: string }> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of Object.values(template.Resources ?? {})) out[r.Type] = (out[r.Type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
