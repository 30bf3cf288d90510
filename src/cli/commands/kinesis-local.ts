import type { Command } from 'commander';
import { startEmbeddedKinesis } from '../../kinesis/embedded.js';
import { intOption } from '../int-option.js';
import { exitOnSignal } from '../stop-on-signal.js';

const portOption = (name: string): ((v: string) => number) => intOption(name, 1, 65_535, 'a port');

interface KinesisLocalCliOptions {
  port: number;
  tlsPort: number;
  streams?: string;
  asShipped?: boolean;
}

/**
 * kinesis-local in the foreground, started as `btcpipe up` starts it (src/kinesis/embedded.ts: the edits of
 * kinesis-local-edits.ts, a 128 MB semi-space), for a stack that runs its parts separately: compose.yaml's
 * `kinesis` service. As shipped, its GetRecords slows with every record the shard has held.
 */
export function register(program: Command): void {
  program
    .command('kinesis-local')
    .description('run kinesis-local (Kinesis API emulator) in the foreground, as `btcpipe up` runs it, until stopped')
    .option('--port <port>', 'plain HTTP port', portOption('--port'), 4568)
    .option('--tls-port <port>', 'HTTPS port', portOption('--tls-port'), 4567)
    .option('--streams <list>', 'comma-separated streams to create (1 shard each); the services can create their own (aws.kinesis.create_streams)')
    .option('--as-shipped', 'without the edits of src/kinesis/kinesis-local-edits.ts (also BTCPIPE_KINESIS_LOCAL_AS_SHIPPED=1)')
    .action(async (opts: KinesisLocalCliOptions) => {
      const streams = opts.streams?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      const k = await startEmbeddedKinesis({ plainPort: opts.port, tlsPort: opts.tlsPort, streams, asShipped: opts.asShipped === true });
      const edits = k.edits.length > 0 ? `edits: ${k.edits.join(', ')}` : 'as shipped';
      process.stdout.write(`kinesis-local on ${k.endpoint} (TLS port ${k.tlsPort}, pid ${k.pid}; ${edits})\n`);
      if (k.skippedEdits.length > 0) process.stdout.write(`kinesis-local: this build does not hold the text of edit(s) ${k.skippedEdits.join(', ')}: running without them\n`);
      let stopping = false;
      exitOnSignal(() => {
        stopping = true;
        return k.stop();
      });
      const code = await k.exited;
      if (!stopping) {
        process.stderr.write(`btcpipe: kinesis-local exited by itself (code ${String(code)})\n`);
        process.exit(1);
      }
    });
}
