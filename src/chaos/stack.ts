/**
 * The local stack as a library (used by `btcpipe up` and `btcpipe chaos`): redis-server, kinesis-local with
 * the streams, the venue simulator and the three services, each service its own process exactly as it runs
 * alone, with a config file derived from the user's (ports, symbols, lake folder) written next to the logs.
 *
 * Lifecycle: every process started is registered with a watchdog process (see watchdog.ts) that stops them
 * all if the launcher dies, however it dies; `stop()` stops them in order on a clean shutdown, and an `exit`
 * hook SIGKILLs whatever is left if the launcher exits without calling it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEFAULT_EVENTS_STREAM, MODE_DEFAULTS, type ServiceMode } from '../ops/config.js';
import { freePort, waitForPort } from '../ops/free-port.js';
import { startEmbeddedKinesis, type EmbeddedKinesis } from '../kinesis/embedded.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded.js';
import { busyPortMessage, findPortHolder, portIsFree } from './port-holder.js';

const HERE = fileURLToPath(import.meta.url);
const BIN = resolve(HERE, '..', '..', '..', 'bin', 'btcpipe.js');
const WATCHDOG = resolve(HERE, '..', 'watchdog.js');

export type ServiceName = 'aggregator' | 'ingest-sbe' | 'ingest-rest' | 'archive';
export type ProcessName = 'sim' | ServiceName;
/** The services every stack runs; the lake archiver is started on request (StackOptions.archive). */
export const SERVICE_NAMES: readonly ServiceName[] = ['aggregator', 'ingest-sbe', 'ingest-rest'];
const ALL_SERVICES: readonly ServiceName[] = [...SERVICE_NAMES, 'archive'];
const SERVICE_MODE: Record<ServiceName, ServiceMode> = { aggregator: 'aggregator', 'ingest-sbe': 'sbe', 'ingest-rest': 'rest', archive: 'archive' };

/**
 * V8 old-generation cap per service, MiB. Left to itself on a machine with gigabytes free, V8 let the heap of
 * the aggregator and the archiver grow to 3-5x what they keep alive (live ~50 MB each at 10 symbols,
 * ~5,100 messages/s) before a full GC, and their RSS passed 300 MB. These caps leave 4-5x that live set
 * (the archiver's buffers are bounded by lake.archive.max_buffered_mib) and bring RSS to ~165-200 MB, for ~40
 * more full GCs in 3 minutes (~0.8 s of GC). A --max-old-space-size in the user's NODE_OPTIONS wins.
 */
export const SERVICE_HEAP_MIB: Readonly<Partial<Record<ServiceName, number>>> = { aggregator: 256, archive: 192 };

/** The node flags a service is started with under this stack. */
export function serviceNodeArgs(name: ProcessName, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const mib = name === 'sim' ? undefined : SERVICE_HEAP_MIB[name];
  if (mib === undefined || /--max-old-space-size\b/.test(nodeOptions)) return [];
  return [`--max-old-space-size=${mib}`];
}

export interface StackPorts {
  redis: number;
  kinesis: number;
  kinesisTls: number;
  simRest: number;
  simWs: number;
  health: Record<ServiceName, number>;
  metrics: Record<ServiceName, number>;
}

/** The ports of the user's config, with the services' per-mode defaults (pure). */
export function configuredPorts(raw: Record<string, unknown>): StackPorts {
  const get = (path: string[]): unknown => path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), raw);
  const urlPort = (v: unknown, dflt: number): number => {
    if (typeof v !== 'string') return dflt;
    try {
      const p = new URL(v).port;
      return p ? Number(p) : dflt;
    } catch {
      return dflt;
    }
  };
  const num = (v: unknown, dflt: number): number => (typeof v === 'number' && Number.isInteger(v) ? v : dflt);
  const kinesis = urlPort(get(['aws', 'endpoint_url']), 4568);
  const health = {} as Record<ServiceName, number>;
  const metrics = {} as Record<ServiceName, number>;
  for (const s of ALL_SERVICES) {
    const mode = SERVICE_MODE[s];
    health[s] = num(get(['modes', mode, 'health', 'port']), num(get(['health', 'port']), MODE_DEFAULTS[mode].health));
    metrics[s] = num(get(['modes', mode, 'metrics', 'prometheus_port']), num(get(['metrics', 'prometheus_port']), MODE_DEFAULTS[mode].metrics));
  }
  return {
    redis: num(get(['redis', 'port']), 6379),
    kinesis,
    kinesisTls: kinesis - 1,
    simRest: urlPort(get(['binance', 'rest_base_url']), 8090),
    simWs: urlPort(get(['binance', 'sbe_ws_url']), 9443),
    health,
    metrics,
  };
}

