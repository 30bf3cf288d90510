import { afterAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { resourceCounts } from '../../../deploy/lib/app.js';
import { LOG_ALERTS, filterPattern } from '../../../deploy/lib/alerts.js';
import { BRONZE_TABLES } from '../../../deploy/lib/lake-tables.js';
import { resolveConfig } from '../../../src/ops/config.js';
import { loadConfig } from '../../../src/ops/config.js';
import { rangeFileKey } from '../../../src/lake/keys.js';
import { asArray, policyStatements, synth, wildcardGrants } from './synth-fixture.js';

/** The default deployment (deploy/deploy.yaml's values): services for everything, one events stream. */
const s = synth({ symbols: ['BTCUSDT', 'ETHUSDT'] });
afterAll(() => s.dispose());

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const resources = (t: typeof s.dataT, type: string): Array<[string, Resource]> =>
  Object.entries(t.findResources(type)) as Array<[string, Resource]>;

interface ContainerDef {
  Command: string[];
  Environment: Array<{ Name: string; Value: unknown }>;
  Secrets?: Array<{ Name: string; ValueFrom: unknown }>;
  User?: string;
  ReadonlyRootFilesystem?: boolean;
  HealthCheck?: { Command: string[] };
  PortMappings: Array<{ ContainerPort: number }>;
}
const containers = (): ContainerDef[] =>
  resources(s.servicesT, 'AWS::ECS::TaskDefinition').map(([, r]) => (r.Properties.ContainerDefinitions as ContainerDef[])[0]);
const byCommand = (cmd: string): ContainerDef => {
  const c = containers().find((x) => x.Command.join(' ') === cmd);
  if (!c) throw new Error(`no container runs ${cmd}`);
  return c;
};

describe('deploy: default stacks', () => {
  it('has the expected resources per type', () => {
    const data = resourceCounts(s.dataT.toJSON() as { Resources: Record<string, { Type: string }> });
    const services = resourceCounts(s.servicesT.toJSON() as { Resources: Record<string, { Type: string }> });
    expect(data).toMatchObject({
      'AWS::Kinesis::Stream': 1,
      'AWS::ElastiCache::ReplicationGroup': 1,
      'AWS::ElastiCache::SubnetGroup': 1,
      'AWS::S3::Bucket': 1,
      'AWS::Glue::Database': 1,
      'AWS::Glue::Table': BRONZE_TABLES.length,
      'AWS::Athena::WorkGroup': 1,
      'AWS::SecretsManager::Secret': 1,
      'AWS::EC2::NatGateway': 1,
      'AWS::EC2::EIP': 1,
    });
    expect(services).toMatchObject({
      'AWS::ECS::Cluster': 1,
      'AWS::ECS::Service': 3, // one ingestor group, REST mode, aggregator
      'AWS::ECS::TaskDefinition': 3,
      'AWS::Logs::MetricFilter': LOG_ALERTS.length,
      'AWS::CloudWatch::Alarm': LOG_ALERTS.length + 1, // + consumer lag
      'AWS::SNS::Topic': 1,
    });
    expect(services['AWS::Lambda::Function']).toBeUndefined();
    expect(services['AWS::Lambda::EventSourceMapping']).toBeUndefined();
  });

  it('one on-demand events stream, encrypted, named by config', () => {
    s.dataT.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: 'market-sbe-events',
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      RetentionPeriodHours: 24,
    });
  });

  it('grants no wildcard action on every resource, and no service:* anywhere', () => {
    expect(wildcardGrants(s.dataT)).toEqual([]);
    expect(wildcardGrants(s.servicesT)).toEqual([]);
    // The only statements on "*" are actions that have no resource-level form.
    const onStar = policyStatements(s.servicesT)
      .filter(({ statement }) => asArray(statement.Resource ?? []).includes('*'))
      .flatMap(({ statement }) => asArray(statement.Action));
    expect([...new Set(onStar)]).toEqual(['ecr:GetAuthorizationToken']);
  });

  it('the wildcard check itself flags service:* and * actions, and wildcards on "*"', () => {
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Bad');
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::b/*'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['kinesis:Get*'], resources: ['*'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    const bad = wildcardGrants(Template.fromStack(stack));
    expect(bad).toHaveLength(2);
    expect(bad.join('\n')).toMatch(/s3:\*/);
    expect(bad.join('\n')).toMatch(/kinesis:Get\* on \*/);
  });

  it('scopes each service role to its own resources', () => {
    const taskPolicies = policyStatements(s.servicesT).filter(({ policy }) => policy.includes('TaskRole'));
    const actionsOf = (prefix: string): string[] =>
      taskPolicies.filter(({ policy }) => policy.startsWith(prefix)).flatMap(({ statement }) => asArray(statement.Action));
    expect(actionsOf('Taskingestsbe')).toEqual(expect.arrayContaining(['kinesis:PutRecords']));
    expect(actionsOf('Taskingestsbe').every((a) => a.startsWith('kinesis:'))).toBe(true);
    expect(actionsOf('Taskaggregator')).toEqual(expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator']));
    expect(actionsOf('Taskaggregator').some((a) => a.startsWith('kinesis:Put'))).toBe(false);
    const rest = actionsOf('Taskingestrest');
    expect(rest).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject*']));
    expect(rest.some((a) => a.startsWith('s3:Delete') || a.startsWith('kinesis:'))).toBe(false);
    // REST mode's object grants are limited to the bronze prefix.
    const restResources = JSON.stringify(taskPolicies.filter(({ policy }) => policy.startsWith('Taskingestrest')).map((p) => p.statement.Resource));
    expect(restResources).toContain('/bronze/*');
  });

  it('lake bucket: encrypted, no public access, TLS only, versioned, tiered', () => {
    s.dataT.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: 'bronze/',
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 365 },
            ],
          }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
    s.dataT.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    s.dataT.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('Glue tables describe the bronze layout the lake writes, with partition projection', () => {
    const tables = resources(s.dataT, 'AWS::Glue::Table');
    expect(tables.map(([, r]) => (r.Properties.TableInput as { Name: string }).Name).sort()).toEqual(
      BRONZE_TABLES.map((t) => `bronze_${t.dataset}`).sort(),
    );
    for (const [, r] of tables) {
      const input = r.Properties.TableInput as {
        Name: string;
        PartitionKeys: Array<{ Name: string }>;
        Parameters: Record<string, unknown>;
      };
      expect(input.PartitionKeys.map((k) => k.Name)).toEqual(['symbol', 'date', 'hour']);
      expect(input.Parameters['projection.symbol.values']).toBe('BTCUSDT,ETHUSDT');
      const hours = String(input.Parameters['projection.hour.values']).split(',');
      expect(hours).toHaveLength(24);
      // A key the lake writer produces must land in a projected partition: same layout, same formats.
      const dataset = input.Name.replace(/^bronze_/, '') as 'agg_trades' | 'klines_1m' | 'depth_snapshots';
      const ts = Date.UTC(2026, 10, 21, 7, 5, 1);
      const key = rangeFileKey('bronze', dataset, 'ETHUSDT', ts, 10, 20);
      const template = JSON.stringify(input.Parameters['storage.location.template']);
      expect(template).toContain(`/bronze/${dataset}/symbol=\${symbol}/date=\${date}/hour=\${hour}/`);
      const m = /symbol=([^/]+)\/date=([^/]+)\/hour=([^/]+)\//.exec(key);
      expect(m).not.toBeNull();
      expect(m![1]).toBe('ETHUSDT');
      expect(m![2]).toMatch(/^\d{4}-\d{2}-\d{2}$/); // projection.date.format yyyy-MM-dd
      expect(input.Parameters['projection.date.format']).toBe('yyyy-MM-dd');
      expect(hours).toContain(m![3]);
    }
    s.dataT.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ EnforceWorkGroupConfiguration: true }),
    });
  });

  it('Redis: cluster mode, encrypted, in the isolated subnets only, reachable from the client group only', () => {
    s.dataT.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      ClusterMode: 'enabled',
      CacheParameterGroupName: 'default.redis7.cluster.on',
      NumNodeGroups: 3,
      ReplicasPerNodeGroup: 1,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
    });
    const [, group] = resources(s.dataT, 'AWS::ElastiCache::SubnetGroup')[0];
    const refs = (group.Properties.SubnetIds as Array<{ Ref: string }>).map((x) => x.Ref);
    expect(refs.length).toBe(2);
    const subnets = s.dataT.findResources('AWS::EC2::Subnet') as Record<string, Resource>;
    for (const id of refs) {
      const props = subnets[id].Properties as { MapPublicIpOnLaunch: boolean; Tags: Array<{ Key: string; Value: string }> };
      expect(props.MapPublicIpOnLaunch).toBe(false);
      expect(props.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Isolated' });
    }
    // Port 6379 is open to one security group (the clients'), not to a CIDR.
    const ingress = resources(s.dataT, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({ FromPort: 6379, ToPort: 6379, IpProtocol: 'tcp' });
    expect(ingress[0].CidrIp).toBeUndefined();
    expect(ingress[0].SourceSecurityGroupId).toBeDefined();
  });

  it('ingestor egress goes through a NAT gateway with an Elastic IP that outlives the stack, and is output', () => {
    s.dataT.hasResource('AWS::EC2::EIP', { DeletionPolicy: 'Retain' });
    const [eipId] = resources(s.dataT, 'AWS::EC2::EIP')[0];
    s.dataT.hasResourceProperties('AWS::EC2::NatGateway', { AllocationId: { 'Fn::GetAtt': [eipId, 'AllocationId'] } });
    const outputs = s.dataT.findOutputs('*', { Value: { 'Fn::GetAtt': [eipId, 'PublicIp'] } });
    expect(Object.keys(outputs)).toHaveLength(1);
  });

  it('the API key secret reaches the SBE ingestor as BINANCE_API_KEY, and only it', () => {
    const [secretId] = resources(s.dataT, 'AWS::SecretsManager::Secret')[0];
    const sbe = byCommand('ingest --mode sbe');
    expect(sbe.Secrets?.map((x) => x.Name)).toEqual(['BINANCE_API_KEY']);
    expect(JSON.stringify(sbe.Secrets?.[0].ValueFrom)).toContain(secretId);
    expect(byCommand('ingest --mode rest').Secrets ?? []).toEqual([]);
    expect(byCommand('aggregate').Secrets ?? []).toEqual([]);
    const reads = policyStatements(s.servicesT).filter(({ statement }) => asArray(statement.Action).includes('secretsmanager:GetSecretValue'));
    expect(reads).toHaveLength(1);
    expect(reads[0].policy).toMatch(/^Taskingestsbe.*ExecutionRole/);
    expect(JSON.stringify(reads[0].statement.Resource)).toContain(secretId);
  });

  it('containers run as a non-root user on a read-only root filesystem with a health check', () => {
    const all = containers();
    expect(all).toHaveLength(3);
    for (const c of all) {
      expect(c.User).toBe('1000');
      expect(c.ReadonlyRootFilesystem).toBe(true);
      expect(c.HealthCheck?.Command).toEqual(['CMD', 'node', '/app/healthcheck.mjs']);
      const healthPort = Number(c.Environment.find((e) => e.Name === 'HEALTH_PORT')?.Value);
      expect(c.PortMappings.map((p) => p.ContainerPort)).toContain(healthPort);
    }
  });

  it("each container's environment resolves config/aws.yaml to the deployed resources", () => {
    const expectedPorts: Record<string, number> = { sbe: 8080, rest: 8081, aggregator: 8082 };
    for (const [cmd, mode] of [
      ['ingest --mode sbe', 'sbe'],
      ['ingest --mode rest', 'rest'],
      ['aggregate', 'aggregator'],
    ] as const) {
      const c = byCommand(cmd);
      // Values CloudFormation fills in at deploy time stand in as placeholders of the right shape.
      const env: Record<string, string> = { BINANCE_API_KEY: 'from-secret' };
      for (const e of c.Environment) {
        env[e.Name] = typeof e.Value === 'string' ? e.Value : e.Name === 'REDIS_PORT' ? '6379' : `deployed-${e.Name.toLowerCase()}`;
      }
      expect(env.CONFIG_FILE).toBe('/app/config/aws.yaml');
      const cfg = loadConfig('config/aws.yaml', { mode, env });
      expect(cfg.binance.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
      expect(cfg.aws.kinesis.streams).toEqual({ trade: 'market-sbe-events', bestbidask: 'market-sbe-events', depth: 'market-sbe-events' });
      expect(cfg.redis).toMatchObject({ host: 'deployed-redis_host', port: 6379, tls: true, cluster: true, cluster_nodes: ['deployed-redis_host:6379'] });
      expect(cfg.lake.backend).toBe('s3');
      expect(cfg.aws.s3).toMatchObject({ bucket: 'deployed-lake_bucket', bronze_prefix: 'bronze' });
      expect(cfg.aws.kinesis.create_streams).toBe(false);
      expect(cfg.health.port).toBe(expectedPorts[mode]);
      expect(Number(env.HEALTH_PORT)).toBe(expectedPorts[mode]);
    }
    // Nothing deployment-specific is left to a default that only fits a laptop.
    expect(() => resolveConfig({}, 'empty', { mode: 'sbe', env: {} })).toThrow(/api_key/);
  });

  it('an alarm per operator alert, counting the JSON log lines that carry it', () => {
    for (const a of LOG_ALERTS) {
      s.servicesT.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: filterPattern(a),
        MetricTransformations: [Match.objectLike({ MetricName: a.metric, MetricNamespace: 'Btcpipe/Alerts', MetricValue: '1' })],
        LogGroupName: { Ref: Match.stringLikeRegexp(`^Logs${a.source.replace(/-/g, '')}`) },
      });
      s.servicesT.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: a.metric,
        Namespace: 'Btcpipe/Alerts',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [Match.anyValue()],
      });
    }
    s.servicesT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Namespace: 'AWS/Kinesis',
      Statistic: 'Maximum',
      Threshold: 60_000,
      TreatMissingData: 'breaching',
    });
  });

  it('the SBE ingestor overlaps its tasks on deploy; the single-writer services never do', () => {
    const svc = resources(s.servicesT, 'AWS::ECS::Service').map(([id, r]) => [id, r.Properties.DeploymentConfiguration] as const);
    const cfg = Object.fromEntries(svc.map(([id, d]) => [id.replace(/[A-F0-9]{8}$/, ''), d]));
    expect(cfg['IngestSbe1Service']).toMatchObject({ MinimumHealthyPercent: 100, MaximumPercent: 200 });
    expect(cfg['IngestRestService']).toMatchObject({ MinimumHealthyPercent: 0, MaximumPercent: 100 });
    expect(cfg['AggregatorService']).toMatchObject({ MinimumHealthyPercent: 0, MaximumPercent: 100 });
    for (const [, d] of svc) expect(d).toMatchObject({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } });
    s.servicesT.resourcePropertiesCountIs('AWS::ECS::Service', { NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) } }, 3);
  });
});
