import { CfnOutput, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';

export interface RedisClusterProps {
  vpc: ec2.IVpc;
  engineVersion: string;
  nodeType: string;
  shards: number;
  replicasPerShard: number;
  snapshotRetentionDays: number;
}

/**
 * ElastiCache for Redis in cluster mode, in the isolated subnets (no route in or out of the VPC), TLS in
 * transit and encryption at rest. Access is by network: only members of `clientSecurityGroup` reach
 * port 6379, and the services attach that group.
 */
export class RedisCluster extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly clientSecurityGroup: ec2.SecurityGroup;
  readonly subnetGroup: elasticache.CfnSubnetGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** Cluster configuration endpoint (tokens). */
  readonly host: string;
  readonly port: string;

  constructor(scope: Construct, id: string, props: RedisClusterProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'Sg', {
      vpc: props.vpc,
      description: 'btcpipe Redis: port 6379 from btcpipe clients only',
      allowAllOutbound: false,
    });
    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'ClientSg', {
      vpc: props.vpc,
      description: 'btcpipe Redis clients (attach to reach Redis)',
      allowAllOutbound: false,
    });
    this.securityGroup.addIngressRule(this.clientSecurityGroup, ec2.Port.tcp(6379), 'Redis from btcpipe clients');
    this.clientSecurityGroup.addEgressRule(this.securityGroup, ec2.Port.tcp(6379), 'to Redis');

    this.subnetGroup = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'btcpipe Redis: isolated subnets',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const major = Number(props.engineVersion.split('.')[0]);
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Cluster', {
      replicationGroupDescription: 'btcpipe hot state: order books, trade windows, features',
      engine: 'redis',
      engineVersion: props.engineVersion,
      cacheNodeType: props.nodeType,
      clusterMode: 'enabled',
      cacheParameterGroupName: `default.redis${major}.cluster.on`,
      numNodeGroups: props.shards,
      replicasPerNodeGroup: props.replicasPerShard,
      automaticFailoverEnabled: true,
      multiAzEnabled: props.replicasPerShard > 0,
      cacheSubnetGroupName: this.subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port: 6379,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      snapshotRetentionLimit: props.snapshotRetentionDays,
      autoMinorVersionUpgrade: true,
    });
    this.replicationGroup.addResourceDependency(this.subnetGroup);
    this.host = this.replicationGroup.attrConfigurationEndPointAddress;
    this.port = Token.asString(this.replicationGroup.attrConfigurationEndPointPort);
    new CfnOutput(this, 'Endpoint', { value: `${this.host}:${this.port}`, description: 'Redis cluster configuration endpoint (TLS)' });
  }
}
