import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The deployment's settings (deploy/deploy.yaml): what to run where, sized by config rather than by
 * editing stacks. Validated strictly, like the services' own config, so a typo stops `npm run synth`
 * with the key's name instead of producing a template that deploys the wrong thing.
 */

export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

const symbol = z.string().regex(/^[A-Z0-9]{2,20}$/, 'a Binance symbol in upper case, e.g. BTCUSDT');
const streamName = z.string().regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'a Kinesis stream name (letters, digits, _ . -)');

const kinesisSchema = z
  .object({
    /**
     * `single`: one stream keyed by symbol carries every event type (a symbol's events stay in order
     * across types; a Lambda consumer sees a whole symbol). `per-type`: three streams, merged by event
     * time in the aggregator.
     */
    layout: z.enum(['single', 'per-type']).default('single'),
    stream_name: streamName.default('market-sbe-events'),
    stream_names: z
      .object({
        trade: streamName.default('market-sbe-trade'),
        bestbidask: streamName.default('market-sbe-bestbidask'),
        depth: streamName.default('market-sbe-depth'),
      })
      .strict()
      .default({}),
    capacity: z.enum(['on-demand', 'provisioned']).default('on-demand'),
    /** Provisioned only: shards per stream. */
    shard_count: z.number().int().min(1).max(500).default(2),
    retention_hours: z.number().int().min(24).max(8760).default(24),
  })
  .strict();

const ingestSbeSchema = z
  .object({
    /**
     * One Fargate task per group, each holding one WebSocket connection for its symbols. Empty: one
     * group with every symbol.
     */
    connection_groups: z.array(z.array(symbol).min(1)).default([]),
    cpu: z.number().int().default(512),
    memory_mib: z.number().int().default(1024),
  })
  .strict();

const ingestRestSchema = z
  .object({
    /** `service`: a long-running ECS task; `schedule`: a Lambda invoked by EventBridge every poll interval. */
    run_as: z.enum(['service', 'schedule']).default('service'),
    poll_interval_minutes: z.number().int().min(1).max(60).default(1),
    cpu: z.number().int().default(256),
    memory_mib: z.number().int().default(512),
    lambda_memory_mib: z.number().int().min(128).max(10240).default(1024),
    lambda_timeout_seconds: z.number().int().min(10).max(900).default(120),
  })
  .strict();

const aggregatorSchema = z
  .object({
    /** `service`: ECS task(s) polling the stream(s); `lambda`: an event source mapping on the stream. */
    run_as: z.enum(['service', 'lambda']).default('service'),
    desired_count: z.number().int().min(1).max(50).default(1),
    cpu: z.number().int().default(1024),
    memory_mib: z.number().int().default(2048),
    lambda: z
      .object({
        memory_mib: z.number().int().min(128).max(10240).default(1024),
        timeout_seconds: z.number().int().min(1).max(900).default(60),
        batch_size: z.number().int().min(1).max(10_000).default(500),
        max_batching_window_seconds: z.number().int().min(0).max(300).default(0),
        retry_attempts: z.number().int().min(0).max(10_000).default(10),
        max_record_age_seconds: z.number().int().min(60).max(604_800).default(3600),
        parallelization_factor: z.number().int().min(1).max(10).default(1),
      })
      .strict()
      .default({}),
  })
  .strict();

const redisSchema = z
  .object({
    engine_version: z.string().default('7.1'),
    node_type: z.string().default('cache.r7g.large'),
    /** Cluster mode: hash slots spread over this many shards (node groups). */
    shards: z.number().int().min(1).max(500).default(3),
    replicas_per_shard: z.number().int().min(0).max(5).default(1),
    snapshot_retention_days: z.number().int().min(0).max(35).default(1),
  })
  .strict();

