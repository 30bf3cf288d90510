import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Service configuration: YAML files shaped like the seeds' (config/sbe.yaml, rest.yaml, aggregator.yaml,
 * local.yaml), `${ENV}` / `${ENV:-default}` interpolation, environment overrides, strict validation.
 * Every error names the key, so a typo or a missing value stops the service at start-up, not at 3 a.m.
 */

export type ServiceMode = 'sbe' | 'rest' | 'aggregator' | 'archive';
export const SERVICE_MODES: readonly ServiceMode[] = ['sbe', 'rest', 'aggregator', 'archive'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const symbol = z.string().regex(/^[A-Z0-9]{2,20}$/, 'a Binance symbol in upper case, e.g. BTCUSDT');
const port = z.number().int().min(0).max(65535);
const positive = z.number().positive();

const binanceSchema = z
  .object({
    sbe_ws_url: z.string().url().default('wss://stream-sbe.binance.com:9443'),
    rest_base_url: z.string().url().default('https://data-api.binance.vision'),
    api_key: z.string().optional(),
    api_secret: z.string().optional(),
    symbols: z.array(symbol).min(1).default(['BTCUSDT']),
    stream_types: z.array(z.enum(['trade', 'bestBidAsk', 'depth'])).min(1).default(['trade', 'bestBidAsk', 'depth']),
    reconnect_interval_seconds: positive.default(1),
    reconnect_max_interval_seconds: positive.default(60),
    max_reconnect_attempts: z.number().int().positive().default(10),
    watchdog_timeout_seconds: positive.default(30),
    max_connection_age_seconds: positive.default(23.5 * 3600),
    /** A cap on the REST weight budget; the budget itself is the venue's, read from exchangeInfo. */
    rate_limit_requests_per_minute: z.number().int().positive().optional(),
    /** Read the weight limit from /api/v3/exchangeInfo (Binance publishes 6,000/min); 1,200 until it is read. */
    weight_limit_from_exchange_info: z.boolean().default(true),
    request_timeout_ms: z.number().int().positive().default(10_000),
  })
  .strict();

export const DEFAULT_EVENTS_STREAM = 'market-sbe-events';

const kinesisSchema = z
  .object({
    /** Where each event type goes. One name for all three (the default) keeps a symbol's events in one
     *  ordered stream; three names are supported, and the aggregator then merges them by event time. */
    streams: z
      .object({
        trade: z.string().min(1).default(DEFAULT_EVENTS_STREAM),
        bestbidask: z.string().min(1).default(DEFAULT_EVENTS_STREAM),
        depth: z.string().min(1).default(DEFAULT_EVENTS_STREAM),
      })
      .strict()
      .default({}),
    batch_size: z.number().int().min(1).max(500).default(500),
    /**
     * Linger before a partial batch is sent. 12 ms: kinesis-local answers every call on one thread, and a
     * 5 ms linger sent ~90-130 calls/s at 5,000 events/s, whose queueing cost more than the wait saves
     * (bench e2e, reader P95 1 / 10 symbols, at ~6 ms per call: 5 ms 64 / 115, 10 ms 51 / 107, 15 ms 55-58 /
     * 70-75, 20 ms 77 / 78; at ~2-3.5 ms per call: 10 ms with a 5 ms poll 38-67 / 62-116, 15 ms 42-61 / 62-111;
     * 2026-12-01, 4 rounds alternating, with an 8 ms poll: 12 ms 35-37 / 45-55 against 15 ms with a 10 ms poll
     * 40-43 / 53-60).
     */
    flush_interval_seconds: z.number().min(0).max(60).default(0.012),
    aggregation: z.boolean().default(true),
    /** What a user record holds: 'sbe' the venue's SBE message as received behind a 20-byte envelope
     *  (README "Kinesis record format"), 'json' one normalized event as JSON. Readers detect it per record. */
    record_format: z.enum(['sbe', 'json']).default('sbe'),
    /** gzip whole Kinesis records; the aggregator and the Lambda handler detect it, other readers must gunzip. */
    compression: z.enum(['none', 'gzip']).default('none'),
    max_buffer_events: z.number().int().positive().default(200_000),
    max_buffer_bytes: z.number().int().positive().default(256 * 1024 * 1024),
    create_streams: z.boolean().default(false),
    shard_count: z.number().int().positive().default(1),
    consumer_config: z
      .object({
        shard_iterator_type: z.enum(['LATEST', 'TRIM_HORIZON']).default('LATEST'),
        max_records_per_poll: z.number().int().min(1).max(10_000).default(1000),
        poll_interval_ms: z.number().int().min(0).default(100),
        /** Several streams: a stream at its shard tip vouches for events older than wall − this. */
        watermark_idle_ms: z.number().int().min(0).max(60_000).default(250),
        /** Several streams: no event waits longer than this for the slowest stream. */
        watermark_max_hold_ms: z.number().int().min(0).max(600_000).default(2000),
        /**
         * Several aggregator processes sharing the stream's shards: a lease per shard in Redis (KCL's lease
         * table), each shard read by one worker at a time, writes fenced by lease epoch. Off: one aggregator
         * reads every shard (checkpoints in kinesis:checkpoint:<stream>).
         */
        leases: z
          .object({
            enabled: z.boolean().default(false),
            /** Unique per process; default host-pid-random. */
            worker_id: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/, '1-128 of A-Z a-z 0-9 . _ : @ -').optional(),
            /** A lease lapses this long after its last renewal; failover takes at most duration + take interval. */
            duration_ms: z.number().int().min(1000).max(300_000).default(10_000),
            renew_interval_ms: z.number().int().min(100).default(3000),
            take_interval_ms: z.number().int().min(100).default(3000),
            /** ListShards period: new shards after a reshard get leases. */
            shard_sync_interval_ms: z.number().int().min(1000).default(10_000),
          })
          .strict()
          .refine((l) => l.renew_interval_ms * 2 <= l.duration_ms, { message: 'renew_interval_ms must be at most half of duration_ms', path: ['renew_interval_ms'] })
          .default({}),
      })
      .strict()
      .default({}),
  })
  .strict();