/** Free loopback ports for every part of the stack (so a second stack runs beside the first). */
export async function freeStackPorts(): Promise<StackPorts> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const health = {} as Record<ServiceName, number>;
  const metrics = {} as Record<ServiceName, number>;
  for (const s of ALL_SERVICES) {
    health[s] = await next();
    metrics[s] = await next();
  }
  return { redis: await next(), kinesis: await next(), kinesisTls: await next(), simRest: await next(), simWs: await next(), health, metrics };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/**
 * The user's config document with the stack's ports, symbols, lake folder and any extra settings applied
 * (pure; `${VAR}` references are left for the services to resolve).
 */
export function stackConfigDoc(
  raw: Record<string, unknown>,
  ports: StackPorts,
  opts: { symbols?: string[]; lakeRoot?: string; settings?: Array<[string, unknown]> } = {},
): Record<string, unknown> {
  const doc = structuredClone(raw);
  setPath(doc, ['binance', 'sbe_ws_url'], `ws://127.0.0.1:${ports.simWs}`);
  setPath(doc, ['binance', 'rest_base_url'], `http://127.0.0.1:${ports.simRest}`);
  setPath(doc, ['aws', 'endpoint_url'], `http://127.0.0.1:${ports.kinesis}`);
  setPath(doc, ['redis', 'port'], ports.redis);
  if (opts.symbols?.length) setPath(doc, ['binance', 'symbols'], opts.symbols);
  if (opts.lakeRoot) setPath(doc, ['lake', 'root'], opts.lakeRoot);
  for (const s of ALL_SERVICES) {
    const mode = SERVICE_MODE[s];
    setPath(doc, ['modes', mode, 'health', 'port'], ports.health[s]);
    setPath(doc, ['modes', mode, 'metrics', 'prometheus_port'], ports.metrics[s]);
  }
  for (const [path, value] of opts.settings ?? []) setPath(doc, path.split('.'), value);
  return doc;
}

/** Read a YAML config file as a plain document. */
export function readConfigDoc(file: string): Record<string, unknown> {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new Error(`config ${file}: the document must be a mapping of keys`);
  return doc;
}

/** Symbols from `--symbols A,B,…`, upper-cased, or a one-line error (pure). */
export function parseSymbolList(v: string): string[] {
  const list = [...new Set(v.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))];
  if (list.length === 0) throw new Error('--symbols needs at least one symbol, e.g. BTCUSDT,ETHUSDT');
  const bad = list.find((s) => !/^[A-Z0-9]{2,20}$/.test(s));
  if (bad) throw new Error(`--symbols: ${JSON.stringify(bad)} is not a Binance symbol (2-20 of A-Z, 0-9)`);
  return list;
}

export interface StackOptions {
  /** The user's config file; the derived one is written to `runDir/stack.yaml`. */
  configFile: string;
  runDir: string;
  logsDir: string;
  ports: StackPorts;
  symbols?: string[];
  lakeRoot?: string;
  /** Extra config settings, `['scheduler.poll_interval_seconds', 5]`. */
  settings?: Array<[string, unknown]>;
  seed: number;
  rate?: number;
  /** Use a redis-server that already answers on the port instead of starting one (`btcpipe up`). */
  reuseRedis?: boolean;
  /** Also run `btcpipe archive` (the whole stream into the lake), after the other services. */
  archive?: boolean;
  /** One line of a child's output (already written to its log file). */
  onLine?: (name: string, line: string) => void;
  /** A process exited that nobody asked to stop. */
  onUnexpectedExit?: (name: ProcessName, code: number | null, signal: NodeJS.Signals | null) => void;
  say?: (msg: string) => void;
}

interface Child {
  name: ProcessName;
  proc: ChildProcess;
  expectedExit: boolean;
}

export class StackStartError extends Error {
  override readonly name = 'StackStartError';
}

