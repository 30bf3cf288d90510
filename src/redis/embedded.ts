import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../ops/free-port.js';

export interface EmbeddedRedis {
  port: number;
  url: string;
  /** Process id of the redis-server (tests pause it with SIGSTOP/SIGCONT to simulate a stall). */
  pid: number;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override readonly name = 'RedisServerMissingError';
}

/** True when a `redis-server` binary is on PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Start a throw-away `redis-server` on loopback (no persistence). Port 0 picks a free one.
 * Used by `btcpipe up` (when no Redis answers) and by the integration tests.
 */
export async function startEmbeddedRedis(opts: { port?: number; extraArgs?: string[] } = {}): Promise<EmbeddedRedis> {
  if (!hasRedisServer()) {
    throw new RedisServerMissingError(
      'redis-server is not installed; install it with `apt-get install -y redis-server`',
    );
  }
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes',
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitForPort(port, '127.0.0.1', 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
