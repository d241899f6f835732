import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as fis from 'aws-cdk-lib/aws-fis';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  CHAOS_LABEL,
  CHAOS_TAG,
  FIS_K8S_SERVICE_ACCOUNT,
  FIS_K8S_USER,
  FIS_ROLE_NAME,
  K8S_NAMESPACE,
  SERVICE_TAG,
} from '../names.js';
import { type ComputeStack, FIS_CONFIG_PREFIX } from './compute-stack.js';
import type { DataStack } from './data-stack.js';
import type { ObservabilityStack } from './observability-stack.js';

export interface ChaosStackProps extends StackProps {
  readonly data: DataStack;
  readonly compute: ComputeStack;
  readonly observability: ObservabilityStack;
}

/** The experiment templates, by the name the CLI and the experiment files use (`fis:<name>`). */
export const FIS_TEMPLATE_NAMES = [
  'order-task-kill',
  'inventory-pod-delete',
  'menu-pod-delete',
  'aurora-failover',
  'cache-az-power-interruption',
  'payment-lambda-delay',
  'payment-lambda-errors',
  'loyalty-instance-stop',
  'analytics-cpu-stress',
] as const;
export type FisTemplateName = (typeof FIS_TEMPLATE_NAMES)[number];

const chaosTags = { [CHAOS_TAG.key]: CHAOS_TAG.value };

/**
 * AWS FIS experiment templates for the lab's core faults (DESIGN.md, fault vocabulary), each
 * stopped by CloudWatch alarms the moment the customer-visible damage exceeds what the game day
 * allows, and all run by one role that can do exactly these faults to exactly the resources
 * tagged `cloudcafe:chaos=allowed`, and nothing else.
 */
export class ChaosStack extends Stack {
  readonly role: iam.Role;
  readonly templates: Record<FisTemplateName, fis.CfnExperimentTemplate>;

