import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import t from 'tap';
import { REPO_ROOT } from '../src/kustomize.js';
import {
  FAULT_SWEEPER,
  ORDERS_DATABASE,
  PAYMENT_MAX_RECEIVE_COUNT,
  QUEUES,
  SECRET_NAMES,
  STACK_NAMES,
  STACK_OUTPUTS,
  STREAMS,
  TABLES,
} from '../src/names.js';
import { FIS_TEMPLATE_NAMES } from '../src/stacks/chaos-stack.js';
import { ALARM_NAMES } from '../src/stacks/observability-stack.js';
import { synthesize } from './support/synthesized.js';

// One synth for every assertion below: it bundles the Lambda, renders the Kubernetes overlay
// and runs cdk-nag, which together take most of this file's time.
const synth = synthesize();
const { templates } = synth;
const template = (id: string) => {
  const found = templates[id];
  if (!found) throw new Error(`no template ${id}`);
  return found;
};
type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (id: string, type: string): Resource[] =>
  Object.values(template(id).findResources(type)) as Resource[];

t.test('synthesizes seven environment-agnostic stacks with no credentials', async (t) => {
  t.same(Object.keys(templates).sort(), [
    'CloudCafe-Chaos',
    'CloudCafe-Compute',
    'CloudCafe-Data',
    'CloudCafe-Edge',
    'CloudCafe-Network',
    'CloudCafe-Observability',
    'CloudCafe-Secrets',
  ]);
  for (const artifact of synth.assembly.stacks) {
    t.equal(artifact.environment.account, 'unknown-account', `${artifact.stackName} has no fixed account`);
    t.equal(artifact.environment.region, 'unknown-region', `${artifact.stackName} has no fixed region`);
  }
});

t.test(
  'the outputs and secrets `cloudcafe target aws` reads are there, under their registry names',
  async (t) => {
    t.ok(
      template(STACK_NAMES.edge).findOutputs(STACK_OUTPUTS.publicUrl)[STACK_OUTPUTS.publicUrl],
      'edge: PublicUrl',
    );
    t.ok(
      template(STACK_NAMES.data).findOutputs(STACK_OUTPUTS.ordersDatabaseHost)[
        STACK_OUTPUTS.ordersDatabaseHost
      ],
      'data: the Aurora host',
    );
    const secretNames = resources(STACK_NAMES.secrets, 'AWS::SecretsManager::Secret').map(
      (r) => r.Properties.Name,
    );
    for (const name of Object.values(SECRET_NAMES)) t.ok(secretNames.includes(name), `secret ${name}`);
    template(STACK_NAMES.data).hasResourceProperties('AWS::RDS::DBCluster', {
      DatabaseName: ORDERS_DATABASE,
    });
  },
);

t.test('cdk-nag AwsSolutions: no unsuppressed errors', async (t) => {
  t.same(synth.nagErrors, [], synth.nagErrors.join('\n'));
});

t.test('data at rest is encrypted and DynamoDB tables have point-in-time recovery', async (t) => {
  const tables = resources('CloudCafe-Data', 'AWS::DynamoDB::Table');
  t.same(
    tables.map((r) => r.Properties.TableName).sort(),
    Object.values(TABLES)
      .map((x) => x.name)
      .sort(),
  );
  for (const table of tables) {
    t.match(table.Properties, {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
  }
  const data = template('CloudCafe-Data');
  data.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue(), FifoQueue: true });
  data.allResourcesProperties('AWS::RDS::DBCluster', { StorageEncrypted: true });
  data.allResourcesProperties('AWS::DocDB::DBCluster', { StorageEncrypted: true });
  data.allResourcesProperties('AWS::ElastiCache::ReplicationGroup', {
    AtRestEncryptionEnabled: true,
    TransitEncryptionEnabled: true,
  });
  data.allResourcesProperties('AWS::MemoryDB::Cluster', { TLSEnabled: true, KmsKeyId: Match.anyValue() });
  data.allResourcesProperties('AWS::Kinesis::Stream', {
    Name: STREAMS.orderEvents,
    StreamEncryption: { EncryptionType: 'KMS' },
  });
  data.allResourcesProperties('AWS::RedshiftServerless::Namespace', { KmsKeyId: Match.anyValue() });
  for (const bucket of resources('CloudCafe-Data', 'AWS::S3::Bucket')) {
    t.ok(bucket.Properties.BucketEncryption, 'every bucket is encrypted');
  }
  // TLS only: every bucket policy denies requests without secure transport.
  const policies = resources('CloudCafe-Data', 'AWS::S3::BucketPolicy');
  t.equal(policies.length, resources('CloudCafe-Data', 'AWS::S3::Bucket').length);
  for (const policy of policies) t.match(JSON.stringify(policy.Properties), /aws:SecureTransport/);
});

