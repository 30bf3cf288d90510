import { CfnOutput, Fn, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface NetworkProps {
  maxAzs: number;
  natGateways: number;
  /** Pre-allocated Elastic IPs, one per NAT gateway; empty: allocate (and retain) new ones. */
  eipAllocationIds: readonly string[];
}

/**
 * VPC with three tiers: public (NAT gateways only), private with egress (tasks and functions, which reach
 * Binance through NAT) and isolated (Redis, no route out). Every outbound connection to Binance leaves from
 * the NAT gateways' Elastic IPs: Binance's connection and REST weight limits count per IP, so these
 * addresses are what the limits apply to and what an allowlist names.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Public IPs of the NAT gateways (tokens; empty when pre-allocated EIPs are used). */
  readonly egressIps: string[] = [];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    let allocationIds = [...props.eipAllocationIds];
    if (allocationIds.length === 0) {
      allocationIds = Array.from({ length: props.natGateways }, (_, i) => {
        const eip = new ec2.CfnEIP(this, `NatEip${i + 1}`, { domain: 'vpc' });
        Tags.of(eip).add('Name', `btcpipe-egress-${i + 1}`);
        // The address outlives the stack so an allowlist entry at the venue stays valid after a rebuild.
        eip.applyRemovalPolicy(RemovalPolicy.RETAIN);
        this.egressIps.push(eip.attrPublicIp);
        new CfnOutput(this, `EgressIp${i + 1}`, {
          value: eip.attrPublicIp,
          description: `Outbound IP ${i + 1} of the ingestors (Binance per-IP limits apply to it)`,
        });
        return eip.attrAllocationId;
      });
    } else {
      new CfnOutput(this, 'EgressEipAllocations', {
        value: Fn.join(',', allocationIds),
        description: 'Elastic IP allocations of the NAT gateways (Binance per-IP limits apply to their addresses)',
      });
    }
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs,
      natGateways: props.natGateways,
      natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: allocationIds }),
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Lake traffic stays on the gateway endpoint: no NAT data charges, no shared IP budget.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
  }
}
