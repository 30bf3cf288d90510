/**
 * `btcpipe chaos --duration 120 --json` as a user runs it: the whole stack (real redis-server, kinesis-local,
 * simulator and services, on free loopback ports beside the suite's servers) under every fault class, judged
 * from outside. Each invariant is asserted on its own so a failure names it with its figures.
 */
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatReport, type ChaosReport } from '../../../src/chaos/report.js';
import { BIN, ensureBuilt, ROOT } from './build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 300_000);

function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'chaos', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('btcpipe chaos', () => {
  it('two minutes of every fault class: never wrong or stale while live, no crash, no stall, the lake complete', async () => {
    const run = await runChaos(['--duration', '120', '--json']);
    expect(run.stdout, run.stderr.slice(-3000)).toMatch(/^\{/);
    const report = JSON.parse(run.stdout) as ChaosReport;
    // Every fault class was injected (none skipped as unsupported).
    expect(report.faults.skipped).toEqual([]);
    expect(Object.keys(report.faults.byKind).length).toBe(13);
    const table = formatReport(report);
    for (const v of report.invariants) expect.soft(v.ok, `${v.name}: ${v.detail}\n${table}`).toBe(true);
    expect(report.ok).toBe(true);
    expect(run.code).toBe(0);
  }, 900_000);
});
