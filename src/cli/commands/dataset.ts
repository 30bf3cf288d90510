/**
 * `btcpipe dataset build`: rebuild the served feature vectors of a symbol and time range from the lake, with
 * labels, into one Parquet file; progress on stderr, the summary (rows, parity with what was served, time) as
 * one JSON line on stdout. `btcpipe dataset archive-served`: move the served-feature log from Redis to the
 * lake (what the archive service does on its timer), once or every --every seconds.
 */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { ConfigError, loadConfig, type BtcpipeConfig } from '../../ops/config.js';
import { FolderObjectStore, type ObjectStore } from '../../lake/object-store.js';
import { DEFAULT_LAKE_ROOT } from '../../lake/folder-store.js';
import { DEFAULT_HORIZON_SECONDS } from '../../dataset/schema.js';

export class DatasetUsageError extends Error {
  override readonly name = 'DatasetUsageError';
}

/** "10s", "30", "1m" → whole seconds (pure). */
export function parseHorizon(v: string): number {
  const m = /^(\d+)\s*(s|m)?$/.exec(v.trim());
  if (!m) throw new DatasetUsageError(`--horizon ${JSON.stringify(v)}: expected whole seconds like 10s or 1m`);
  const n = Number(m[1]) * (m[2] === 'm' ? 60 : 1);
  if (!(n > 0)) throw new DatasetUsageError('--horizon must be positive');
  return n;
}

/** An ISO-8601 time with a zone (or a bare date, UTC) → ms (pure). */
export function parseIsoTime(flag: string, v: string): number {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(v.trim())) {
    throw new DatasetUsageError(`${flag} ${JSON.stringify(v)}: expected an ISO time with a zone, e.g. 2026-11-30T10:00:00Z`);
  }
  const t = Date.parse(v.trim());
  if (!Number.isFinite(t)) throw new DatasetUsageError(`${flag} ${JSON.stringify(v)} is not a valid time`);
  return t;
}

interface LakeChoice {
  store: ObjectStore;
  bronzePrefix: string;
  close(): void;
}

async function lakeFrom(opts: { lake?: string; config?: string; bronzePrefix?: string }): Promise<LakeChoice & { config?: BtcpipeConfig }> {
  if (opts.lake) return { store: new FolderObjectStore(opts.lake), bronzePrefix: opts.bronzePrefix ?? 'bronze', close: () => undefined };
  if (opts.config) {
    const config = loadConfig(opts.config, { mode: 'rest' });
    const { createLakeStore } = await import('../../services/ingest-rest-lake.js');
    const l = createLakeStore(config);
    return { ...l, bronzePrefix: opts.bronzePrefix ?? l.bronzePrefix, config };
  }
  return { store: new FolderObjectStore(DEFAULT_LAKE_ROOT), bronzePrefix: opts.bronzePrefix ?? 'bronze', close: () => undefined };
}

/** Redis Cluster on? (the key is `redis.cluster`; older configs say `cluster_mode`) */
function clusterOf(config: BtcpipeConfig): boolean {
  const r = config.redis as { cluster?: boolean; cluster_mode?: boolean };
  return r.cluster ?? r.cluster_mode ?? false;
}

function fail(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`btcpipe dataset: ${msg.split('\n')[0]}\n`);
  process.exit(err instanceof ConfigError || err instanceof DatasetUsageError ? 2 : 1);
}