export class LocalStack {
  readonly configPath: string;
  redis: EmbeddedRedis | undefined;
  kinesis: EmbeddedKinesis | undefined;
  /** True when the stack uses a redis-server it did not start. */
  redisReused = false;
  private readonly children = new Map<ProcessName, Child>();
  private readonly logs = new Map<ProcessName, WriteStream>();
  private watchdog: ChildProcess | undefined;
  private stopping = false;
  private readonly streams: Array<{ name: string; shards: number }>;
  private readonly killAllSync = (): void => {
    for (const c of this.children.values()) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    for (const pid of [this.redis?.pid, this.kinesis?.pid]) {
      if (pid && pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };

  constructor(private readonly o: StackOptions) {
    mkdirSync(o.runDir, { recursive: true });
    mkdirSync(o.logsDir, { recursive: true });
    const doc = stackConfigDoc(readConfigDoc(o.configFile), o.ports, { symbols: o.symbols, lakeRoot: o.lakeRoot, settings: o.settings });
    this.configPath = join(o.runDir, 'stack.yaml');
    writeFileSync(this.configPath, `# written by btcpipe from ${o.configFile}; edit that file instead\n${stringifyYaml(doc)}`);
    const aws = isObject(doc.aws) ? doc.aws : {};
    const kin = isObject(aws.kinesis) ? aws.kinesis : {};
    const names = isObject(kin.streams) ? kin.streams : {};
    const shards = typeof kin.shard_count === 'number' ? kin.shard_count : 1;
    const nameOf = (k: string): string => (typeof names[k] === 'string' ? (names[k] as string) : DEFAULT_EVENTS_STREAM);
    const streamNames = { trade: nameOf('trade'), bestbidask: nameOf('bestbidask'), depth: nameOf('depth') };
    this.streamNames = [...new Set(Object.values(streamNames))];
    this.streams = this.streamNames.map((name) => ({ name, shards }));
    const binance = isObject(doc.binance) ? doc.binance : {};
    this.symbols = Array.isArray(binance.symbols) ? binance.symbols.map(String) : ['BTCUSDT'];
    process.once('exit', this.killAllSync);
  }

  readonly streamNames: string[];
  readonly symbols: string[];

  get simUrl(): string {
    return `http://127.0.0.1:${this.o.ports.simRest}`;
  }

  get kinesisEndpoint(): string {
    return `http://127.0.0.1:${this.o.ports.kinesis}`;
  }

  healthUrl(name: ServiceName): string {
    return `http://127.0.0.1:${this.o.ports.health[name]}`;
  }

  metricsUrl(name: ServiceName): string {
    return `http://127.0.0.1:${this.o.ports.metrics[name]}/metrics`;
  }

  pid(name: ProcessName): number | undefined {
    const c = this.children.get(name);
    return c && c.proc.exitCode === null && c.proc.signalCode === null ? c.proc.pid : undefined;
  }

  /** Every pid the stack started and still runs (redis-server, kinesis-local and the node children). */
  pids(): number[] {
    const out: number[] = [];
    if (this.redis && !this.redisReused) out.push(this.redis.pid);
    if (this.kinesis) out.push(this.kinesis.pid);
    for (const c of this.children.values()) if (c.proc.pid && c.proc.exitCode === null && c.proc.signalCode === null) out.push(c.proc.pid);
    return out;
  }

  private say(msg: string): void {
    this.o.say?.(msg);
  }

  private watch(pid: number | undefined): void {
    if (pid && pid > 0) this.watchdog?.stdin?.write(`+${pid}\n`);
  }

  private unwatch(pid: number | undefined): void {
    if (pid && pid > 0 && this.watchdog?.stdin?.writable) this.watchdog.stdin.write(`-${pid}\n`);
  }

  private startWatchdog(): void {
    const wd = spawn(process.execPath, [WATCHDOG, String(process.pid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    wd.stdin?.on('error', () => undefined);
    wd.unref();
    this.watchdog = wd;
  }

  /** The ports the stack will listen on, with a one-line error for the first one already taken. */
  async checkPorts(skipRedis: boolean): Promise<void> {
    const p = this.o.ports;
    const wanted: Array<[number, string]> = [
      ...(skipRedis ? [] : ([[p.redis, 'redis-server']] as Array<[number, string]>)),
      [p.kinesis, 'kinesis-local'],
      [p.kinesisTls, 'kinesis-local TLS'],
      [p.simRest, 'simulator REST'],
      [p.simWs, 'simulator SBE WebSocket'],
      ...this.services.flatMap((s): Array<[number, string]> => [
        [p.health[s], `${s} health`],
        [p.metrics[s], `${s} metrics`],
      ]),
    ];
    for (const [port, purpose] of wanted) {
      if (!(await portIsFree(port))) throw new StackStartError(busyPortMessage(port, purpose, findPortHolder(port)));
    }
  }

  async startRedis(): Promise<void> {
    this.redis = await startEmbeddedRedis({ port: this.o.ports.redis });
    this.watch(this.redis.pid);
  }

  async stopRedis(): Promise<void> {
    const r = this.redis;
    if (!r || this.redisReused) return;
    await r.stop();
    this.unwatch(r.pid);
  }

  async startKinesis(): Promise<void> {
    this.kinesis = await startEmbeddedKinesis({ plainPort: this.o.ports.kinesis, tlsPort: this.o.ports.kinesisTls, streams: this.streams });
    this.watch(this.kinesis.pid);
  }

  async stopKinesis(): Promise<void> {
    const k = this.kinesis;
    if (!k) return;
    await k.stop();
    this.unwatch(k.pid);
  }

  private spawnChild(name: ProcessName, args: string[], env: NodeJS.ProcessEnv): Child {
    let log = this.logs.get(name);
    if (!log) {
      log = createWriteStream(join(this.o.logsDir, `${name}.log`), { flags: 'a' });
      this.logs.set(name, log);
    }
    const out = log;
    const proc = spawn(process.execPath, [...serviceNodeArgs(name), BIN, ...args], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child: Child = { name, proc, expectedExit: false };
    this.watch(proc.pid);
    let partial = '';
    const onData = (b: Buffer): void => {
      out.write(b);
      if (!this.o.onLine) return;
      partial += b.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.o.onLine(name, line);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code, signal) => {
      this.unwatch(proc.pid);
      if (child.expectedExit || this.stopping) return;
      this.o.onUnexpectedExit?.(name, code, signal);
    });
    this.children.set(name, child);
    return child;
  }

  async startSim(): Promise<void> {
    const args = ['sim', '--rest-port', String(this.o.ports.simRest), '--ws-port', String(this.o.ports.simWs), '--seed', String(this.o.seed)];
    args.push('--symbols', this.symbols.join(','));
    if (this.o.rate !== undefined) args.push('--rate', String(this.o.rate));
    this.spawnChild('sim', args, {});
    await waitForPort(this.o.ports.simRest, '127.0.0.1', 30_000);
    await waitForPort(this.o.ports.simWs, '127.0.0.1', 30_000);
  }

  /** The services this stack runs, in start order. */
  get services(): readonly ServiceName[] {
    return this.o.archive ? ALL_SERVICES : SERVICE_NAMES;
  }

  async startService(name: ServiceName): Promise<void> {
    const args = name === 'aggregator' ? ['aggregate'] : name === 'archive' ? ['archive'] : ['ingest', '--mode', SERVICE_MODE[name]];
    const env = { AWS_ENDPOINT_URL: this.kinesisEndpoint, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(this.redis?.port ?? this.o.ports.redis) };
    this.spawnChild(name, [...args, '--config', this.configPath], env);
    await waitHealthy(name, `${this.healthUrl(name)}/health`, 60_000);
  }

  /** Send a signal to one child; with SIGKILL/SIGTERM it is an expected exit. Resolves once it has exited. */
  async kill(name: ProcessName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.children.get(name);
    if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
    c.expectedExit = true;
    const exited = new Promise<void>((r) => c.proc.once('exit', () => r()));
    c.proc.kill(signal);
    await exited;
  }

  /** Start everything in order: redis, kinesis, simulator, services. */
  async start(): Promise<void> {
    this.startWatchdog();
    let skipRedis = false;
    if (this.o.reuseRedis && (await redisAnswers(this.o.ports.redis))) skipRedis = true;
    await this.checkPorts(skipRedis);
    if (skipRedis) {
      this.redisReused = true;
      this.say(`redis: using the server already on 127.0.0.1:${this.o.ports.redis}`);
    } else {
      await this.startRedis();
      this.say(`redis: started redis-server on 127.0.0.1:${this.o.ports.redis}`);
    }
    await this.startKinesis();
    this.say(`kinesis: kinesis-local on ${this.kinesisEndpoint} with ${this.streamNames.join(', ')}`);
    const skipped = this.kinesis?.skippedEdits ?? [];
    if (skipped.length > 0) {
      this.say(`kinesis: this kinesis-local build does not hold the text of edit(s) ${skipped.join(', ')} (src/kinesis/kinesis-local-edits.ts): it runs without them, slower`);
    }
    await this.startSim();
    this.say(`simulator: REST ${this.simUrl}  SBE ws://127.0.0.1:${this.o.ports.simWs}  symbols ${this.symbols.join(',')}`);
    for (const s of this.services) {
      await this.startService(s);
      this.say(`${s}: ${this.healthUrl(s)}/health`);
    }
  }

  /** Stop every process (services first, then the simulator, kinesis-local and redis-server). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const children = [...this.children.values()].reverse();
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.proc.exitCode !== null || c.proc.signalCode !== null) return r();
            const t = setTimeout(() => {
              c.proc.kill('SIGKILL');
              r();
            }, 5000);
            c.proc.once('exit', () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
    await this.stopKinesis().catch(() => undefined);
    await this.stopRedis().catch(() => undefined);
    await Promise.all([...this.logs.values()].map((l) => new Promise<void>((r) => l.end(() => r()))));
    this.watchdog?.stdin?.end();
    process.removeListener('exit', this.killAllSync);
  }
}

async function redisAnswers(port: number): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function waitHealthy(name: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StackStartError(`${name} did not answer on ${url} within ${timeoutMs} ms (${last}); see its log`);
}