t.test('payment requests redrive to the DLQ after five receives', async (t) => {
  const queues = resources('CloudCafe-Data', 'AWS::SQS::Queue');
  const byName = new Map(queues.map((q) => [q.Properties.QueueName, q]));
  t.same([...byName.keys()].sort(), Object.values(QUEUES).sort());
  const requests = byName.get(QUEUES.paymentRequests);
  t.match(requests?.Properties.RedrivePolicy, { maxReceiveCount: PAYMENT_MAX_RECEIVE_COUNT });
  const dlqLogicalId = Object.entries(template('CloudCafe-Data').findResources('AWS::SQS::Queue')).find(
    ([, r]) => (r as Resource).Properties.QueueName === QUEUES.paymentRequestsDlq,
  )?.[0];
  const redrive = requests?.Properties.RedrivePolicy as { deadLetterTargetArn: unknown } | undefined;
  t.same(redrive?.deadLetterTargetArn, {
    'Fn::GetAtt': [dlqLogicalId, 'Arn'],
  });
});

t.test(
  'health: the load balancer asks readiness, ECS and the instance groups never restart on it',
  async (t) => {
    const groups = resources('CloudCafe-Compute', 'AWS::ElasticLoadBalancingV2::TargetGroup');
    t.ok(groups.length > 0);
    for (const group of groups) t.match(group.Properties.HealthCheckPath, /^\/api\/[a-z]+\/health\/ready$/);
    const tasks = resources('CloudCafe-Compute', 'AWS::ECS::TaskDefinition');
    const checks = tasks.flatMap((task) =>
      (task.Properties.ContainerDefinitions as { HealthCheck?: { Command: string[] } }[]).flatMap((c) =>
        c.HealthCheck ? [c.HealthCheck.Command.join(' ')] : [],
      ),
    );
    t.ok(checks.length > 0, 'ECS containers have a health check');
    for (const check of checks)
      t.match(check, /\/health\/live'/, 'ECS restarts only a task that does not answer');
    for (const asg of resources('CloudCafe-Compute', 'AWS::AutoScaling::AutoScalingGroup'))
      t.equal(asg.Properties.HealthCheckType, 'EC2', 'an unready instance is not replaced');
  },
);

t.test('the payment Lambda consumes the FIFO queue with partial batch responses', async () => {
  const compute = template('CloudCafe-Compute');
  compute.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    EventSourceArn: Match.anyValue(),
  });
  compute.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'cloudcafe-payment',
    Handler: 'index.handler',
    Environment: {
      Variables: Match.objectLike({
        AWS_LAMBDA_EXEC_WRAPPER: '/opt/aws-fis/bootstrap',
        AWS_FIS_CONFIGURATION_LOCATION: Match.anyValue(),
      }),
    },
    Layers: Match.anyValue(),
  });
});

t.test('the public entry has a WAF with managed rules and rate limits', async (t) => {
  const edge = template('CloudCafe-Edge');
  const [acl] = resources('CloudCafe-Edge', 'AWS::WAFv2::WebACL');
  const rules = (acl?.Properties.Rules ?? []) as { Name: string; Statement: Record<string, unknown> }[];
  t.ok(
    rules.some((r) => 'RateBasedStatement' in r.Statement && r.Name === 'scalpers'),
    'scalper rule',
  );
  t.ok(
    rules.some((r) => 'RateBasedStatement' in r.Statement && r.Name === 'bots'),
    'bot rule',
  );
  t.ok(
    rules.some((r) => r.Name === 'AWSManagedRulesCommonRuleSet'),
    'common rule set',
  );
  edge.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  edge.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
  // every service is routed
  const rulesCount = resources('CloudCafe-Compute', 'AWS::ElasticLoadBalancingV2::ListenerRule').length;
  t.equal(rulesCount, 6);
});

t.test('every FIS template is stopped by CloudWatch alarms and run by one role', async (t) => {
  const chaos = template('CloudCafe-Chaos');
  const fisTemplates = resources('CloudCafe-Chaos', 'AWS::FIS::ExperimentTemplate');
  t.equal(fisTemplates.length, FIS_TEMPLATE_NAMES.length);
  for (const fis of fisTemplates) {
    const stops = fis.Properties.StopConditions as { Source: string; Value: unknown }[];
    t.ok(stops.length > 0, `${JSON.stringify(fis.Properties.Description)} has stop conditions`);
    for (const stop of stops) {
      t.equal(stop.Source, 'aws:cloudwatch:alarm');
      // a reference to an alarm of the observability stack, not a literal
      t.match(JSON.stringify(stop.Value), /ImportValue.*Alarm/);
    }
  }
  chaos.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: Match.objectLike({
      Statement: [
        Match.objectLike({ Principal: { Service: 'fis.amazonaws.com' }, Condition: Match.anyValue() }),
      ],
    }),
  });
});