export function register(program: Command): void {
  const ds = program.command('dataset').description('labelled datasets rebuilt from the lake, bit for bit as served');
  ds.command('build')
    .description(
      'replay the archived stream of --symbol through the aggregator core and write one row per served feature tick in [--from, --to): ' +
        'feature_ts, every feat:{SYM} feature, label_mid_price_{H}s and label_ret_{H}s; the summary (rows, parity with the served vectors) is printed as JSON',
    )
    .requiredOption('--symbol <symbol>', 'e.g. BTCUSDT')
    .requiredOption('--from <iso>', 'range start (served wall clock), e.g. 2026-11-30T10:00:00Z')
    .requiredOption('--to <iso>', 'range end (exclusive)')
    .requiredOption('--out <file.parquet>', 'where to write the dataset')
    .option('--horizon <duration>', 'label horizon, whole seconds (10s, 30s, 1m)', `${DEFAULT_HORIZON_SECONDS}s`)
    .option('--lake <dir>', `a folder lake (default ${DEFAULT_LAKE_ROOT}, or the config's lake with --config)`)
    .option('--config <file>', "take the lake (folder or S3) from this config's lake / aws.s3 sections")
    .option('--bronze-prefix <prefix>', 'top folder of the key layout (default bronze, or the config’s)')
    .option('--max-buffered-diffs <n>', "the aggregator's processing.max_buffered_diffs (default: the config's, else 10000)")
    .action(async (o: { symbol: string; from: string; to: string; out: string; horizon: string; lake?: string; config?: string; bronzePrefix?: string; maxBufferedDiffs?: string }) => {
      let lake: (LakeChoice & { config?: BtcpipeConfig }) | undefined;
      try {
        const symbol = o.symbol.trim().toUpperCase();
        if (!/^[A-Z0-9]{2,20}$/.test(symbol)) throw new DatasetUsageError(`--symbol ${JSON.stringify(o.symbol)} is not a symbol`);
        const fromMs = parseIsoTime('--from', o.from);
        const toMs = parseIsoTime('--to', o.to);
        const horizonSeconds = parseHorizon(o.horizon);
        lake = await lakeFrom(o);
        const mbd = o.maxBufferedDiffs !== undefined ? Number(o.maxBufferedDiffs) : lake.config?.processing.max_buffered_diffs;
        if (mbd !== undefined && !(Number.isSafeInteger(mbd) && mbd > 0)) throw new DatasetUsageError('--max-buffered-diffs must be a positive integer');
        const { buildDataset, encodeDataset } = await import('../../dataset/build.js');
        const { rows, summary } = await buildDataset({
          store: lake.store,
          bronzePrefix: lake.bronzePrefix,
          symbol,
          fromMs,
          toMs,
          horizonSeconds,
          maxBufferedDiffs: mbd,
          progress: (line) => process.stderr.write(`${line}\n`),
        });
        await writeFile(o.out, encodeDataset(rows, { symbol, fromMs, toMs, horizonSeconds }));
        const p = summary.parity;
        process.stderr.write(
          `wrote ${summary.rows} rows (${summary.labelled} labelled) to ${o.out} in ${summary.seconds} s; parity with the served vectors: ` +
            `${p.compared - p.mismatched}/${p.compared} equal (max relative error ${p.maxRelErr})\n`,
        );
        for (const ex of p.examples) process.stderr.write(`  differs: ${ex}\n`);
        process.stdout.write(`${JSON.stringify({ out: o.out, ...summary })}\n`);
      } catch (err) {
        fail(err);
      } finally {
        lake?.close();
      }
    });

  ds.command('archive-served')
    .description('move the served-feature log (feat:log:{SYM} in Redis) to the lake (features_served); once, or every --every seconds')
    .option('--config <file>', 'Redis, symbols and lake from this config', 'config/local.yaml')
    .option('--lake <dir>', 'a folder lake instead of the config’s')
    .option('--every <seconds>', 'keep running, archiving this often')
    .action(async (o: { config: string; lake?: string; every?: string }) => {
      try {
        const config = loadConfig(o.config, { mode: 'rest' });
        const lake = await lakeFrom({ lake: o.lake, config: o.config });
        const { redisFromConfig } = await import('../../services/redis-from-config.js');
        const { ServedFeatureArchiver } = await import('../../dataset/served-archive.js');
        const { waitForRedisReady } = await import('../../redis/connect.js');
        const redis = redisFromConfig(config, { connectionName: 'btcpipe-dataset-archive' });
        await waitForRedisReady(redis, Math.max(5000, config.redis.socket_connect_timeout_seconds * 5000));
        const archiver = new ServedFeatureArchiver({ redis, store: lake.store, symbols: config.binance.symbols, bronzePrefix: lake.bronzePrefix, cluster: clusterOf(config) });
        const once = async (): Promise<void> => {
          const n = await archiver.runOnce();
          process.stderr.write(`archived ${n} served-feature log entries to ${lake.store.describe()}\n`);
        };
        await once();
        const every = o.every === undefined ? undefined : Number(o.every);
        if (every === undefined) {
          await redis.quit();
          lake.close();
          return;
        }
        if (!(every > 0)) throw new DatasetUsageError('--every must be a positive number of seconds');
        const timer = setInterval(() => void once().catch((err: unknown) => process.stderr.write(`archive failed, retried: ${err instanceof Error ? err.message : String(err)}\n`)), every * 1000);
        const stop = (): void => {
          clearInterval(timer);
          void once().finally(() => {
            void redis.quit();
            lake.close();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (err) {
        fail(err);
      }
    });
}
