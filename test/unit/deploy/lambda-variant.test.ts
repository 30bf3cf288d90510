import { afterAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { LOG_ALERTS } from '../../../deploy/lib/alerts.js';
import { resourceCounts } from '../../../deploy/lib/app.js';
import { asArray, policyStatements, synth, wildcardGrants } from './synth-fixture.js';

/** The serverless variant: aggregator on the stream, REST mode on a schedule, two connection groups. */
const s = synth({
  symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
  kinesis: { capacity: 'provisioned', shard_count: 4 },
  ingest_sbe: { connection_groups: [['BTCUSDT', 'ETHUSDT'], ['SOLUSDT']] },
  ingest_rest: { run_as: 'schedule', poll_interval_minutes: 2 },
  aggregator: { run_as: 'lambda', lambda: { batch_size: 200, retry_attempts: 5, max_batching_window_seconds: 1 } },
  alarms: { email: 'ops@example.com', consumer_lag_seconds: 30 },
});
afterAll(() => s.dispose());

type Resource = { Properties: Record<string, unknown> };
const resources = (type: string): Array<[string, Resource]> => Object.entries(s.servicesT.findResources(type)) as Array<[string, Resource]>;

describe('deploy: Lambda aggregator, scheduled REST mode', () => {
  it('has the expected resources per type', () => {
    const services = resourceCounts(s.servicesT.toJSON() as { Resources: Record<string, { Type: string }> });
    expect(services).toMatchObject({
      'AWS::ECS::Service': 2, // the two ingestor groups only
      'AWS::ECS::TaskDefinition': 2,
      'AWS::Lambda::Function': 2,
      'AWS::Lambda::EventSourceMapping': 1,
      'AWS::Events::Rule': 1,
      'AWS::SQS::Queue': 1,
      'AWS::SNS::Subscription': 1,
      'AWS::CloudWatch::Alarm': LOG_ALERTS.length + 2, // + IteratorAge, + DLQ
    });
    s.dataT.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'PROVISIONED' }, ShardCount: 4 });
  });

  it('event source mapping: partial batch responses, bisect on error, bounded retries, failures to a queue', () => {
    const [queueId] = resources('AWS::SQS::Queue')[0];
    s.servicesT.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      StartingPosition: 'LATEST',
      BatchSize: 200,
      MaximumBatchingWindowInSeconds: 1,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    s.servicesT.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('functions run the existing handlers from the image built for the services', () => {
    const fns = resources('AWS::Lambda::Function').map(([, r]) => r.Properties);
    const commands = fns.map((p) => (p.ImageConfig as { Command: string[] }).Command).sort();
    expect(commands).toEqual([['dist/lambda/kinesis-handler.handler'], ['dist/lambda/scheduled-handler.handler']]);
    for (const p of fns) {
      expect(p.PackageType).toBe('Image');
      expect(p.VpcConfig).toBeDefined();
      const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.CONFIG_FILE).toBe('/var/task/config/aws.yaml');
      expect(env.BINANCE_SYMBOLS).toBe('BTCUSDT,ETHUSDT,SOLUSDT');
    }
    // Poll cycles never overlap: they share the venue's per-IP weight budget.
    const rest = fns.find((p) => JSON.stringify(p.ImageConfig).includes('scheduled-handler'));
    expect(rest?.ReservedConcurrentExecutions).toBe(1);
    // The handler's cold-start look-back follows the schedule's interval.
    expect((rest?.Environment as { Variables: Record<string, unknown> }).Variables.SCHEDULER_POLL_INTERVAL_SECONDS).toBe('120');
  });

  it('REST mode runs on an EventBridge rate schedule', () => {
    const [fnId] = resources('AWS::Lambda::Function').find(([, r]) => JSON.stringify(r.Properties.ImageConfig).includes('scheduled-handler'))!;
    s.servicesT.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(2 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    s.servicesT.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
  });

  it('one ingestor task per connection group, each with its own symbols', () => {
    const groups = resources('AWS::ECS::TaskDefinition').map(([, r]) => {
      const c = (r.Properties.ContainerDefinitions as Array<{ Environment: Array<{ Name: string; Value: unknown }> }>)[0];
      return c.Environment.find((e) => e.Name === 'BINANCE_SYMBOLS')?.Value;
    });
    expect(groups.sort()).toEqual(['BTCUSDT,ETHUSDT', 'SOLUSDT']);
    for (const [, r] of resources('AWS::ECS::Service')) expect(r.Properties.DesiredCount).toBe(1);
  });

  it('lag is the function IteratorAge; dead-lettered batches alarm', () => {
    s.servicesT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: 30_000,
    });
    s.servicesT.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
    });
    s.servicesT.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('grants no wildcard action on every resource; functions get only their stream, queue and lake prefix', () => {
    expect(wildcardGrants(s.servicesT)).toEqual([]);
    const fnPolicies = policyStatements(s.servicesT).filter(({ policy }) => policy.includes('Function'));
    const actions = new Set(fnPolicies.flatMap(({ statement }) => asArray(statement.Action)));
    expect(actions).toContain('kinesis:GetRecords');
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).toContain('s3:PutObject');
    expect([...actions].some((a) => a.startsWith('kinesis:Put') || a.startsWith('s3:Delete') || a.startsWith('secretsmanager:'))).toBe(false);
    // Beyond those: AWS's managed policies for logging and VPC network interfaces, nothing else.
    const fnRoles = resources('AWS::IAM::Role').filter(([id]) => id.includes('Function'));
    expect(fnRoles).toHaveLength(2);
    for (const [, r] of fnRoles) {
      const managed = JSON.stringify(r.Properties.ManagedPolicyArns);
      expect(managed).toContain('service-role/AWSLambdaBasicExecutionRole');
      expect(managed).toContain('service-role/AWSLambdaVPCAccessExecutionRole');
      expect((r.Properties.ManagedPolicyArns as unknown[]).length).toBe(2);
    }
  });
});