  constructor(scope: Construct, id: string, props: ChaosStackProps) {
    super(scope, id, props);
    const { data, compute, observability } = props;
    const alarms = observability.alarms;
    const logGroup = new logs.LogGroup(this, 'ExperimentLogs', {
      logGroupName: '/cloudcafe/fis',
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'FisRole', {
      roleName: FIS_ROLE_NAME,
      description: 'Runs the CloudCafe FIS experiment templates, on chaos-tagged resources only',
      assumedBy: new iam.ServicePrincipal('fis.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': `arn:${this.partition}:fis:${this.region}:${this.account}:experiment/*`,
          },
        },
      }),
    });
    this.grantFaults(props);

    // FIS pod faults act in the cluster as this Kubernetes user; platforms/kubernetes/manifests/base binds
    // it to a Role in the cloudcafe namespace only.
    new eks.CfnAccessEntry(this, 'FisClusterAccess', {
      clusterName: compute.eksCluster.clusterName,
      principalArn: this.role.roleArn,
      username: FIS_K8S_USER,
      type: 'STANDARD',
    });

    const stopOn = (
      ...list: (cloudwatch.IAlarm | undefined)[]
    ): fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty[] =>
      list.map((alarm) => {
        if (!alarm) throw new Error('a stop-condition alarm is missing from the observability stack');
        return { source: 'aws:cloudwatch:alarm', value: alarm.alarmArn };
      });
    const checkout = [alarms.orderErrorRate, alarms.paymentDlq];
    const clusterName = compute.eksCluster.clusterName;
    const podTarget = (service: string): fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty => ({
      resourceType: 'aws:eks:pod',
      selectionMode: 'PERCENT(50)',
      parameters: {
        clusterIdentifier: clusterName,
        namespace: K8S_NAMESPACE,
        selectorType: 'labelSelector',
        selectorValue: `app.kubernetes.io/name=${service},${CHAOS_LABEL.key}=${CHAOS_LABEL.value}`,
      },
    });

    const defs: Record<
      FisTemplateName,
      Omit<fis.CfnExperimentTemplateProps, 'roleArn' | 'tags' | 'logConfiguration'>
    > = {
      'order-task-kill': {
        description: 'kill: stop half of the order service tasks; ECS replaces them',
        targets: {
          Tasks: {
            resourceType: 'aws:ecs:task',
            selectionMode: 'PERCENT(50)',
            resourceTags: chaosTags,
            parameters: { cluster: compute.ecsCluster.clusterName, service: 'cloudcafe-order' },
          },
        },
        actions: { kill: { actionId: 'aws:ecs:stop-task', targets: { Tasks: 'Tasks' } } },
        stopConditions: stopOn(...checkout),
      },
      'inventory-pod-delete': {
        description: 'kill: delete half of the inventory pods; the Deployment replaces them',
        targets: { Pods: podTarget('inventory') },
        actions: {
          kill: {
            actionId: 'aws:eks:pod-delete',
            parameters: { kubernetesServiceAccount: FIS_K8S_SERVICE_ACCOUNT },
            targets: { Pods: 'Pods' },
          },
        },
        stopConditions: stopOn(...checkout, alarms.inventoryErrorRate),
      },
      'menu-pod-delete': {
        description: 'kill: delete half of the menu pods; the Deployment replaces them',
        targets: { Pods: podTarget('menu') },
        actions: {
          kill: {
            actionId: 'aws:eks:pod-delete',
            parameters: { kubernetesServiceAccount: FIS_K8S_SERVICE_ACCOUNT },
            targets: { Pods: 'Pods' },
          },
        },
        stopConditions: stopOn(...checkout, alarms.menuErrorRate),
      },
      'aurora-failover': {
        description: 'db-failover: fail the order database over to its reader',
        targets: {
          Clusters: {
            resourceType: 'aws:rds:cluster',
            selectionMode: 'ALL',
            resourceArns: [data.aurora.clusterArn],
          },
        },
        actions: { failover: { actionId: 'aws:rds:failover-db-cluster', targets: { Clusters: 'Clusters' } } },
        stopConditions: stopOn(...checkout),
      },
      'cache-az-power-interruption': {
        description: 'cache-outage: cut power to the cache nodes in the first AZ for 5 minutes',
        targets: {
          ReplicationGroups: {
            resourceType: 'aws:elasticache:replicationgroup',
            selectionMode: 'ALL',
            resourceTags: chaosTags,
            parameters: { availabilityZoneIdentifier: Fn.select(0, Fn.getAzs()) },
          },
        },
        actions: {
          interrupt: {
            actionId: 'aws:elasticache:replicationgroup-interrupt-az-power',
            parameters: { duration: 'PT5M' },
            targets: { ReplicationGroups: 'ReplicationGroups' },
          },
        },
        stopConditions: stopOn(...checkout, alarms.menuErrorRate, alarms.inventoryErrorRate),
      },
      'payment-lambda-delay': {
        description: 'lambda-delay: add 2 s to half of the payment invocations for 5 minutes',
        targets: { Functions: this.functionTarget(props) },
        actions: {
          delay: {
            actionId: 'aws:lambda:invocation-add-delay',
            parameters: { duration: 'PT5M', invocationPercentage: '50', startupDelayMilliseconds: '2000' },
            targets: { Functions: 'Functions' },
          },
        },
        stopConditions: stopOn(alarms.paymentDlq, alarms.paymentQueueAge),
      },
      'payment-lambda-errors': {
        description: 'lambda-error: fail a quarter of the payment invocations for 5 minutes',
        targets: { Functions: this.functionTarget(props) },
        actions: {
          errors: {
            actionId: 'aws:lambda:invocation-error',
            parameters: { duration: 'PT5M', invocationPercentage: '25', preventExecution: 'true' },
            targets: { Functions: 'Functions' },
          },
        },
        // Not the Lambda error alarm: errors are the point here; a DLQ entry means retries ran out.
        stopConditions: stopOn(alarms.paymentDlq, alarms.orderErrorRate),
      },
      'loyalty-instance-stop': {
        description: 'pause: stop the loyalty instances for 5 minutes, then start them again',
        targets: {
          Instances: {
            resourceType: 'aws:ec2:instance',
            selectionMode: 'ALL',
            resourceTags: { ...chaosTags, [SERVICE_TAG]: 'loyalty' },
            filters: [{ path: 'State.Name', values: ['running'] }],
          },
        },
        actions: {
          pause: {
            actionId: 'aws:ec2:stop-instances',
            parameters: { startInstancesAfterDuration: 'PT5M' },
            targets: { Instances: 'Instances' },
          },
        },
        stopConditions: stopOn(...checkout, alarms.loyaltyErrorRate),
      },
      'analytics-cpu-stress': {
        description: 'cpu-stress: load every CPU of the analytics instances for 5 minutes',
        targets: {
          Instances: {
            resourceType: 'aws:ec2:instance',
            selectionMode: 'ALL',
            resourceTags: { ...chaosTags, [SERVICE_TAG]: 'analytics' },
            filters: [{ path: 'State.Name', values: ['running'] }],
          },
        },
        actions: {
          stress: {
            actionId: 'aws:ssm:send-command',
            parameters: {
              documentArn: this.cpuStressDocument(),
              documentParameters: JSON.stringify({ DurationSeconds: '300', InstallDependencies: 'True' }),
              duration: 'PT6M',
            },
            targets: { Instances: 'Instances' },
          },
        },
        stopConditions: stopOn(...checkout, alarms.analyticsErrorRate),
      },
    };

    this.templates = Object.fromEntries(
      Object.entries(defs).map(([name, def]) => [
        name,
        new fis.CfnExperimentTemplate(this, `${name}Template`, {
          ...def,
          roleArn: this.role.roleArn,
          tags: { Name: `cloudcafe-${name}`, ...chaosTags },
          logConfiguration: {
            logSchemaVersion: 2,
            cloudWatchLogsConfiguration: { LogGroupArn: logGroup.logGroupArn },
          },
        }),
      ]),
    ) as Record<FisTemplateName, fis.CfnExperimentTemplate>;

    for (const [name, template] of Object.entries(this.templates)) {
      new CfnOutput(this, `${name.replace(/-/g, '')}TemplateId`, {
        value: template.attrId,
        description: `FIS template ${name}`,
      });
    }
  }

  private functionTarget({
    compute,
  }: ChaosStackProps): fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty {
    return {
      resourceType: 'aws:lambda:function',
      selectionMode: 'ALL',
      resourceArns: [compute.paymentFunction.functionArn],
    };
  }

  private cpuStressDocument(): string {
    return `arn:${this.partition}:ssm:${this.region}::document/AWSFIS-Run-CPU-Stress`;
  }

  /**
   * The role's permissions, fault by fault. Mutating calls are limited to the lab's resources
   * and, where the service supports it, to the chaos tag; the few `*` resources are calls AWS
   * defines without a resource type (describe/list/tag lookups), each listed with its reason.
   */
  private grantFaults({ data, compute }: ChaosStackProps): void {
    const tagged = { StringEquals: { [`aws:ResourceTag/${CHAOS_TAG.key}`]: CHAOS_TAG.value } };
    const add = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      this.role.addToPolicy(
        new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    const arn = (service: string, resource: string) =>
      `arn:${this.partition}:${service}:${this.region}:${this.account}:${resource}`;

    add(
      'StopChaosTaggedOrderTasks',
      ['ecs:StopTask'],
      [arn('ecs', `task/${compute.ecsCluster.clusterName}/*`)],
      {
        ArnEquals: { 'ecs:cluster': compute.ecsCluster.clusterArn },
      },
    );
    // ListTasks/DescribeTasks resolve the target set; they are scoped to the cluster.
    add('ResolveOrderTasks', ['ecs:ListTasks', 'ecs:DescribeTasks'], ['*'], {
      ArnEquals: { 'ecs:cluster': compute.ecsCluster.clusterArn },
    });
    add('DescribeLabCluster', ['eks:DescribeCluster'], [compute.eksCluster.clusterArn]);
    add('FailoverOrderDatabase', ['rds:FailoverDBCluster'], [data.aurora.clusterArn]);
    add('DescribeOrderDatabase', ['rds:DescribeDBClusters'], [data.aurora.clusterArn]);
    add(
      'InterruptCacheAzPower',
      ['elasticache:InterruptClusterAzPower', 'elasticache:DescribeReplicationGroups'],
      [arn('elasticache', `replicationgroup:${data.redis.ref}`)],
    );
    add(
      'StopStartChaosTaggedInstances',
      ['ec2:StopInstances', 'ec2:StartInstances'],
      [arn('ec2', 'instance/*')],
      tagged,
    );
    // DescribeInstances has no resource-level permissions; FIS needs it to resolve tag targets.
    add('ResolveInstances', ['ec2:DescribeInstances'], ['*']);
    add('RunCpuStressOnChaosTaggedInstances', ['ssm:SendCommand'], [arn('ec2', 'instance/*')], tagged);
    add('RunCpuStressDocument', ['ssm:SendCommand'], [this.cpuStressDocument()]);
    // ListCommands/CancelCommand take no resource; FIS polls and cancels its own command with them.
    add('TrackCpuStress', ['ssm:ListCommands', 'ssm:CancelCommand'], ['*']);
    add('ResolvePaymentFunction', ['lambda:GetFunction'], [compute.paymentFunction.functionArn]);
    add(
      'WriteLambdaFaults',
      ['s3:PutObject', 's3:DeleteObject'],
      [data.fisConfig.arnForObjects(`${FIS_CONFIG_PREFIX}*`)],
    );
    data.key.grantEncryptDecrypt(this.role);
    // tag:GetResources has no resource type; FIS resolves every tag-selected target with it.
    add('ResolveTaggedTargets', ['tag:GetResources'], ['*']);
    // FIS writes the experiment log through a log delivery, which these calls set up.
    add(
      'DeliverExperimentLogs',
      [
        'logs:CreateLogDelivery',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      ['*'],
    );
  }
}