const s3Schema = z
  .object({
    bucket: z.string().min(1).default('bitcoin-data-lake'),
    bronze_prefix: z.string().default('bronze'),
    endpoint_url: z.string().url().optional(),
    force_path_style: z.boolean().default(false),
  })
  .strict();

const awsSchema = z
  .object({
    region: z.string().min(1).default('us-east-1'),
    endpoint_url: z.string().url().optional(),
    kinesis: kinesisSchema.default({}),
    s3: s3Schema.default({}),
  })
  .strict();

const redisSchema = z
  .object({
    host: z.string().min(1).default('localhost'),
    port: port.default(6379),
    db: z.number().int().min(0).default(0),
    password: z.string().optional(),
    tls: z.boolean().default(false),
    /** Redis Cluster (ElastiCache cluster mode): every key of a symbol carries the hash tag {SYM}. */
    cluster: z.boolean().optional(),
    /** Older spelling of `cluster`, still read. */
    cluster_mode: z.boolean().optional(),
    /** Cluster seed nodes, "host:port" (a list, or one comma-separated string for ${ENV}); default host:port. */
    cluster_nodes: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((n) => n.trim()).filter((n) => n !== ''))
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, e.g. 10.0.1.5:6379')).min(1))
      .optional(),
    connection_pool_size: z.number().int().positive().default(20),
    max_connections: z.number().int().positive().default(50),
    socket_timeout_seconds: positive.default(1),
    socket_connect_timeout_seconds: positive.default(1),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.cluster !== undefined && r.cluster_mode !== undefined && r.cluster !== r.cluster_mode) {
      ctx.addIssue({ code: 'custom', path: ['cluster_mode'], message: 'contradicts redis.cluster (cluster_mode is its older name; keep one)' });
    }
    const cluster = r.cluster ?? r.cluster_mode ?? false;
    if (r.cluster_nodes && !cluster) {
      ctx.addIssue({ code: 'custom', path: ['cluster_nodes'], message: 'seed nodes are only read with redis.cluster: true' });
    }
    for (const [i, n] of (r.cluster_nodes ?? []).entries()) {
      const p = Number(n.slice(n.lastIndexOf(':') + 1));
      if (p < 1 || p > 65535) ctx.addIssue({ code: 'custom', path: ['cluster_nodes', i], message: `port ${p} out of range 1-65535` });
    }
    if (cluster && r.db !== 0) {
      ctx.addIssue({ code: 'custom', path: ['db'], message: 'Redis Cluster has database 0 only' });
    }
  })
  .transform(({ cluster, cluster_mode, cluster_nodes, ...r }) => {
    const on = cluster ?? cluster_mode ?? false;
    // cluster_mode stays readable for code written against the older name; both always agree.
    return { ...r, cluster: on, cluster_mode: on, cluster_nodes: on ? (cluster_nodes ?? [`${r.host}:${r.port}`]) : [] };
  });

