import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { streamNames, type DeployConfig } from './config.js';
import { Lake } from './constructs/lake.js';
import { Network } from './constructs/network.js';
import { RedisCluster } from './constructs/redis.js';
import { EventStreams } from './constructs/streams.js';

export interface DataStackProps extends StackProps {
  config: DeployConfig;
}

/**
 * Everything with state or identity: network (and the egress IPs Binance sees), the event stream(s),
 * Redis, the lake and the API key. Deployed rarely; the services stack can be replaced freely.
 */
export class DataStack extends Stack {
  readonly network: Network;
  readonly streams: EventStreams;
  readonly redis: RedisCluster;
  readonly lake: Lake;
  readonly apiKey: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const c = props.config;
    this.network = new Network(this, 'Network', {
      maxAzs: c.network.max_azs,
      natGateways: c.network.nat_gateways,
      eipAllocationIds: c.network.eip_allocation_ids,
    });
    this.streams = new EventStreams(this, 'Streams', {
      names: streamNames(c),
      capacity: c.kinesis.capacity,
      shardCount: c.kinesis.shard_count,
      retentionHours: c.kinesis.retention_hours,
    });
    this.redis = new RedisCluster(this, 'Redis', {
      vpc: this.network.vpc,
      engineVersion: c.redis.engine_version,
      nodeType: c.redis.node_type,
      shards: c.redis.shards,
      replicasPerShard: c.redis.replicas_per_shard,
      snapshotRetentionDays: c.redis.snapshot_retention_days,
    });
    this.lake = new Lake(this, 'Lake', {
      bucketName: c.lake.bucket_name,
      bronzePrefix: c.lake.bronze_prefix,
      symbols: c.symbols,
      infrequentAccessAfterDays: c.lake.infrequent_access_after_days,
      glacierAfterDays: c.lake.glacier_after_days,
      expireAfterDays: c.lake.expire_after_days,
      databaseName: c.lake.glue_database,
    });
    if (c.secrets.existing_api_key_secret_name) {
      this.apiKey = secretsmanager.Secret.fromSecretNameV2(this, 'BinanceApiKey', c.secrets.existing_api_key_secret_name);
    } else {
      // Created with a random placeholder: put the real key in before the ingestor can connect
      // (`aws secretsmanager put-secret-value --secret-id <name> --secret-string <key>`).
      this.apiKey = new secretsmanager.Secret(this, 'BinanceApiKey', {
        secretName: c.secrets.api_key_secret_name,
        description: 'Binance Ed25519 API key for the SBE stream (plain string; sent as X-MBX-APIKEY)',
        generateSecretString: { passwordLength: 32, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    new CfnOutput(this, 'ApiKeySecret', { value: this.apiKey.secretArn, description: 'Secret holding the Binance API key' });
  }
}