const lakeSchema = z
  .object({
    /** Empty: CloudFormation names the bucket (bucket names are global). */
    bucket_name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).optional(),
    bronze_prefix: z.string().regex(/^[a-z0-9_-]+$/).default('bronze'),
    infrequent_access_after_days: z.number().int().min(30).default(30),
    glacier_after_days: z.number().int().min(90).default(365),
    /** Unset: bronze objects are kept forever. */
    expire_after_days: z.number().int().positive().optional(),
    glue_database: z.string().regex(/^[a-z0-9_]+$/).default('btcpipe_lake'),
  })
  .strict();

const networkSchema = z
  .object({
    max_azs: z.number().int().min(2).max(6).default(2),
    /** NAT gateways, each with an Elastic IP: Binance counts connections and REST weight per IP. */
    nat_gateways: z.number().int().min(1).max(6).default(1),
    /** Pre-allocated Elastic IPs (one per NAT gateway) to keep an allowlisted address across re-creation. */
    eip_allocation_ids: z.array(z.string().regex(/^eipalloc-[0-9a-f]+$/)).default([]),
  })
  .strict();

const alarmsSchema = z
  .object({
    /** Subscribed to the alarm topic when set. */
    email: z.string().email().optional(),
    consumer_lag_seconds: z.number().positive().default(60),
    evaluation_minutes: z.number().int().min(1).max(60).default(1),
  })
  .strict();

const secretsSchema = z
  .object({
    /** Use an existing secret (its name) instead of creating one; its value is the plain API key. */
    existing_api_key_secret_name: z.string().min(1).optional(),
    api_key_secret_name: z.string().min(1).default('btcpipe/binance-api-key'),
  })
  .strict();

/** CloudWatch Logs accepts these retention periods only. */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const deploySchema = z
  .object({
    /** Stacks are `${prefix}Data` (stateful) and `${prefix}Services`. */
    stack_prefix: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/).default('Btcpipe'),
    /** Unset: environment-agnostic stacks (synth needs no AWS account). */
    account: z.string().regex(/^\d{12}$/).optional(),
    region: z.string().min(1).optional(),
    symbols: z.array(symbol).min(1).default(['BTCUSDT']),
    binance: z
      .object({
        sbe_ws_url: z.string().url().default('wss://stream-sbe.binance.com:9443'),
        rest_base_url: z.string().url().default('https://data-api.binance.vision'),
      })
      .strict()
      .default({}),
    log_retention_days: z
      .number()
      .int()
      .refine((n) => LOG_RETENTION_DAYS.includes(n), { message: 'one of CloudWatch Logs retention periods' })
      .default(30),
    kinesis: kinesisSchema.default({}),
    ingest_sbe: ingestSbeSchema.default({}),
    ingest_rest: ingestRestSchema.default({}),
    aggregator: aggregatorSchema.default({}),
    redis: redisSchema.default({}),
    lake: lakeSchema.default({}),
    network: networkSchema.default({}),
    alarms: alarmsSchema.default({}),
    secrets: secretsSchema.default({}),
  })
  .strict();

export type DeployConfig = z.infer<typeof deploySchema>;

export type StreamKey = 'trade' | 'bestbidask' | 'depth';
export const STREAM_KEYS: readonly StreamKey[] = ['trade', 'bestbidask', 'depth'];

/** Stream name per event type; the `single` layout names one stream three times. */
export function streamNames(c: DeployConfig): Record<StreamKey, string> {
  if (c.kinesis.layout === 'single') {
    const n = c.kinesis.stream_name;
    return { trade: n, bestbidask: n, depth: n };
  }
  return { ...c.kinesis.stream_names };
}

/** The symbols of each ingestor task. */
export function connectionGroups(c: DeployConfig): string[][] {
  return c.ingest_sbe.connection_groups.length > 0 ? c.ingest_sbe.connection_groups : [c.symbols];
}

