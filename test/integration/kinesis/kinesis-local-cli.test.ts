import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { beforeAll, describe, expect, it } from 'vitest';
import { localKinesisClient } from '../../../src/kinesis/embedded.js';
import { freePort } from '../../../src/ops/free-port.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(root, 'bin', 'btcpipe.js');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('btcpipe kinesis-local (spawned)', () => {
  beforeAll(async () => {
    // The CLI runs compiled output: rebuild only when it is older than the sources this test exercises.
    const built = join(root, 'dist', 'cli', 'commands', 'kinesis-local.js');
    const sources = ['src/cli/main.ts', 'src/cli/commands/kinesis-local.ts', 'src/kinesis/embedded.ts', 'src/kinesis/kinesis-local-edits.ts'];
    if (!existsSync(built) || sources.some((s) => statSync(join(root, s)).mtimeMs > statSync(built).mtimeMs)) {
      await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, timeout: 180_000 }).catch(() => undefined);
    }
    expect(existsSync(built)).toBe(true);
  }, 200_000);

  it('serves the edited emulator with the asked streams until SIGTERM, then stops it and exits 0', async () => {
    const [port, tlsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [cli, 'kinesis-local', '--port', String(port), '--tls-port', String(tlsPort), '--streams', 'cli-a, cli-b'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 90_000;
    while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(new RegExp(`^kinesis-local on http://127\\.0\\.0\\.1:${port} \\(TLS port ${tlsPort}, pid \\d+; edits: http-body-logging, trace-context-encoding, get-records-search-from-tip\\)`));
    const emulatorPid = Number(/pid (\d+)/.exec(out)?.[1]);
    const client = localKinesisClient(`http://127.0.0.1:${port}`);
    try {
      expect((await client.send(new ListStreamsCommand({}))).StreamNames?.sort()).toEqual(['cli-a', 'cli-b']);
    } finally {
      client.destroy();
    }
    expect(alive(emulatorPid)).toBe(true);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(alive(emulatorPid)).toBe(false);
  }, 120_000);

  it('refuses a bad port with a clear error', () => {
    const r = spawnSync(process.execPath, [cli, 'kinesis-local', '--port', '99999'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--port must be a port 1-65535, got "99999"');
  });
});
