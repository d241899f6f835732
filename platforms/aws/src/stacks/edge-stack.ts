import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import type { LabSettings } from '../config.js';
import { STACK_OUTPUTS } from '../names.js';
import { ALB_LOG_PREFIX, type DataStack } from './data-stack.js';
import type { NetworkStack } from './network-stack.js';

export interface EdgeStackProps extends StackProps {
  readonly settings: LabSettings;
  readonly network: NetworkStack;
  readonly data: DataStack;
}

/** Requests to POST /api/orders per IP per 5 minutes: a person orders a few coffees, a scalper bot thousands. */
export const ORDER_RATE_LIMIT = 300;

/**
 * The one public entry: an internet-facing ALB whose listener answers 404 for anything that is
 * not `/api/<segment>/…`. The compute stack adds one rule per service to {@link listener}
 * (the entry exists before the services, so no stack depends on a later one). A WAF web ACL in
 * front: AWS managed rules, a per-IP rate limit against bots, a tighter one on placing orders
 * against scalpers, and an allow-list for the lab's own load generators so a game day's k6
 * traffic is not mistaken for an attack.
 */
export class EdgeStack extends Stack {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const { vpc } = props.network;

    const albSecurityGroup = new ec2.SecurityGroup(this, 'AlbSecurityGroup', {
      vpc,
      description: 'CloudCafe public entry',
      allowAllOutbound: false,
    });
    const https = settings.certificateArn !== undefined;
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(https ? 443 : 80), 'public entry');
    if (https) albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'redirect to HTTPS');

    this.alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    // The bucket policy that lets ELB write is in the data stack (see ALB_LOG_PREFIX there).
    this.alb.setAttribute('access_logs.s3.enabled', 'true');
    this.alb.setAttribute('access_logs.s3.bucket', props.data.accessLogs.bucketName);
    this.alb.setAttribute('access_logs.s3.prefix', ALB_LOG_PREFIX);

    const notFound = elbv2.ListenerAction.fixedResponse(404, {
      contentType: 'application/json',
      messageBody: JSON.stringify({ error: { code: 'CAFE_ERR_NOT_FOUND', message: 'no such route' } }),
    });
    if (https) {
      this.listener = this.alb.addListener('Https', {
        port: 443,
        certificates: [elbv2.ListenerCertificate.fromArn(settings.certificateArn as string)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultAction: notFound,
        open: false,
      });
      this.alb.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
    } else {
      this.listener = this.alb.addListener('Http', { port: 80, defaultAction: notFound, open: false });
    }

    this.webAcl = this.createWebAcl(settings);
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.alb.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });

    new CfnOutput(this, STACK_OUTPUTS.publicUrl, {
      value: `${https ? 'https' : 'http'}://${this.alb.loadBalancerDnsName}`,
      description: 'The gateway: /api/<segment>/… for every service',
    });
  }

  private createWebAcl(settings: LabSettings): wafv2.CfnWebACL {
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const managed = (priority: number, name: string): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
      visibilityConfig: visibility(name),
    });
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    let notLoadGenerator: wafv2.CfnWebACL.StatementProperty | undefined;
    if (settings.loadGeneratorCidrs.length > 0) {
      const loadGenerators = new wafv2.CfnIPSet(this, 'LoadGenerators', {
        scope: 'REGIONAL',
        ipAddressVersion: 'IPV4',
        addresses: [...settings.loadGeneratorCidrs],
        description: 'k6 load generators of the lab, exempt from rate limits',
      });
      notLoadGenerator = {
        notStatement: { statement: { ipSetReferenceStatement: { arn: loadGenerators.attrArn } } },
      };
    }
    const scoped = (
      statement: wafv2.CfnWebACL.StatementProperty,
    ): wafv2.CfnWebACL.StatementProperty | undefined =>
      notLoadGenerator === undefined
        ? statement
        : { andStatement: { statements: [statement, notLoadGenerator] } };
    const placingOrders: wafv2.CfnWebACL.StatementProperty = {
      andStatement: {
        statements: [
          {
            byteMatchStatement: {
              fieldToMatch: { uriPath: {} },
              positionalConstraint: 'STARTS_WITH',
              searchString: '/api/orders',
              textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
            },
          },
          {
            byteMatchStatement: {
              fieldToMatch: { method: {} },
              positionalConstraint: 'EXACTLY',
              searchString: 'POST',
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
        ],
      },
    };
    rules.push({
      name: 'scalpers',
      priority: 0,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          limit: ORDER_RATE_LIMIT,
          aggregateKeyType: 'IP',
          scopeDownStatement: scoped(placingOrders),
        },
      },
      visibilityConfig: visibility('scalpers'),
    });
    const everything: wafv2.CfnWebACL.RuleProperty = {
      name: 'bots',
      priority: 1,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          limit: settings.sizing.wafRateLimit,
          aggregateKeyType: 'IP',
          ...(notLoadGenerator === undefined ? {} : { scopeDownStatement: notLoadGenerator }),
        },
      },
      visibilityConfig: visibility('bots'),
    };
    rules.push(everything);
    rules.push(managed(10, 'AWSManagedRulesAmazonIpReputationList'));
    rules.push(managed(11, 'AWSManagedRulesCommonRuleSet'));
    rules.push(managed(12, 'AWSManagedRulesKnownBadInputsRuleSet'));
    return new wafv2.CfnWebACL(this, 'WebAcl', {
      name: 'cloudcafe-edge',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('cloudcafe-edge'),
      rules,
    });
  }
}
