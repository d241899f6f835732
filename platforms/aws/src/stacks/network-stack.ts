import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { LabSettings } from '../config.js';

export interface NetworkStackProps extends StackProps {
  readonly settings: LabSettings;
}

/**
 * The VPC: two AZs; public subnets for the load balancer and NAT, private subnets for compute,
 * isolated subnets for data (no route out at all). S3 and DynamoDB are reached through gateway
 * endpoints: they are free and keep the payment and inventory traffic off the NAT's per-GB
 * charge. The other AWS APIs go through NAT, because an interface endpoint costs about
 * $7/month per AZ each and the lab needs a dozen of them: one NAT gateway is cheaper idle
 * (docs/cost.md).
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  /**
   * Isolated subnets in three AZs for Redshift Serverless, which refuses a workgroup with fewer:
   * the VPC's two data subnets plus one data-only subnet in a third AZ.
   */
  readonly analyticsSubnets: ec2.ISubnet[];

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      // In an environment-agnostic stack this becomes Fn::GetAZs at deploy time: no lookup.
      maxAzs: 2,
      natGateways: props.settings.sizing.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'compute', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        s3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        dynamodb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: {
        // Rejected flows only: what a partition fault or a wrong security group shows up as,
        // at a fraction of the cost of logging every flow.
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.TWO_WEEKS }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    const thirdAz = new ec2.Subnet(this, 'AnalyticsThirdAzSubnet', {
      vpcId: this.vpc.vpcId,
      availabilityZone: Fn.select(2, Fn.getAzs()),
      cidrBlock: '10.40.250.0/24',
      mapPublicIpOnLaunch: false,
    });
    this.analyticsSubnets = [...this.vpc.isolatedSubnets, thirdAz];
  }
}
