import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, waitForPort } from '../../../src/ops/free-port.js';

export interface RunningS3rver {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * s3rver in its own Node process on a free loopback port. It runs with --openssl-legacy-provider
 * because s3rver 3.7 signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node ≥ 17) only
 * offers through the legacy provider; without it every truncated listing fails with InternalError.
 */
export async function startS3rver(directory: string, buckets: string[]): Promise<RunningS3rver> {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const port = await freePort();
  const args = ['--openssl-legacy-provider', bin, '-d', directory, '-a', '127.0.0.1', '-p', String(port), '-s'];
  for (const b of buckets) args.push('--configure-bucket', b);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, '127.0.0.1', 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`s3rver did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
