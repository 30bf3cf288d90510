import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { connectionGroups, streamNames, type DeployConfig } from './config.js';
import { AlertAlarms } from './constructs/alarms.js';
import type { DataStack } from './data-stack.js';

export interface ServicesStackProps extends StackProps {
  config: DeployConfig;
  data: DataStack;
  /** The btcpipe checkout: the image's build context (Dockerfile at its root). */
  repoRoot: string;
}

/** Ports the services listen on (health, Prometheus), as in the services' own mode defaults. */
export const SERVICE_PORTS = {
  'ingest-sbe': { health: 8080, metrics: 9090 },
  'ingest-rest': { health: 8081, metrics: 9092 },
  aggregator: { health: 8082, metrics: 9091 },
} as const;

/** The services' config file inside the image; everything site-specific comes from the environment. */
const ECS_CONFIG_FILE = '/app/config/aws.yaml';
const LAMBDA_CONFIG_FILE = '/var/task/config/aws.yaml';
/** The image's unprivileged user (the `node` user of the official Node images). */
const RUN_AS_USER = '1000';

/**
 * The stateless part: the container image (built from the repository's Dockerfile at deploy time), the
 * SBE ingestor as one Fargate service per connection group, REST mode as a service or an EventBridge-
 * scheduled Lambda, the aggregator as a service or a Lambda on the stream, and the alarms.
 */
