/**
 * `btcpipe up` as a user runs it (the compiled CLI, every part a real process on free loopback ports): it
 * stops everything it started on SIGTERM, and when it is SIGKILLed its watchdog does; a busy port is one
 * line naming the port and its holder; `--symbols` reaches the services.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { freeStackPorts, stackConfigDoc, type StackPorts } from '../../../src/chaos/stack.js';
import { freePort } from '../../../src/ops/free-port.js';
import { BIN, ensureBuilt, ROOT } from './build.js';

const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'btcpipe-up-'));
  dirs.push(d);
  return d;
}

/** A config like config/local.yaml but on free ports, so the test runs beside anything else. */
async function freeConfig(dir: string): Promise<{ file: string; ports: StackPorts; dashboardPort: number }> {
  const ports = await freeStackPorts();
  const base = parseYaml(readFileSync(join(ROOT, 'config', 'local.yaml'), 'utf8')) as Record<string, unknown>;
  const doc = stackConfigDoc(base, ports, { lakeRoot: join(dir, 'lake') });
  const file = join(dir, 'up.yaml');
  writeFileSync(file, JSON.stringify(doc));
  return { file, ports, dashboardPort: await freePort() };
}

function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has exited; it is only waiting for its parent to read its status.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Running {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(cmd: string, args: string[]): Running {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_yes: 'true' } });
  let out = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, output: () => out, exited };
}

/** The pids `up` started: its direct children (and theirs, for `npx`, which runs up under itself). */
function stackPids(root: number): number[] {
  const all: number[] = [];
  const walk = (p: number): void => {
    for (const c of childPids(p)) {
      all.push(c);
      walk(c);
    }
  };
  walk(root);
  return all;
}

beforeAll(async () => {
  await ensureBuilt();
}, 300_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every pid exits within 30 s; otherwise the assertion lists the ones still alive. */
async function expectAllExit(pids: readonly number[]): Promise<void> {
  const left = await waitFor('every process up started to exit', () => pids.every((p) => !alive(p)) || undefined, 30_000).catch(() =>
    pids.filter(alive),
  );
  expect(left).toBe(true);
}

describe('btcpipe up lifecycle', () => {
  it('SIGKILL of up: its watchdog stops redis-server, kinesis-local, the simulator and the three services', async () => {
    const dir = tempDir();
    const cfg = await freeConfig(dir);
    const up = run(process.execPath, [BIN, 'up', '--config', cfg.file, '--logs', join(dir, 'logs'), '--dashboard-port', String(cfg.dashboardPort), '--symbols', 'BTCUSDT,ETHUSDT']);
    try {
      await waitFor('up to print the dashboard line', () => up.output().includes('[up] dashboard:') || up.proc.exitCode !== null, 240_000);
      expect(up.output()).toContain('[up] dashboard:');
      const pids = stackPids(up.proc.pid ?? -1);
      const cmds = pids.map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          return '';
        }
      });
      // redis-server, kinesis-local, sim, aggregator, ingest sbe, ingest rest (+ the watchdog).
      expect(cmds.some((c) => c.startsWith('redis-server'))).toBe(true);
      expect(cmds.some((c) => c.includes('kinesis-local'))).toBe(true);
      for (const word of [' sim ', ' aggregate ', '--mode sbe', '--mode rest']) expect(cmds.some((c) => c.includes(word)), word).toBe(true);
      expect(cmds.find((c) => c.includes(' sim '))).toContain('--symbols BTCUSDT,ETHUSDT');
      const derived = parseYaml(readFileSync(join(dir, 'logs', 'stack.yaml'), 'utf8')) as { binance: { symbols: string[] } };
      expect(derived.binance.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);

      up.proc.kill('SIGKILL');
      await up.exited;
      await expectAllExit(pids);
    } finally {
      up.proc.kill('SIGKILL');
    }
  }, 400_000);

  it('SIGTERM of `npx btcpipe up`: everything stops and up exits 0', async () => {
    const dir = tempDir();
    const cfg = await freeConfig(dir);
    const up = run('npx', ['btcpipe', 'up', '--config', cfg.file, '--logs', join(dir, 'logs'), '--dashboard-port', String(cfg.dashboardPort)]);
    try {
      await waitFor('up to print the dashboard line', () => up.output().includes('[up] dashboard:') || up.proc.exitCode !== null, 240_000);
      expect(up.output()).toContain('[up] dashboard:');
      const pids = stackPids(up.proc.pid ?? -1);
      expect(pids.length).toBeGreaterThanOrEqual(7);
      up.proc.kill('SIGTERM');
      await up.exited;
      await expectAllExit(pids);
    } finally {
      up.proc.kill('SIGKILL');
    }
  }, 400_000);

  it('a busy port: one line naming the port and the process holding it, exit 1', async () => {
    const dir = tempDir();
    const cfg = await freeConfig(dir);
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(cfg.ports.simRest, '127.0.0.1', () => r()));
    try {
      const up = run(process.execPath, [BIN, 'up', '--config', cfg.file, '--logs', join(dir, 'logs'), '--dashboard-port', String(cfg.dashboardPort)]);
      const { code } = await up.exited;
      expect(code).toBe(1);
      const line = up.output().split('\n').find((l) => l.startsWith('btcpipe up:'));
      expect(line).toMatch(new RegExp(`^btcpipe up: port ${cfg.ports.simRest} \\(simulator REST\\) is already in use by pid ${process.pid} \\(\\S*node`));
      expect(up.output()).not.toContain('[up] redis: started');
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  }, 120_000);
});
