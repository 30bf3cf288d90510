import { afterAll, describe, expect, it } from 'vitest';
import { synth } from './synth-fixture.js';

/** Three streams, one per event type (the aggregator merges them by event time), pinned egress IPs. */
const s = synth({
  kinesis: { layout: 'per-type', stream_names: { trade: 't-stream', bestbidask: 'b-stream', depth: 'd-stream' } },
  network: { nat_gateways: 2, eip_allocation_ids: ['eipalloc-0a1b2c3d', 'eipalloc-0e4f5a6b'] },
  ingest_rest: { run_as: 'schedule' },
});
afterAll(() => s.dispose());

describe('deploy: one stream per event type', () => {
  it('creates the three named streams, and the ingestor may write each and the aggregator read each', () => {
    s.dataT.resourceCountIs('AWS::Kinesis::Stream', 3);
    const names = Object.values(s.dataT.findResources('AWS::Kinesis::Stream')).map((r) => (r as { Properties: { Name: string } }).Properties.Name);
    expect(names.sort()).toEqual(['b-stream', 'd-stream', 't-stream']);
    const policies = Object.entries(s.servicesT.findResources('AWS::IAM::Policy'));
    const streamsIn = (prefix: string): number =>
      policies
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, p]) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Resource: unknown }> } } }).Properties.PolicyDocument.Statement)
        .filter((st) => JSON.stringify(st.Resource).includes('Stream')).length;
    expect(streamsIn('Taskingestsbe1TaskRole')).toBe(3);
    expect(streamsIn('TaskaggregatorTaskRole')).toBe(3);
  });

  it('one consumer-lag alarm per stream', () => {
    s.servicesT.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'GetRecords.IteratorAgeMilliseconds' }, 3);
  });

  it('NAT gateways use the pinned Elastic IPs (no new ones)', () => {
    s.dataT.resourceCountIs('AWS::EC2::EIP', 0);
    s.dataT.resourceCountIs('AWS::EC2::NatGateway', 2);
    s.dataT.hasResourceProperties('AWS::EC2::NatGateway', { AllocationId: 'eipalloc-0a1b2c3d' });
    s.dataT.hasResourceProperties('AWS::EC2::NatGateway', { AllocationId: 'eipalloc-0e4f5a6b' });
  });
});
