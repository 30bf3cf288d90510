import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, waitFor } from './plain-client.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }
});

/** Start `btcpipe sim` (needs `npm run build`) and read its URLs from the line it prints. */
async function startCli(args: string[]): Promise<{ restUrl: string; line: string }> {
  const child = spawn(process.execPath, ['bin/btcpipe.js', 'sim', '--rest-port', '0', '--ws-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => out.includes('\n') || child.exitCode !== null, 60_000, `btcpipe sim to start (stderr: ${err})`);
  const m = /rest (http:\/\/\S+)/.exec(out);
  if (!m) throw new Error(`btcpipe sim printed no URL: ${out} ${err}`);
  return { restUrl: m[1], line: out.trim() };
}

describe('btcpipe sim (CLI)', () => {
  it('--rough serves three instruments, a deep book and the 6,000/min weight limit', async () => {
    const { restUrl, line } = await startCli(['--rough', '--rate', '20']);
    expect(line).toContain('symbols BTCUSDT,DOGEUSDT,ETHBTC');
    expect(line).toContain('rough');
    const info = await getJson<{ rateLimits: Array<{ rateLimitType: string; limit: number }>; symbols: unknown[] }>(`${restUrl}/api/v3/exchangeInfo`);
    expect(info.symbols).toHaveLength(3);
    expect(info.rateLimits.find((l) => l.rateLimitType === 'REQUEST_WEIGHT')?.limit).toBe(6000);
    const stats = await getJson<{ market: Record<string, { bidLevels: number }> }>(`${restUrl}/sim/stats`);
    expect(Object.values(stats.market).every((m) => m.bidLevels > 5000)).toBe(true);
  }, 120_000);

  it('rejects an out-of-range probability with a clear message', async () => {
    const child = spawn(process.execPath, ['bin/btcpipe.js', 'sim', '--cull-best-bid-ask', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(err).toContain('--cull-best-bid-ask must be a number in [0, 1]');
  });
});