const processingSchema = z
  .object({
    feature_update_interval_seconds: positive.default(2),
    trade_window_sizes: z.array(z.union([z.literal(1), z.literal(5)])).default([1, 5]),
    order_book_levels: z.number().int().min(1).max(100).default(10),
    batch_size: z.number().int().positive().default(500),
    flush_interval_ms: z.number().int().min(0).default(100),
    max_buffered_diffs: z.number().int().positive().default(10_000),
    /** Aggregator: at most one re-anchor request per symbol per this many seconds (repeated while resyncing). */
    reanchor_request_interval_seconds: positive.default(5),
    /** Event times further than this ahead of the clock are not trusted: the aggregator dead-letters such
     *  records (never applies them); the REST gap checks do not take them as the hot path's time. */
    max_event_time_skew_seconds: z.number().min(0).default(5),
    /** A live book with no event for this long (wall clock) is written `status=stale` until events resume (0: never). */
    stale_after_seconds: z.number().min(0).max(3600).default(2),
    /** Aggregator: a `btcpipe train --out` model served as pred:{SYM} after every feature tick (unset: off). */
    model_file: z.string().min(1).optional(),
  })
  .strict();

const schedulerSchema = z
  .object({
    poll_interval_seconds: positive.default(60),
    gap_detection_enabled: z.boolean().default(true),
    reanchor_enabled: z.boolean().default(true),
    gap_criteria: z
      .object({ sequence: z.boolean().default(true), time: z.boolean().default(true), volume: z.boolean().default(true) })
      .strict()
      .default({}),
    time_gap_seconds: positive.default(5),
    reanchor_min_interval_seconds: z.number().min(0).default(10),
    /** Lease of the re-anchor flag (renewed by its owner while it works): a killed REST mode frees it within this. */
    reanchor_lease_seconds: z.number().min(1).max(300).default(15),
    depth_snapshot_limit: z.number().int().min(100).max(5000).default(5000),
    backfill_start_minutes: z.number().int().min(0).default(10),
  })
  .strict();

const lakeSchema = z
  .object({
    backend: z.enum(['folder', 's3']).default('folder'),
    root: z.string().min(1).default('./data/lake'),
    /** `btcpipe archive`: the whole Kinesis stream into the lake. */
    archive: z
      .object({
        /** Where a stream without an archive checkpoint starts: TRIM_HORIZON keeps everything Kinesis still has. */
        initial_position: z.enum(['LATEST', 'TRIM_HORIZON']).default('TRIM_HORIZON'),
        /** Every buffer is flushed (and the checkpoint stored) at least this often. */
        flush_interval_seconds: positive.default(60),
        max_buffered_rows: z.number().int().positive().default(200_000),
        max_buffered_mib: z.number().int().positive().default(64),
        max_rows_per_file: z.number().int().positive().default(100_000),
        /** Fetch trades missing from the stream from /api/v3/trades (the venue's most recent 1,000). */
        fill_trade_holes: z.boolean().default(true),
        /** A reanchor:done entry is archived once this old (the REST mode's own snapshot file comes first). */
        reanchor_grace_seconds: positive.default(30),
      })
      .strict()
      .default({}),
  })
  .strict();

