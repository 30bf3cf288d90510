import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListStreamsCommand,
  ResourceInUseException,
} from '@aws-sdk/client-kinesis';
import { freePort } from '../ops/free-port.js';
import { createKinesisClient } from './client.js';
import { editKinesisLocal } from './kinesis-local-edits.js';

export interface EmbeddedKinesis {
  /** Plain-HTTP endpoint for the AWS SDK, e.g. http://127.0.0.1:4568 */
  endpoint: string;
  plainPort: number;
  tlsPort: number;
  /** Process id of kinesis-local (a launcher's watchdog must be able to stop it if the launcher dies). */
  pid: number;
  /** The edits of kinesis-local-edits.ts made to this emulator (none as shipped; the TRACE-only ones not at TRACE). */
  edits: string[];
  /** Edits whose text this kinesis-local build does not hold exactly once (another version): not made. */
  skippedEdits: string[];
  /** Resolves when the emulator's process ends, however it ends, with its exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface EmbeddedKinesisOptions {
  plainPort?: number;
  tlsPort?: number;
  /** Streams to create (1 shard each unless given as {name, shards}). */
  streams?: Array<string | { name: string; shards: number }>;
  region?: string;
  startTimeoutMs?: number;
  /**
   * Run the emulator exactly as shipped, without the edits of kinesis-local-edits.ts (its TRACE-only logging
   * work and its GetRecords search from a shard's first record). Default false; also
   * BTCPIPE_KINESIS_LOCAL_AS_SHIPPED=1 in the environment.
   */
  asShipped?: boolean;
}

/**
 * A Kinesis client for local emulators: dummy credentials, HTTP/1.1 keep-alive (see createKinesisClient:
 * the SDK's default HTTP/2 handler breaks against kinesis-local), SDK retries left at the SDK default.
 */
export function localKinesisClient(endpoint: string, region = 'us-east-1'): KinesisClient {
  return createKinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

/** Create the streams that are missing and wait until every one is ACTIVE. */
export async function ensureStreams(
  client: KinesisClient,
  streams: Array<string | { name: string; shards: number }>,
  timeoutMs = 30_000,
): Promise<void> {
  for (const s of streams) {
    const name = typeof s === 'string' ? s : s.name;
    const shards = typeof s === 'string' ? 1 : s.shards;
    try {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const s of streams) {
    const name = typeof s === 'string' ? s : s.name;
    for (;;) {
      const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      if (Date.now() > deadline) throw new Error(`Kinesis stream ${name} did not become ACTIVE in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const KINESIS_MOCK_SEMI_SPACE_MB = 128;

/**
 * Start kinesis-local (the npm build of kinesis-mock) as a child process and wait until it answers.
 * It needs KINESIS_MOCK_CERT_PATH pointing at its bundled server.json when started outside its folder.
 */
export async function startEmbeddedKinesis(opts: EmbeddedKinesisOptions = {}): Promise<EmbeddedKinesis> {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('kinesis-local/package.json'));
  const plainPort = opts.plainPort && opts.plainPort > 0 ? opts.plainPort : await freePort();
  const tlsPort = opts.tlsPort && opts.tlsPort > 0 ? opts.tlsPort : await freePort();
  // kinesis-mock is Scala.js and allocates heavily per byte of payload: with V8's default 16 MB
  // semi-space, half its CPU went to scavenges. A larger young generation halves PutRecords/GetRecords
  // time for 500 KB calls (measured 430 → 205 ms and 360 → 125 ms) at the cost of memory only under load.
  const logLevel = process.env.KINESIS_MOCK_LOG_LEVEL ?? 'WARN';
  const mainJs = join(pkgDir, 'main.js');
  const asShipped = (opts.asShipped ?? false) || process.env.BTCPIPE_KINESIS_LOCAL_AS_SHIPPED === '1';
  const result = asShipped ? undefined : editKinesisLocal(readFileSync(mainJs, 'utf8'), logLevel);
  // Nothing edited (TRACE, or another build): run the file itself, as shipped.
  const edited = result && result.applied.length > 0 ? result : undefined;
  // The edited source goes in on stdin (`node -`), so the installed package stays untouched; the trailing
  // argument only names the process for ps.
  const child: ChildProcess = spawn(
    process.execPath,
    [`--max-semi-space-size=${KINESIS_MOCK_SEMI_SPACE_MB}`, ...(edited ? ['-', 'kinesis-local'] : [mainJs])],
    {
      cwd: pkgDir,
      env: {
        ...process.env,
        KINESIS_MOCK_CERT_PATH: join(pkgDir, 'server.json'),
        KINESIS_MOCK_PLAIN_PORT: String(plainPort),
        KINESIS_MOCK_TLS_PORT: String(tlsPort),
        LOG_LEVEL: logLevel,
        CREATE_STREAM_DURATION: '0ms',
        SHARD_LIMIT: '200',
      },
      stdio: [edited ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    },
  );
  if (edited) {
    child.stdin?.on('error', () => undefined); // an exit during start-up is reported below
    child.stdin?.end(edited.source);
  }
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  let exited = false;
  // An emulator must not outlive the process that started it (a crashed test run would leak it).
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exitCode = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      process.removeListener('exit', killOnExit);
      resolve(code);
    });
  });
  const endpoint = `http://127.0.0.1:${plainPort}`;
  const client = localKinesisClient(endpoint, opts.region);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited) throw new Error(`kinesis-local exited during start-up: ${stderr.trim()}`);
      try {
        await client.send(new ListStreamsCommand({}));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`kinesis-local did not answer on ${endpoint}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (opts.streams?.length) await ensureStreams(client, opts.streams);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    plainPort,
    tlsPort,
    pid: child.pid ?? -1,
    edits: edited?.applied ?? [],
    skippedEdits: result?.skipped ?? [],
    exited: exitCode,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
