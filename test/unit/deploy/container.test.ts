/**
 * The image and the compose file, checked without Docker (not available here): the Dockerfile's stages
 * and what they copy, the build context .dockerignore leaves, and compose.yaml against the CLI, the
 * config it runs with and `btcpipe up`'s services.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { parse as parseYaml } from 'yaml';
import { SERVICE_NAMES } from '../../../src/chaos/stack.js';
import { loadConfig, MODE_DEFAULTS, type ServiceMode } from '../../../src/ops/config.js';
import { REPO_ROOT } from './synth-fixture.js';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name: string;
  body: Instruction[];
}

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ base: m?.[1] ?? args, name: m?.[2] ?? String(stages.length), body: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].body.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const DOCKERFILE = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const stage = (name: string): Stage => {
  const s = DOCKERFILE.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const ignorePatterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
// The same matcher the CDK image asset uses for its context and hash.
const ignore = IgnoreStrategy.docker(REPO_ROOT, ignorePatterns);
const inContext = (rel: string): boolean => !ignore.ignores(join(REPO_ROOT, rel));

/** Source paths of COPY instructions without --from (they come from the build context). */
function contextCopies(s: Stage): string[] {
  return s.body
    .filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))
    .flatMap((i) => {
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1);
    });
}

describe('Dockerfile', () => {
  it('is multi-stage: build with dev dependencies, production dependencies, a Lambda wrapper, the runtime last', () => {
    expect(DOCKERFILE.map((s) => s.name)).toEqual(['build', 'deps', 'lambda', 'runtime']);
    expect(stage('build').body.some((i) => i.op === 'RUN' && /npm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(true);
    expect(stage('build').body.some((i) => i.op === 'RUN' && /npm run build/.test(i.args))).toBe(true);
    expect(stage('deps').body.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    expect(stage('lambda').base).toMatch(/^public\.ecr\.aws\/lambda\/nodejs:/);
    // Nothing from the build stage's node_modules (dev dependencies) reaches an image that runs.
    for (const name of ['lambda', 'runtime']) {
      for (const i of stage(name).body.filter((x) => x.op === 'COPY' && /--from=build/.test(x.args))) {
        expect(i.args).toMatch(/\/app\/dist\s/);
      }
    }
  });

  it('COPY --from names earlier stages only', () => {
    DOCKERFILE.forEach((s, idx) => {
      for (const i of s.body.filter((x) => x.op === 'COPY' && /--from=/.test(x.args))) {
        const from = /--from=(\S+)/.exec(i.args)?.[1];
        expect(DOCKERFILE.slice(0, idx).map((x) => x.name)).toContain(from);
      }
    });
  });

  it('every file copied from the context exists and is in the context .dockerignore leaves', () => {
    const sources = DOCKERFILE.flatMap(contextCopies);
    expect(sources.length).toBeGreaterThan(5);
    for (const src of new Set(sources)) {
      expect(existsSync(join(REPO_ROOT, src)), src).toBe(true);
      const probe = statSync(join(REPO_ROOT, src)).isDirectory() ? (src === 'src' ? 'src/cli/main.ts' : `${src}/x`) : src;
      expect(inContext(probe), `${probe} is excluded by .dockerignore`).toBe(true);
    }
    // The context stays small (it is also what the CDK asset hashes): no dependencies, outputs or data.
    for (const p of ['node_modules/ws/index.js', 'dist/cli/main.js', 'data/lake/x', 'deploy/cdk.out/x', '.git/HEAD', 'test/unit/x.test.ts']) {
      expect(inContext(p), p).toBe(false);
    }
  });

  it('runtime: unprivileged user, a health check on /health, the CLI as entry point, the files the app reads', () => {
    const rt = stage('runtime').body;
    const users = rt.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.at(-1)).toBe('node');
    const userAt = rt.findIndex((i) => i.op === 'USER');
    expect(rt.slice(userAt).some((i) => i.op === 'RUN')).toBe(false); // nothing runs as root after the switch
    const hc = rt.find((i) => i.op === 'HEALTHCHECK');
    expect(hc?.args).toMatch(/CMD \["node", "\/app\/healthcheck\.mjs"\]/);
    expect(readFileSync(join(REPO_ROOT, 'deploy/docker/healthcheck.mjs'), 'utf8')).toContain("'/health'");
    expect(rt.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["node", "/app/bin/btcpipe.js"]');
    const copied = contextCopies(stage('runtime'));
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'bin', 'config', 'src/dashboard/public']));
    // The dashboard reads its page relative to dist/services: src/dashboard/public.
    expect(readFileSync(join(REPO_ROOT, 'src/services/dashboard.ts'), 'utf8')).toContain("'../../src/dashboard/public/'");
  });

  it('Lambda stage: the handlers the CDK app names exist and export `handler`', () => {
    const services = readFileSync(join(REPO_ROOT, 'deploy/lib/services-stack.ts'), 'utf8');
    const handlers = [...services.matchAll(/'dist\/lambda\/([a-z-]+)\.handler'/g)].map((m) => m[1]);
    expect(handlers.sort()).toEqual(['kinesis-handler', 'scheduled-handler']);
    for (const h of handlers) expect(readFileSync(join(REPO_ROOT, `src/lambda/${h}.ts`), 'utf8')).toMatch(/export const handler\b/);
    expect(stage('lambda').body.find((i) => i.op === 'CMD')?.args).toBe('["dist/lambda/kinesis-handler.handler"]');
  });
});

interface ComposeService {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}

