import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { loadConfig, type BtcpipeConfig } from '../../ops/config.js';
import { waitForPort } from '../../ops/free-port.js';
import { startEmbeddedKinesis, type EmbeddedKinesis } from '../../kinesis/embedded.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../redis/embedded.js';
import { startDashboard, type Dashboard } from '../../services/dashboard.js';

/**
 * `btcpipe up`: the whole pipeline on one machine — redis-server (unless one answers), kinesis-local with
 * the streams, the venue simulator, both ingestor modes and the aggregator (each its own process, exactly
 * as they run alone), and the dashboard. Logs go to ./data/logs/<name>.log; warnings and errors also to
 * the console. Ctrl-C stops everything.
 */

interface UpOptions {
  config: string;
  rate?: string;
  seed: string;
  dashboardPort: string;
  duration?: string;
  logs: string;
}

const BIN = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'bin', 'btcpipe.js');

interface Child {
  name: string;
  proc: ChildProcess;
  log: WriteStream;
}

function say(msg: string): void {
  process.stdout.write(`[up] ${msg}\n`);
}

/** Set once `up` is shutting the stack down: exits are then expected. */
let stoppingAll = false;

function startChild(name: string, args: string[], logsDir: string, env: NodeJS.ProcessEnv = {}): Child {
  const log = createWriteStream(join(logsDir, `${name}.log`), { flags: 'a' });
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  const onData = (b: Buffer): void => {
    log.write(b);
    partial += b.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // pino levels: 40 warn, 50 error, 60 fatal. Non-JSON lines (start-up banners) are shown as they are.
      const m = /"level":(\d+)/.exec(line);
      if (!m || Number(m[1]) >= 40) process.stdout.write(`[${name}] ${line}\n`);
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.on('exit', (code, signal) => {
    // While stopping, Ctrl-C reaches every child twice (terminal and up): 130 is the service's "second signal" exit.
    if (stoppingAll && (code === 130 || code === 0)) return;
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') say(`${name} exited (code ${code}, signal ${signal})`);
  });
  return { name, proc, log };
}

async function redisAnswers(host: string, port: number): Promise<boolean> {
  const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
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

async function waitHealthy(name: string, url: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return await res.json();
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not answer on ${url} within ${timeoutMs} ms (${last}); see its log`);
}

async function up(opts: UpOptions): Promise<void> {
  const cfg: BtcpipeConfig = loadConfig(opts.config, { mode: 'aggregator' });
  const logsDir = resolve(opts.logs);
  mkdirSync(logsDir, { recursive: true });
  const children: Child[] = [];
  let redis: EmbeddedRedis | undefined;
  let kinesis: EmbeddedKinesis | undefined;
  let dashboard: Dashboard | undefined;
  let reader: Redis | undefined;
  let stopping = false;

  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    stoppingAll = true;
    say('stopping…');
    for (const c of [...children].reverse()) c.proc.kill('SIGTERM');
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.proc.exitCode !== null) return r();
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
    await dashboard?.close();
    reader?.disconnect();
    await kinesis?.stop();
    await redis?.stop();
    for (const c of children) c.log.end();
    say('stopped');
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    // 1. Redis
    if (await redisAnswers(cfg.redis.host, cfg.redis.port)) {
      say(`redis: using the server already on ${cfg.redis.host}:${cfg.redis.port}`);
    } else {
      redis = await startEmbeddedRedis({ port: cfg.redis.port });
      say(`redis: started redis-server on 127.0.0.1:${redis.port}`);
    }
    // 2. Kinesis
    const endpoint = cfg.aws.endpoint_url ?? 'http://127.0.0.1:4568';
    const kinesisPort = Number(new URL(endpoint).port || 4568);
    const streams = Object.values(cfg.aws.kinesis.streams).map((name) => ({ name, shards: cfg.aws.kinesis.shard_count }));
    kinesis = await startEmbeddedKinesis({ plainPort: kinesisPort, tlsPort: kinesisPort - 1, streams });
    say(`kinesis: kinesis-local on ${kinesis.endpoint} with ${streams.map((s) => s.name).join(', ')}`);
    // 3. Simulator
    const rest = new URL(cfg.binance.rest_base_url);
    const ws = new URL(cfg.binance.sbe_ws_url);
    const simArgs = ['sim', '--rest-port', rest.port || '8090', '--ws-port', ws.port || '9443', '--seed', opts.seed];
    simArgs.push('--symbols', cfg.binance.symbols.join(','));
    if (opts.rate) simArgs.push('--rate', opts.rate);
    children.push(startChild('sim', simArgs, logsDir));
    await waitForPort(Number(rest.port || 8090), rest.hostname, 30_000);
    await waitForPort(Number(ws.port || 9443), ws.hostname, 30_000);
    say(`simulator: REST ${cfg.binance.rest_base_url}  SBE ${cfg.binance.sbe_ws_url}`);
    // 4. Services, each as it would run alone.
    const env = { AWS_ENDPOINT_URL: endpoint, REDIS_HOST: cfg.redis.host, REDIS_PORT: String(redis?.port ?? cfg.redis.port) };
    const services: Array<[string, string[], number]> = [
      ['aggregator', ['aggregate', '--config', opts.config], 8082],
      ['ingest-sbe', ['ingest', '--mode', 'sbe', '--config', opts.config], 8080],
      ['ingest-rest', ['ingest', '--mode', 'rest', '--config', opts.config], 8081],
    ];
    for (const [name, args] of services) children.push(startChild(name, args, logsDir, env));
    const health: Record<string, string> = {};
    for (const [name, , port] of services) {
      const url = `http://127.0.0.1:${port}`;
      await waitHealthy(name, `${url}/health`, 60_000);
      health[name] = url;
      say(`${name}: ${url}/health`);
    }
    // 5. Dashboard
    reader = new Redis({ host: cfg.redis.host, port: redis?.port ?? cfg.redis.port, maxRetriesPerRequest: 1 });
    reader.on('error', () => undefined);
    dashboard = await startDashboard({
      port: Number(opts.dashboardPort),
      redis: reader,
      symbols: cfg.binance.symbols,
      services: health,
      links: { 'simulator stats': `${cfg.binance.rest_base_url}/sim/stats` },
      keyOf: (s) => ({ ob: `ob:${s}`, tr1s: `tr:${s}:1s`, tr5s: `tr:${s}:5s`, feat: `feat:${s}` }),
    });
    say(`dashboard: http://127.0.0.1:${dashboard.port}/   logs: ${logsDir}   (Ctrl-C stops everything)`);
  } catch (err) {
    say(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  }
  if (opts.duration) {
    setTimeout(() => void stopAll().then(() => process.exit(0)), Number(opts.duration) * 1000);
  }
}

export function register(program: Command): void {
  program
    .command('up')
    .description('bring the whole pipeline up on embedded defaults: simulator, kinesis-local, redis-server, all services, dashboard')
    .option('--config <file>', 'config shared by the services', 'config/local.yaml')
    .option('--rate <eventsPerSecond>', 'simulator order-flow rate (default: realistic)')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--dashboard-port <port>', 'dashboard port', '8088')
    .option('--duration <seconds>', 'stop by itself after this many seconds')
    .option('--logs <dir>', 'where each process writes its log', 'data/logs')
    .action(async (opts: UpOptions) => {
      await up(opts);
    });
}
