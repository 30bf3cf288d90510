import type { Command } from 'commander';
import { startEmbeddedRedisCluster } from '../../redis/embedded-cluster.js';
import { intOption } from '../int-option.js';
import { exitOnSignal } from '../stop-on-signal.js';

interface RedisClusterCliOptions {
  masters: number;
  replicas: number;
  nodeTimeoutMs: number;
  duration?: number;
}

export function register(program: Command): void {
  program
    .command('redis-cluster')
    .description('start a throw-away Redis Cluster on loopback (redis-server per node, data in a temp dir) and print how to point the services at it')
    .option('--masters <n>', 'masters (at least 3)', intOption('--masters', 3, 16), 3)
    .option('--replicas <n>', 'replicas per master (1 or more lets a master fail over)', intOption('--replicas', 0, 3), 1)
    .option('--node-timeout-ms <ms>', 'cluster-node-timeout: silence before a node counts as failed', intOption('--node-timeout-ms', 100, 60_000), 1000)
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', intOption('--duration', 1, 86_400))
    .action(async (opts: RedisClusterCliOptions) => {
      const cluster = await startEmbeddedRedisCluster({ masters: opts.masters, replicas: opts.replicas, nodeTimeoutMs: opts.nodeTimeoutMs });
      const t = await cluster.topology();
      for (const n of t.nodes) {
        const pid = cluster.nodes.find((p) => p.address === n.address)?.pid;
        const what = n.role === 'master' ? `master, slots ${n.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}` : `replica of ${n.masterAddress}`;
        process.stdout.write(`  ${n.address}  pid ${pid}  ${what}\n`);
      }
      process.stdout.write(`export REDIS_CLUSTER=true REDIS_CLUSTER_NODES=${cluster.seeds.join(',')}\n`);
      const stop = exitOnSignal(() => cluster.stop());
      if (opts.duration) setTimeout(stop, opts.duration * 1000);
    });
}