const configSchema = z
  .object({
    service_name: z.string().min(1).optional(),
    mode: z.enum(['sbe', 'rest', 'aggregator', 'archive']).optional(),
    binance: binanceSchema.default({}),
    aws: awsSchema.default({}),
    redis: redisSchema.default({}),
    processing: processingSchema.default({}),
    scheduler: schedulerSchema.default({}),
    lake: lakeSchema.default({}),
    health: z.object({ port: port.optional(), host: z.string().default('0.0.0.0') }).strict().default({}),
    metrics: z
      .object({ enable_prometheus: z.boolean().default(true), prometheus_port: port.optional() })
      .strict()
      .default({}),
    logging: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({}),
    /** Per-mode overrides in a shared file such as config/local.yaml. */
    modes: z.record(z.enum(['sbe', 'rest', 'aggregator', 'archive']), z.unknown()).optional(),
  })
  .strict();

type ParsedConfig = z.infer<typeof configSchema>;

export interface BtcpipeConfig extends Omit<ParsedConfig, 'modes' | 'health' | 'metrics' | 'mode' | 'service_name'> {
  mode: ServiceMode;
  service_name: string;
  health: { port: number; host: string };
  metrics: { enable_prometheus: boolean; prometheus_port: number };
  /** Where the file came from (for error messages and health). */
  source: string;
}

