import type { Stack } from 'aws-cdk-lib';
// cdk-nag is CommonJS built by jsii; Node cannot see its named exports from ESM.
import cdkNag from 'cdk-nag';
import { STACK_NAMES } from './names.js';

const { NagSuppressions } = cdkNag;

type AppliesTo = string | { regex: string };

/** One accepted cdk-nag finding: the rule, why it does not apply to the lab, and to what. */
export interface Suppression {
  readonly id: string;
  readonly reason: string;
  /** Only these findings of the rule (IAM4/IAM5 name the policy or wildcard); all if absent. */
  readonly appliesTo?: readonly AppliesTo[];
}

const SECRET_ROTATION: Suppression = {
  id: 'AwsSolutions-SMG4',
  reason:
    'A lab is rebuilt from scratch far more often than any rotation period; rotating the database ' +
    'passwords would need rotation Lambdas inside the VPC, and the admin token is read once at start-up.',
};

const GENERATED_GRANT_WILDCARDS: Suppression = {
  id: 'AwsSolutions-IAM5',
  reason:
    'Wildcards written by CDK grants, each bounded: KMS data-key actions (GenerateDataKey*, ReEncrypt*) on ' +
    'one key; S3 object keys under one bucket or prefix; Lambda versions of one function; ' +
    'cloudwatch:PutMetricData (no resource type; scoped by the cloudwatch:namespace condition to CloudCafe); ' +
    'ecr:GetAuthorizationToken and X-Ray writes, which AWS defines without resources.',
  appliesTo: [
    'Action::kms:GenerateDataKey*',
    'Action::kms:ReEncrypt*',
    'Action::s3:Abort*',
    'Action::s3:GetObject*',
    'Action::s3:GetBucket*',
    'Action::s3:List*',
    'Action::s3:DeleteObject*',
    'Resource::*',
    { regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>(/.*)?/\\*$/' },
    { regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>:\\*$/' },
  ],
};

const AWS_MANAGED_SERVICE_POLICIES: Suppression = {
  id: 'AwsSolutions-IAM4',
  reason:
    'AWS managed policies that AWS documents as the required baseline for the role: Lambda basic/VPC ' +
    'execution, EKS cluster and worker-node policies, the VPC CNI policy, ECR read-only for nodes, and ' +
    'AmazonSSMManagedInstanceCore for the SSM agent that FIS AWSFIS-Run-* documents need.',
  appliesTo: [
    {
      regex:
        '/^Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambda(BasicExecutionRole|VPCAccessExecutionRole)$/',
    },
    {
      regex:
        '/^Policy::arn:<AWS::Partition>:iam::aws:policy/(AmazonEKSClusterPolicy|AmazonEKSWorkerNodePolicy|AmazonEKS_CNI_Policy|AmazonEC2ContainerRegistryReadOnly|AmazonSSMManagedInstanceCore)$/',
    },
    // The kubectl handler's ECR-public policy is attached conditionally by CDK.
    { regex: '/^Policy::\\{"Fn::If".*AmazonElasticContainerRegistryPublicReadOnly.*$/' },
  ],
};

/**
 * Findings accepted per stack. Each reason says why, so a reader can judge whether it still holds.
 * Stack-level, because the findings sit on constructs CDK generates (custom-resource providers,
 * the ALB controller's role) whose paths are not ours to name.
 */
export const STACK_SUPPRESSIONS: Readonly<Record<string, readonly Suppression[]>> = {
  [STACK_NAMES.secrets]: [SECRET_ROTATION],
  [STACK_NAMES.data]: [
    {
      id: 'AwsSolutions-AEC5',
      reason:
        'Default Redis port: the cache is reachable only from the pods security group; a non-default port hides nothing from a port scan inside the VPC.',
    },
    {
      id: 'AwsSolutions-DOC2',
      reason:
        'Default DocumentDB port, for the same reason as the cache: security groups, not port obscurity, restrict access.',
    },
    {
      id: 'AwsSolutions-DOC4',
      reason:
        'The master password lives in Secrets Manager (secrets stack); rotation is not used in a lab that is rebuilt often (see SMG4).',
    },
    {
      id: 'AwsSolutions-DOC5',
      reason:
        'Audit and profiler logs are exported; authenticate/createIndex/dropCollection are DocumentDB audit event types, captured by the audit log already enabled.',
      appliesTo: [{ regex: '/^LogExport::.*$/' }],
    },
    {
      id: 'AwsSolutions-RDS10',
      reason:
        'Deletion protection off: the lab is destroyed between game days (cdk destroy); a final snapshot is kept instead (RemovalPolicy.SNAPSHOT).',
    },
  ],
  [STACK_NAMES.edge]: [
    {
      id: 'AwsSolutions-EC23',
      reason:
        'The public entry of the lab: the ALB accepts the world on its listener port, behind the WAF web ACL.',
    },
  ],
  [STACK_NAMES.compute]: [
    SECRET_ROTATION,
    GENERATED_GRANT_WILDCARDS,
    AWS_MANAGED_SERVICE_POLICIES,
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'The AWS Load Balancer Controller policy shipped with CDK (upstream controller policy): it must manage ' +
        'target groups, listeners and security groups it creates at run time, whose ARNs cannot be known in advance.',
      appliesTo: [
        { regex: '/^Resource::arn:<AWS::Partition>:(ec2|elasticloadbalancing):\\*:\\*:.*$/' },
        { regex: '/^Resource::<EksClusterKubectlProviderHandler[A-Za-z0-9]+\\.Arn>:\\*$/' },
      ],
    },
    {
      id: 'AwsSolutions-L1',
      reason:
        'The kubectl provider handler runtime is chosen by CDK for its bundled kubectl layer, not by this app.',
    },
    {
      id: 'AwsSolutions-ECS2',
      reason:
        'Environment variables hold resource names and endpoints only; credentials come through the task definition secrets (Secrets Manager).',
    },
    {
      id: 'AwsSolutions-AS3',
      reason:
        'Scaling notifications are not needed: the instances are a fault target, and instance loss shows up in the service alarms that notify the topic.',
    },
    {
      id: 'AwsSolutions-EKS1',
      reason:
        'The API endpoint is public so the lab CLI and the CDK kubectl provider reach it; authentication is IAM (access entries), and FIS acts through an access entry with a namespaced Role.',
    },
  ],
  [STACK_NAMES.observability]: [],
  [STACK_NAMES.chaos]: [
    GENERATED_GRANT_WILDCARDS,
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'FIS chooses its targets at run time: ECS tasks of one cluster (conditioned on ecs:cluster) and EC2 ' +
        'instances (conditioned on the cloudcafe:chaos=allowed tag); the Lambda fault config under its one prefix.',
      appliesTo: [
        {
          regex:
            '/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<[A-Za-z0-9]+>/\\*$/',
        },
        'Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*',
      ],
    },
  ],
};

/** Applies the suppressions of one stack. Called by buildCloudCafe for every stack. */
export function applySuppressions(stack: Stack): void {
  const list = STACK_SUPPRESSIONS[stack.stackName];
  if (!list || list.length === 0) return;
  NagSuppressions.addStackSuppressions(
    stack,
    list.map((s) => ({
      id: s.id,
      reason: s.reason,
      ...(s.appliesTo ? { appliesTo: [...s.appliesTo] } : {}),
    })),
    true,
  );
}
