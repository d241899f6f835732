import { type App, Aspects, type Stack, Tags } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { type LabSettings, readSettings } from './config.js';
import { applySuppressions } from './nag.js';
import { STACK_NAMES } from './names.js';
import { ChaosStack } from './stacks/chaos-stack.js';
import { ComputeStack } from './stacks/compute-stack.js';
import { DataStack } from './stacks/data-stack.js';
import { EdgeStack } from './stacks/edge-stack.js';
import { NetworkStack } from './stacks/network-stack.js';
import { ObservabilityStack } from './stacks/observability-stack.js';
import { SecretsStack } from './stacks/secrets-stack.js';

export interface CloudCafeStacks {
  readonly network: NetworkStack;
  readonly secrets: SecretsStack;
  readonly data: DataStack;
  readonly edge: EdgeStack;
  readonly compute: ComputeStack;
  readonly observability: ObservabilityStack;
  readonly chaos: ChaosStack;
}

/**
 * Types CDK tags but CloudFormation's resource schemas (as cfn-lint reads them) do not accept
 * Tags on; tagging them fails validation.
 */
const UNTAGGABLE = [
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::CloudWatch::Dashboard',
];

/**
 * Feature flags the app is written against, set in code so `cdk synth` and the in-process
 * tests build the same templates. S3 server access logs through a bucket policy, not the
 * legacy ACL.
 */
export const FEATURE_FLAGS: Readonly<Record<string, boolean>> = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/core:enablePartitionLiterals': true,
};

export interface BuildOptions {
  /** Settings instead of reading them from the app's context (tests pass them directly). */
  readonly settings?: LabSettings;
  /** Run cdk-nag's AwsSolutions pack on every stack (the default; synth fails on an error). */
  readonly nag?: boolean;
}

/**
 * Builds the whole lab into `app`: seven stacks, deployed in this order, each depending only
 * on earlier ones. Stacks carry no account or region, so the app synthesizes with no
 * credentials and no lookups; every environment-specific value resolves at deploy time.
 */
export function buildCloudCafe(app: App, options: BuildOptions = {}): CloudCafeStacks {
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) app.node.setContext(flag, value);
  const settings = options.settings ?? readSettings((key) => app.node.tryGetContext(key));
  const network = new NetworkStack(app, STACK_NAMES.network, {
    settings,
    description: 'CloudCafe: VPC across two AZs, gateway endpoints',
  });
  const secrets = new SecretsStack(app, STACK_NAMES.secrets, {
    description: 'CloudCafe: database credentials and the admin token',
  });
  const data = new DataStack(app, STACK_NAMES.data, {
    settings,
    network,
    secrets,
    description: 'CloudCafe: Aurora, DocumentDB, ElastiCache, MemoryDB, DynamoDB, Kinesis, SQS, S3, Redshift',
  });
  const edge = new EdgeStack(app, STACK_NAMES.edge, {
    settings,
    network,
    data,
    description: 'CloudCafe: the public entry (ALB) and its WAF',
  });
  const compute = new ComputeStack(app, STACK_NAMES.compute, {
    settings,
    network,
    secrets,
    data,
    edge,
    description: 'CloudCafe: ECS Fargate, EKS, Lambda and EC2 workloads',
  });
  const observability = new ObservabilityStack(app, STACK_NAMES.observability, {
    settings,
    data,
    compute,
    description: 'CloudCafe: alarms, alarm topic and dashboards',
  });
  const chaos = new ChaosStack(app, STACK_NAMES.chaos, {
    data,
    compute,
    observability,
    description: 'CloudCafe: FIS experiment templates and their role',
  });
  const stacks: CloudCafeStacks = { network, secrets, data, edge, compute, observability, chaos };
  for (const stack of Object.values(stacks) as Stack[]) {
    for (const [key, value] of [
      ['project', 'cloudcafe'],
      ['cloudcafe:size', settings.size],
    ]) {
      Tags.of(stack).add(key as string, value as string, { excludeResourceTypes: UNTAGGABLE });
    }
    applySuppressions(stack);
  }
  if (options.nag ?? true) Aspects.of(app).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
  return stacks;
}