export class ServicesStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly logGroups: Partial<Record<'ingest-sbe' | 'ingest-rest' | 'aggregator', logs.LogGroup>> = {};
  readonly ingestors: ecs.FargateService[] = [];
  restService?: ecs.FargateService;
  restFunction?: lambda.DockerImageFunction;
  aggregatorService?: ecs.FargateService;
  aggregatorFunction?: lambda.DockerImageFunction;
  aggregatorDlq?: sqs.Queue;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const c = props.config;
    const d = props.data;
    const vpc = d.network.vpc;
    const appSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    const names = streamNames(c);

    // One image for every service; the Lambda functions use the same Dockerfile's `lambda` stage.
    const image = new DockerImageAsset(this, 'Image', {
      directory: props.repoRoot,
      target: 'runtime',
      platform: Platform.LINUX_AMD64,
    });
    const lambdaCode = (handler: string): lambda.DockerImageCode =>
      lambda.DockerImageCode.fromImageAsset(props.repoRoot, { target: 'lambda', platform: Platform.LINUX_AMD64, cmd: [handler] });

    // Outbound to Binance (443/9443 through NAT), Kinesis, S3, Secrets Manager; nothing listens publicly.
    const appSg = new ec2.SecurityGroup(this, 'AppSg', { vpc, description: 'btcpipe services and functions', allowAllOutbound: true });

    // Lambda sets AWS_REGION itself (and refuses it); ECS tasks get it in taskDefinition().
    const commonEnv: Record<string, string> = {
      BINANCE_SYMBOLS: c.symbols.join(','),
      BINANCE_SBE_WS_URL: c.binance.sbe_ws_url,
      BINANCE_REST_BASE_URL: c.binance.rest_base_url,
      KINESIS_STREAM_TRADE: names.trade,
      KINESIS_STREAM_BESTBIDASK: names.bestbidask,
      KINESIS_STREAM_DEPTH: names.depth,
      REDIS_HOST: d.redis.host,
      REDIS_PORT: d.redis.port,
      REDIS_TLS: 'true',
      REDIS_CLUSTER: 'true',
      LAKE_BUCKET: d.lake.bucket.bucketName,
      LAKE_BRONZE_PREFIX: c.lake.bronze_prefix,
    };
    const logGroup = (name: 'ingest-sbe' | 'ingest-rest' | 'aggregator'): logs.LogGroup => {
      const g = new logs.LogGroup(this, `Logs-${name}`, {
        retention: c.log_retention_days as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.logGroups[name] = g;
      return g;
    };

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    const taskDefinition = (
      name: keyof typeof SERVICE_PORTS,
      size: { cpu: number; memory: number },
      command: string[],
      env: Record<string, string>,
      secrets: Record<string, ecs.Secret>,
      group: logs.LogGroup,
    ): ecs.FargateTaskDefinition => {
      const td = new ecs.FargateTaskDefinition(this, `Task-${name}${env.BTCPIPE_GROUP ? `-${env.BTCPIPE_GROUP}` : ''}`, {
        cpu: size.cpu,
        memoryLimitMiB: size.memory,
        runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      });
      // The root filesystem is read-only; Node and the AWS SDK may still want a scratch /tmp.
      td.addVolume({ name: 'tmp' });
      const ports = SERVICE_PORTS[name];
      const container = td.addContainer('app', {
        image: ecs.ContainerImage.fromDockerImageAsset(image),
        command,
        user: RUN_AS_USER,
        readonlyRootFilesystem: true,
        environment: { AWS_REGION: Aws.REGION, ...commonEnv, ...env, CONFIG_FILE: ECS_CONFIG_FILE, HEALTH_PORT: String(ports.health) },
        secrets,
        logging: ecs.LogDrivers.awsLogs({ logGroup: group, streamPrefix: name }),
        portMappings: [
          { containerPort: ports.health, name: 'health' },
          { containerPort: ports.metrics, name: 'metrics' },
        ],
        healthCheck: {
          command: ['CMD', 'node', '/app/healthcheck.mjs'],
          interval: Duration.seconds(15),
          timeout: Duration.seconds(5),
          retries: 3,
          startPeriod: Duration.seconds(60),
        },
        stopTimeout: Duration.seconds(30),
      });
      container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
      return td;
    };

    const service = (
      id: string,
      td: ecs.FargateTaskDefinition,
      desiredCount: number,
      overlap: boolean,
    ): ecs.FargateService =>
      new ecs.FargateService(this, id, {
        cluster: this.cluster,
        taskDefinition: td,
        desiredCount,
        vpcSubnets: appSubnets,
        securityGroups: [appSg, d.redis.clientSecurityGroup],
        assignPublicIp: false,
        circuitBreaker: { rollback: true },
        // overlap: start the new task before stopping the old one (no gap; duplicates are dropped
        // downstream). Otherwise one instance at a time: stop, then start.
        minHealthyPercent: overlap ? 100 : 0,
        maxHealthyPercent: overlap ? 200 : 100,
        propagateTags: ecs.PropagatedTagSource.SERVICE,
      });

    // --- SBE ingestor: one service with one task per connection group.
    const sbeLogs = logGroup('ingest-sbe');
    connectionGroups(c).forEach((symbols, i) => {
      const n = String(i + 1);
      const td = taskDefinition(
        'ingest-sbe',
        { cpu: c.ingest_sbe.cpu, memory: c.ingest_sbe.memory_mib },
        ['ingest', '--mode', 'sbe'],
        { BINANCE_SYMBOLS: symbols.join(','), BTCPIPE_GROUP: n },
        { BINANCE_API_KEY: ecs.Secret.fromSecretsManager(d.apiKey) },
        sbeLogs,
      );
      for (const s of d.streams.all) s.grantWrite(td.taskRole);
      this.ingestors.push(service(`IngestSbe-${n}`, td, 1, true));
    });

    // --- REST mode: gap detection, re-anchors, the lake.
    const restLogs = logGroup('ingest-rest');
    const bronzeObjects = `${c.lake.bronze_prefix}/*`;
    // The lake store gets, lists and puts; it never deletes (a rewrite replaces the object).
    const grantLake = (grantee: iam.IGrantable): void => {
      d.lake.bucket.grantRead(grantee, bronzeObjects);
      d.lake.bucket.grantPut(grantee, bronzeObjects);
    };
    if (c.ingest_rest.run_as === 'service') {
      const td = taskDefinition(
        'ingest-rest',
        { cpu: c.ingest_rest.cpu, memory: c.ingest_rest.memory_mib },
        ['ingest', '--mode', 'rest'],
        { SCHEDULER_POLL_INTERVAL_SECONDS: String(c.ingest_rest.poll_interval_minutes * 60) },
        {},
        restLogs,
      );
      grantLake(td.taskRole);
      this.restService = service('IngestRest', td, 1, false);
    } else {
      const fn = new lambda.DockerImageFunction(this, 'IngestRestFunction', {
        description: 'btcpipe REST mode: one poll cycle per EventBridge tick',
        code: lambdaCode('dist/lambda/scheduled-handler.handler'),
        architecture: lambda.Architecture.X86_64,
        memorySize: c.ingest_rest.lambda_memory_mib,
        timeout: Duration.seconds(c.ingest_rest.lambda_timeout_seconds),
        // Cycles must not overlap: they share the venue's per-IP request weight and the re-anchor flags.
        reservedConcurrentExecutions: 1,
        vpc,
        vpcSubnets: appSubnets,
        securityGroups: [appSg, d.redis.clientSecurityGroup],
        // The handler reads re-anchor requests of the last two intervals on a cold start.
        environment: {
          ...commonEnv,
          CONFIG_FILE: LAMBDA_CONFIG_FILE,
          SCHEDULER_POLL_INTERVAL_SECONDS: String(c.ingest_rest.poll_interval_minutes * 60),
        },
        logGroup: restLogs,
      });
      grantLake(fn);
      new events.Rule(this, 'IngestRestSchedule', {
        description: 'btcpipe REST mode poll cycle',
        schedule: events.Schedule.rate(Duration.minutes(c.ingest_rest.poll_interval_minutes)),
        // A missed tick is not retried: the next cycle covers the same ground.
        targets: [new targets.LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(c.ingest_rest.poll_interval_minutes) })],
      });
      this.restFunction = fn;
    }

    // --- Aggregator: stream(s) → exact books, windows, features in Redis.
    const aggLogs = logGroup('aggregator');
    if (c.aggregator.run_as === 'service') {
      const td = taskDefinition(
        'aggregator',
        { cpu: c.aggregator.cpu, memory: c.aggregator.memory_mib },
        ['aggregate'],
        {},
        {},
        aggLogs,
      );
      for (const s of d.streams.all) s.grantRead(td.taskRole);
      this.aggregatorService = service('Aggregator', td, c.aggregator.desired_count, false);
    } else {
      const l = c.aggregator.lambda;
      const fn = new lambda.DockerImageFunction(this, 'AggregatorFunction', {
        description: 'btcpipe aggregator on the event stream (Kinesis event source mapping)',
        code: lambdaCode('dist/lambda/kinesis-handler.handler'),
        architecture: lambda.Architecture.X86_64,
        memorySize: l.memory_mib,
        timeout: Duration.seconds(l.timeout_seconds),
        vpc,
        vpcSubnets: appSubnets,
        securityGroups: [appSg, d.redis.clientSecurityGroup],
        environment: { ...commonEnv, CONFIG_FILE: LAMBDA_CONFIG_FILE },
        logGroup: aggLogs,
      });
      // Where Lambda puts a batch's description (shard, sequence range) once retries or age run out.
      this.aggregatorDlq = new sqs.Queue(this, 'AggregatorDlq', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      for (const s of d.streams.all) {
        fn.addEventSource(
          new KinesisEventSource(s, {
            startingPosition: lambda.StartingPosition.LATEST,
            batchSize: l.batch_size,
            maxBatchingWindow: Duration.seconds(l.max_batching_window_seconds),
            // Partial batch responses: only the failed record onwards is retried, not the whole batch.
            reportBatchItemFailures: true,
            // A batch that keeps failing is split in halves until the bad record is alone.
            bisectBatchOnError: true,
            retryAttempts: l.retry_attempts,
            maxRecordAge: Duration.seconds(l.max_record_age_seconds),
            // Records of one shard in order: the book's diffs must apply in sequence.
            parallelizationFactor: l.parallelization_factor,
            onFailure: new SqsDlq(this.aggregatorDlq),
          }),
        );
      }
      this.aggregatorFunction = fn;
    }

    new AlertAlarms(this, 'Alarms', {
      config: c,
      logGroups: { 'ingest-sbe': sbeLogs, 'ingest-rest': restLogs, aggregator: aggLogs },
      streams: d.streams.all,
      aggregatorFunction: this.aggregatorFunction,
      aggregatorDlq: this.aggregatorDlq,
    });

    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName, description: 'ECS cluster of the btcpipe services' });
  }
}