export const MODE_DEFAULTS: Record<ServiceMode, { service: string; health: number; metrics: number }> = {
  sbe: { service: 'bitcoin-ingestor-sbe', health: 8080, metrics: 9090 },
  rest: { service: 'bitcoin-ingestor-rest', health: 8081, metrics: 9092 },
  aggregator: { service: 'bitcoin-aggregator', health: 8082, metrics: 9091 },
  archive: { service: 'bitcoin-archiver', health: 8083, metrics: 9093 },
};

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replace ${VAR} / ${VAR:-default} in every string; a missing variable with no default drops the key. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: string, missing: Map<string, string>): unknown {
  if (typeof value === 'string') {
    let dropped = false;
    const out = value.replace(ENV_RE, (_m, name: string, dflt: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      dropped = true;
      missing.set(path, name);
      return '';
    });
    if (dropped && out === '') return undefined;
    // A whole-value number or boolean from the environment keeps its type (e.g. port: ${REDIS_PORT}).
    if (out !== value && /^\$\{[^}]+\}$/.test(value)) {
      if (/^-?\d+(\.\d+)?$/.test(out)) return Number(out);
      if (out === 'true' || out === 'false') return out === 'true';
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`, missing));
  if (value && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = interpolate(v, env, path ? `${path}.${k}` : k, missing);
      if (r !== undefined) o[k] = r;
    }
    return o;
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/** Environment variables that override the file (the seeds' and the AWS SDK's names). */
function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const num = (v: string, name: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ConfigError(`environment variable ${name} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  if (env.REDIS_HOST) setPath(raw, ['redis', 'host'], env.REDIS_HOST);
  if (env.REDIS_PORT) setPath(raw, ['redis', 'port'], num(env.REDIS_PORT, 'REDIS_PORT'));
  if (env.REDIS_CLUSTER) {
    if (env.REDIS_CLUSTER !== 'true' && env.REDIS_CLUSTER !== 'false') {
      throw new ConfigError(`environment variable REDIS_CLUSTER must be true or false, got ${JSON.stringify(env.REDIS_CLUSTER)}`);
    }
    setPath(raw, ['redis', 'cluster'], env.REDIS_CLUSTER === 'true');
  }
  if (env.REDIS_CLUSTER_NODES) setPath(raw, ['redis', 'cluster_nodes'], env.REDIS_CLUSTER_NODES);
  if (env.BTCPIPE_AGGREGATOR_LEASES) {
    if (env.BTCPIPE_AGGREGATOR_LEASES !== 'true' && env.BTCPIPE_AGGREGATOR_LEASES !== 'false') {
      throw new ConfigError(`environment variable BTCPIPE_AGGREGATOR_LEASES must be true or false, got ${JSON.stringify(env.BTCPIPE_AGGREGATOR_LEASES)}`);
    }
    setPath(raw, ['aws', 'kinesis', 'consumer_config', 'leases', 'enabled'], env.BTCPIPE_AGGREGATOR_LEASES === 'true');
  }
  if (env.AWS_REGION) setPath(raw, ['aws', 'region'], env.AWS_REGION);
  const kinesisEndpoint = env.AWS_ENDPOINT_URL_KINESIS ?? env.AWS_ENDPOINT_URL;
  if (kinesisEndpoint) setPath(raw, ['aws', 'endpoint_url'], kinesisEndpoint);
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (s3Endpoint) setPath(raw, ['aws', 's3', 'endpoint_url'], s3Endpoint);
  if (env.BINANCE_API_KEY) setPath(raw, ['binance', 'api_key'], env.BINANCE_API_KEY);
  // One image, many tasks: each ingestor task of a deployment gets its connection group's symbols.
  if (env.BINANCE_SYMBOLS) setPath(raw, ['binance', 'symbols'], env.BINANCE_SYMBOLS.split(',').map((s) => s.trim()));
}

function formatIssues(err: z.ZodError, source: string, missing: Map<string, string>): string {
  const lines = err.issues.map((i) => {
    const key = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
    let msg = i.message;
    if (i.code === 'unrecognized_keys') msg = `unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    const envName = missing.get(key);
    return `  ${key || '(root)'}: ${msg}${envName ? ` (environment variable ${envName} is not set)` : ''}`;
  });
  return `invalid config ${source}:\n${lines.join('\n')}`;
}

export interface LoadConfigOptions {
  mode?: ServiceMode;
  env?: NodeJS.ProcessEnv;
}

/** Validate an already-parsed YAML document. */
export function resolveConfig(doc: unknown, source: string, opts: LoadConfigOptions = {}): BtcpipeConfig {
  const env = opts.env ?? process.env;
  if (doc !== null && doc !== undefined && !isPlainObject(doc)) {
    throw new ConfigError(`invalid config ${source}: the document must be a mapping of keys, not ${typeof doc}`);
  }
  const missing = new Map<string, string>();
  let raw = interpolate(doc ?? {}, env, '', missing) as Record<string, unknown>;
  const fileMode = typeof raw.mode === 'string' ? raw.mode : undefined;
  // MODE from the environment is read by the CLI (it may also be set by unrelated tools, e.g. vite).
  const mode = opts.mode ?? (fileMode as ServiceMode | undefined);
  if (!mode || !SERVICE_MODES.includes(mode)) {
    throw new ConfigError(
      `invalid config ${source}:\n  mode: ${mode ? `unknown mode ${JSON.stringify(mode)}` : 'not set'} (one of ${SERVICE_MODES.join(', ')}; --mode, MODE or the file's mode key)`,
    );
  }
  const overrides = isPlainObject(raw.modes) ? raw.modes[mode] : undefined;
  if (overrides !== undefined && !isPlainObject(overrides)) {
    throw new ConfigError(`invalid config ${source}:\n  modes.${mode}: must be a mapping`);
  }
  if (overrides) raw = deepMerge(raw, overrides);
  delete raw.modes;
  applyEnvOverrides(raw, env);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, source, missing));
  const c = parsed.data;
  const d = MODE_DEFAULTS[mode];
  if (mode === 'sbe' && !c.binance.api_key) {
    const envName = missing.get('binance.api_key');
    throw new ConfigError(
      `invalid config ${source}:\n  binance.api_key: required in sbe mode (the SBE stream needs an Ed25519 API key)${envName ? ` (environment variable ${envName} is not set)` : '; set BINANCE_API_KEY'}`,
    );
  }
  const { modes: _m, ...rest } = c;
  return {
    ...rest,
    mode,
    service_name: c.service_name ?? d.service,
    health: { host: c.health.host, port: c.health.port ?? d.health },
    metrics: { enable_prometheus: c.metrics.enable_prometheus, prometheus_port: c.metrics.prometheus_port ?? d.metrics },
    source,
  };
}

/** Load and validate a YAML config file (CONFIG_FILE / --config). */
export function loadConfig(file: string, opts: LoadConfigOptions = {}): BtcpipeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return resolveConfig(doc, file, opts);
}

/** The config with secrets masked, for health output and start-up logs. */
export function redactConfig(c: BtcpipeConfig): BtcpipeConfig {
  const mask = (v: string | undefined): string | undefined => (v ? '***' : v);
  return {
    ...c,
    binance: { ...c.binance, api_key: mask(c.binance.api_key), api_secret: mask(c.binance.api_secret) },
    redis: { ...c.redis, password: mask(c.redis.password) },
  };
}