/** Fargate's valid cpu/memory pairs (MiB). */
function fargateSizeError(cpu: number, mem: number): string | undefined {
  const ranges: Record<number, number[]> = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
    4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
  };
  const ok = ranges[cpu];
  if (!ok) return `cpu ${cpu} is not a Fargate size (one of ${Object.keys(ranges).join(', ')})`;
  if (!ok.includes(mem)) return `memory ${mem} MiB does not go with cpu ${cpu} (one of ${ok.join(', ')})`;
  return undefined;
}

/** Rules across keys that the schema alone cannot express. */
function crossCheck(c: DeployConfig): string[] {
  const errors: string[] = [];
  const known = new Set(c.symbols);
  const seen = new Map<string, number>();
  c.ingest_sbe.connection_groups.forEach((g, i) => {
    for (const s of g) {
      if (!known.has(s)) errors.push(`ingest_sbe.connection_groups[${i}]: ${s} is not in symbols`);
      const prev = seen.get(s);
      // Two connections for one symbol would double every event on the stream.
      if (prev !== undefined) errors.push(`ingest_sbe.connection_groups[${i}]: ${s} is already in group ${prev}`);
      seen.set(s, i);
    }
  });
  if (c.ingest_sbe.connection_groups.length > 0) {
    for (const s of c.symbols) if (!seen.has(s)) errors.push(`ingest_sbe.connection_groups: ${s} is in no group (nothing would ingest it)`);
  }
  if (c.aggregator.run_as === 'lambda' && c.kinesis.layout !== 'single') {
    errors.push(
      'aggregator.run_as: lambda needs kinesis.layout single (with one stream per event type, each event source mapping would hold a partial view of a symbol)',
    );
  }
  if (c.kinesis.layout === 'per-type') {
    const names = Object.values(c.kinesis.stream_names);
    if (new Set(names).size !== names.length) errors.push('kinesis.stream_names: per-type layout needs three different names');
  }
  if (c.network.eip_allocation_ids.length > 0 && c.network.eip_allocation_ids.length !== c.network.nat_gateways) {
    errors.push(`network.eip_allocation_ids: ${c.network.eip_allocation_ids.length} given for ${c.network.nat_gateways} NAT gateway(s); give one per gateway`);
  }
  if (c.network.nat_gateways > c.network.max_azs) errors.push('network.nat_gateways: at most one per AZ (max_azs)');
  if (c.lake.glacier_after_days <= c.lake.infrequent_access_after_days) {
    errors.push('lake.glacier_after_days: must come after infrequent_access_after_days');
  }
  if (c.lake.expire_after_days !== undefined && c.lake.expire_after_days <= c.lake.glacier_after_days) {
    errors.push('lake.expire_after_days: must come after glacier_after_days');
  }
  const sizes: Array<[string, number, number]> = [
    ['ingest_sbe', c.ingest_sbe.cpu, c.ingest_sbe.memory_mib],
    ['ingest_rest', c.ingest_rest.cpu, c.ingest_rest.memory_mib],
    ['aggregator', c.aggregator.cpu, c.aggregator.memory_mib],
  ];
  for (const [key, cpu, mem] of sizes) {
    const e = fargateSizeError(cpu, mem);
    if (e) errors.push(`${key}: ${e}`);
  }
  return errors;
}

/** Validate an already-parsed YAML document (undefined/null: every default). */
export function resolveDeployConfig(doc: unknown, source: string): DeployConfig {
  const parsed = deploySchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
      const msg = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
      return `  ${key || '(root)'}: ${msg}`;
    });
    throw new DeployConfigError(`invalid deploy config ${source}:\n${lines.join('\n')}`);
  }
  const errors = crossCheck(parsed.data);
  if (errors.length > 0) throw new DeployConfigError(`invalid deploy config ${source}:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return parsed.data;
}

export function loadDeployConfig(file: string): DeployConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DeployConfigError(`cannot read deploy config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new DeployConfigError(`deploy config ${file} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return resolveDeployConfig(doc, file);
}