t.test('the FIS role can only mutate chaos-tagged or named lab resources', async (t) => {
  const readOnlyAnywhere = new Set([
    'ecs:ListTasks',
    'ecs:DescribeTasks',
    'ec2:DescribeInstances',
    'ssm:ListCommands',
    'ssm:CancelCommand',
    'tag:GetResources',
    'logs:CreateLogDelivery',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ]);
  const statements = resources('CloudCafe-Chaos', 'AWS::IAM::Policy').flatMap(
    (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
  );
  t.ok(statements.length > 5);
  for (const s of statements) {
    const actions = ([] as string[]).concat(s.Action as string | string[]);
    t.notOk(
      actions.some((a) => a === '*' || a.endsWith(':*')),
      `no wildcard actions: ${actions}`,
    );
    const wildcard = ([] as unknown[]).concat(s.Resource).includes('*');
    if (wildcard) {
      for (const a of actions)
        t.ok(readOnlyAnywhere.has(a), `${a} on * is one AWS defines without a resource`);
    }
    if (actions.includes('ec2:StopInstances') || actions.some((a) => a === 'ssm:SendCommand' && !wildcard)) {
      if (JSON.stringify(s.Resource).includes('instance/')) {
        t.match(s.Condition, { StringEquals: { 'aws:ResourceTag/cloudcafe:chaos': 'allowed' } });
      }
    }
  }
});

t.test('service roles publish metrics only into the CloudCafe namespace', async (t) => {
  const statements = resources('CloudCafe-Compute', 'AWS::IAM::Policy').flatMap(
    (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
  );
  const puts = statements.filter((s) =>
    ([] as unknown[]).concat(s.Action).includes('cloudwatch:PutMetricData'),
  );
  t.ok(puts.length >= 6);
  for (const s of puts) t.match(s.Condition, { StringEquals: { 'cloudwatch:namespace': 'CloudCafe' } });
});

t.test('alarms notify the topic; dashboards exist for the overview and every service', async (t) => {
  const obs = template('CloudCafe-Observability');
  for (const name of Object.values(ALARM_NAMES)) {
    obs.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: name,
      AlarmActions: [Match.anyValue()],
    });
  }
  obs.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  const names = resources('CloudCafe-Observability', 'AWS::CloudWatch::Dashboard').map(
    (d) => d.Properties.DashboardName,
  );
  t.same(
    names.sort(),
    ['analytics', 'inventory', 'loyalty', 'menu', 'order', 'overview', 'payment'].map(
      (n) => `cloudcafe-${n}`,
    ),
  );
});

t.test('EKS runs the rendered aws overlay with its images and target group bindings', async (t) => {
  const manifests = resources('CloudCafe-Compute', 'Custom::AWSCDK-EKS-KubernetesResource');
  const text = JSON.stringify(manifests.map((m) => m.Properties.Manifest));
  for (const expected of [
    '"kind\\":\\"Deployment',
    '"kind\\":\\"CronJob',
    'HorizontalPodAutoscaler',
    'TargetGroupBinding',
    'cloudcafe-endpoints',
  ]) {
    t.match(text, expected);
  }
  t.notMatch(text, /"image\\":\\"cloudcafe\//, 'images point at ECR, not the placeholder');
  const repositories = resources('CloudCafe-Compute', 'AWS::ECR::Repository').map(
    (r) => r.Properties.RepositoryName,
  );
  t.ok(repositories.includes(FAULT_SWEEPER.image), `an ECR repository for ${FAULT_SWEEPER.image}`);
});

t.test('cfn-lint passes on every synthesized template', async (t) => {
  // Where scripts/bootstrap put it: the tools folder, shared between clones when CLOUDCAFE_TOOLS_DIR is set.
  const cfnLint = join(process.env.CLOUDCAFE_TOOLS_DIR ?? join(REPO_ROOT, '.tools'), 'venv/bin/cfn-lint');
  t.ok(existsSync(cfnLint), `${cfnLint} exists (run bash scripts/bootstrap)`);
  if (!existsSync(cfnLint)) return;
  const files = synth.assembly.stacks.map((s) => join(synth.assembly.directory, s.templateFile));
  let output = '';
  let status = 0;
  try {
    // W3005: CDK writes explicit DependsOn that cfn-lint finds redundant; not a defect.
    output = execFileSync(cfnLint, ['--format', 'parseable', '--ignore-checks', 'W3005', '--', ...files], {
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    status = e.status;
    output = `${e.stdout}${e.stderr}`;
  }
  t.equal(status, 0, output);
});
