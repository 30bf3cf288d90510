/**
 * `btcpipe dashboard` as compose.yaml runs it: the compiled CLI against the shared redis-server, symbols
 * from the environment, service health URLs from --service; it stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/ops/free-port.js';
import { sharedRedisUrl, uniqueSymbol } from '../../support/servers.js';
import { BIN, ensureBuilt, ROOT } from '../chaos/build.js';

const dir = mkdtempSync(join(tmpdir(), 'btcpipe-dashboard-'));
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
}, 300_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not seen within ${timeoutMs} ms (${String(last)})`);
}

describe('btcpipe dashboard', () => {
  it('serves the page and state for the configured Redis, symbols and services; stops on SIGTERM', async () => {
    const redis = new URL(sharedRedisUrl());
    const file = join(dir, 'dash.yaml');
    writeFileSync(file, JSON.stringify({ redis: { host: redis.hostname, port: Number(redis.port) } }));
    const port = await freePort();
    const symbol = uniqueSymbol();
    const p = run(
      ['dashboard', '--config', file, '--port', String(port), '--service', 'aggregator=http://127.0.0.1:1', '--link', 'sim=http://127.0.0.1:2/sim/stats'],
      { BINANCE_SYMBOLS: symbol },
    );
    const page = await waitFor(
      'the page',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        return res.ok ? res.text() : undefined;
      },
      60_000,
    );
    expect(page).toContain('<html');
    const state = await waitFor(
      'a Redis poll',
      async () => {
        const s = (await (await fetch(`http://127.0.0.1:${port}/api/state`)).json()) as {
          lastPollAgeMs: number | null;
          redisError: string | null;
          links: Record<string, string>;
          symbols: Array<{ symbol: string }>;
        };
        return s.lastPollAgeMs !== null ? s : undefined;
      },
      60_000,
    );
    expect(state.redisError).toBeNull();
    expect(state.symbols.map((s) => s.symbol)).toEqual([symbol]);
    expect(state.links).toEqual({ sim: 'http://127.0.0.1:2/sim/stats' });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('refuses a --service that is not name=url, naming the option', async () => {
    const p = run(['dashboard', '--service', 'aggregator:8082']);
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toMatch(/--service expects name=http:\/\/host:port, got "aggregator:8082"/);
  });
});