const COMPOSE = parseYaml(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const svc = COMPOSE.services;
const published = (s: ComposeService): number[] => (s.ports ?? []).map((p) => Number(p.split(':').at(-2)));
const ownImage = (s: ComposeService): boolean => s.image === 'btcpipe:local';
const MODES: Record<string, ServiceMode> = { aggregator: 'aggregator', 'ingest-sbe': 'sbe', 'ingest-rest': 'rest' };

describe('compose.yaml', () => {
  it("runs what `btcpipe up` runs: redis, kinesis-local, the simulator, the three services, the dashboard", () => {
    expect(Object.keys(svc).sort()).toEqual(['aggregator', 'dashboard', 'ingest-rest', 'ingest-sbe', 'kinesis', 'redis', 'sim']);
    for (const name of SERVICE_NAMES) expect(svc[name]).toBeDefined();
    expect(svc.aggregator.command).toEqual(['aggregate']);
    expect(svc['ingest-sbe'].command).toEqual(['ingest', '--mode', 'sbe']);
    expect(svc['ingest-rest'].command).toEqual(['ingest', '--mode', 'rest']);
    expect(svc.sim.command?.[0]).toBe('sim');
    expect(svc.dashboard.command?.[0]).toBe('dashboard');
    // Started as `btcpipe up` starts it (with the edits of kinesis-local-edits.ts), on the published port.
    expect(svc.kinesis.command).toEqual(['kinesis-local', '--port', '4568', '--tls-port', '4567']);
    expect(svc.kinesis.entrypoint).toBeUndefined();
    expect(published(svc.kinesis)).toEqual([4568]);
  });

  it('builds one image from the Dockerfile runtime target and runs only registered CLI commands', () => {
    const main = readFileSync(join(REPO_ROOT, 'src/cli/main.ts'), 'utf8');
    const commandsDir = join(REPO_ROOT, 'src/cli/commands');
    const registered = new Set(
      ['decode', 'bench', 'replay', 'sim', 'services', 'up', 'dashboard', 'kinesis-local']
        .filter((f) => main.includes(`./commands/${f}.js`))
        .flatMap((f) => [...readFileSync(join(commandsDir, `${f}.ts`), 'utf8').matchAll(/\.command\('([a-z-]+)'\)/g)].map((m) => m[1])),
    );
    for (const [name, s] of Object.entries(svc)) {
      if (!ownImage(s)) continue;
      expect(s.build).toEqual({ context: '.', target: 'runtime' });
      expect(registered, `${name}: ${s.command?.[0]}`).toContain(s.command?.[0]);
    }
  });

  it('every service has a health check (its own, or the image’s on its HEALTH_PORT), published on loopback', () => {
    for (const [name, s] of Object.entries(svc)) {
      const viaImage = ownImage(s) && s.healthcheck === undefined;
      expect(viaImage || (s.healthcheck?.test.length ?? 0) > 0, name).toBe(true);
      if (viaImage) expect(published(s), name).toContain(Number(s.environment?.HEALTH_PORT));
      for (const p of s.ports ?? []) expect(p.startsWith('127.0.0.1:'), `${name} ${p}`).toBe(true);
    }
    for (const [name, mode] of Object.entries(MODES)) {
      expect(Number(svc[name].environment?.HEALTH_PORT)).toBe(MODE_DEFAULTS[mode].health);
      expect(published(svc[name])).toEqual([MODE_DEFAULTS[mode].health, MODE_DEFAULTS[mode].metrics]);
    }
  });

  it('start order waits on health: each depends_on names a service with a health check', () => {
    for (const [name, s] of Object.entries(svc)) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        expect(svc[dep], `${name} → ${dep}`).toBeDefined();
        expect(cond.condition).toBe('service_healthy');
      }
    }
    expect(Object.keys(svc['ingest-sbe'].depends_on ?? {})).toEqual(expect.arrayContaining(['kinesis', 'sim', 'aggregator']));
  });

  it('config/docker.yaml resolves for every service and points at the compose host names and ports', () => {
    const simCmd = svc.sim.command ?? [];
    const simPort = (flag: string): string => simCmd[simCmd.indexOf(flag) + 1];
    expect(simCmd).toEqual(expect.arrayContaining(['--host', '0.0.0.0']));
    for (const [name, mode] of Object.entries(MODES)) {
      const env = Object.fromEntries(Object.entries(svc[name].environment ?? {}).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/, '$1')]));
      expect(env.CONFIG_FILE).toBe('config/docker.yaml');
      const cfg = loadConfig(join(REPO_ROOT, env.CONFIG_FILE), { mode, env });
      expect(cfg.redis).toMatchObject({ host: 'redis', port: 6379 });
      expect(new URL(cfg.aws.endpoint_url ?? '').host).toBe(`kinesis:${published(svc.kinesis)[0]}`);
      expect(new URL(cfg.binance.sbe_ws_url).host).toBe(`sim:${simPort('--ws-port')}`);
      expect(new URL(cfg.binance.rest_base_url).host).toBe(`sim:${simPort('--rest-port')}`);
      expect(cfg.health.host).toBe('0.0.0.0');
      expect(cfg.binance.symbols).toEqual(['BTCUSDT']);
    }
    const lake = loadConfig(join(REPO_ROOT, 'config/docker.yaml'), { mode: 'rest', env: {} }).lake;
    expect(svc['ingest-rest'].volumes).toEqual([`lake:${lake.root}`]);
    expect(COMPOSE.volumes).toHaveProperty('lake');
  });

  it('the dashboard watches the three services on their compose names and health ports', () => {
    const cmd = svc.dashboard.command ?? [];
    const services = cmd.filter((_, i) => cmd[i - 1] === '--service');
    expect(services.sort()).toEqual(
      Object.entries(MODES)
        .map(([name, mode]) => `${name}=http://${name}:${MODE_DEFAULTS[mode].health}`)
        .sort(),
    );
  });
});
