import type { CreateExperimentTemplateCommandInput } from '@aws-sdk/client-fis';
import { type Fault, faultTarget, durationMs as parseDuration } from '@cloudcafe/chaos-interface';
import {
  ALARM_NAMES,
  CAFE_SERVICES,
  CHAOS_TAG,
  CLUSTER_NAME,
  K8S_NAMESPACE,
  SERVICE_REGISTRY,
  SERVICE_TAG,
  serviceErrorAlarm,
} from '@cloudcafe/contracts';
import { FIS_K8S_SERVICE_ACCOUNT } from '../names.js';

/**
 * Vocabulary faults → AWS FIS experiment templates (DESIGN.md, fault vocabulary). Targets are
 * selected by the opt-in tag `cloudcafe:chaos=allowed` (and the pod label on EKS); each template
 * is stopped by the lab's CloudWatch alarms, the ones the CDK observability stack creates. The
 * names shared with the CDK app come from the registry in packages/contracts and ../names.ts.
 */

export { CHAOS_TAG, K8S_NAMESPACE, SERVICE_TAG };

/** Tag holding a hash of the template body, so an identical template is reused, not duplicated. */
export const TEMPLATE_HASH_TAG = 'cloudcafe:template-hash';

/** Where each service's work runs on AWS (payment's is the Lambda) and the port it answers on. */
export const AWS_COMPUTE = Object.fromEntries(
  CAFE_SERVICES.map((s) => [s, { runsOn: SERVICE_REGISTRY[s].placement, port: SERVICE_REGISTRY[s].port }]),
) as {
  [S in (typeof CAFE_SERVICES)[number]]: { runsOn: (typeof SERVICE_REGISTRY)[S]['placement']; port: number };
};
type Compute = keyof typeof AWS_COMPUTE;

/** Ports of the managed dependencies a link may point at. */
const DEPENDENCY_PORTS: Readonly<Record<string, number>> = { postgres: 5432, redis: 6379, mongo: 27017 };

/** Alarm names from the CDK observability stack (ALARM_NAMES and the per-service 5xx alarms). */
export const CHECKOUT_ALARMS = [ALARM_NAMES.checkoutErrors, ALARM_NAMES.paymentDlq] as const;
export const serviceAlarm = serviceErrorAlarm;

/** The alarms that stop a fault on `service`: checkout health always, the service's own 5xx rate. */
export function defaultStopAlarms(service: string): string[] {
  return [...new Set([...CHECKOUT_ALARMS, ...(service in AWS_COMPUTE ? [serviceAlarm(service)] : [])])];
}

/** 90000 → `PT1M30S`, the ISO 8601 form FIS action durations take. */
export function isoDuration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  return `PT${m > 0 ? `${m}M` : ''}${s % 60 > 0 || m === 0 ? `${s % 60}S` : ''}`;
}

const computeOf = (name: string): Compute | undefined =>
  name in AWS_COMPUTE ? (name as Compute) : undefined;

function linkEnds(link: string): { from: string; to: string } {
  const [from = '', to = ''] = link.split('-to-');
  return { from, to };
}

const portOf = (name: string): number | undefined =>
  computeOf(name) ? AWS_COMPUTE[name as Compute].port : DEPENDENCY_PORTS[name];

/** The service a fault acts on (the caller, for a link): whose alarms stop it. */
export function serviceOf(fault: Fault): string {
  switch (fault.type) {
    case 'kill':
    case 'pause':
      return fault.process;
    case 'latency':
    case 'partition':
      return linkEnds(fault.link).from;
    case 'cpu-stress':
    case 'dependency-errors':
      return fault.service;
    case 'db-failover':
      return 'order';
    case 'cache-outage':
      return fault.service ?? 'menu';
    case 'lambda-delay':
    case 'lambda-error':
      return 'payment';
  }
}

/** The vocabulary faults this driver translates into FIS actions so far. */
const MAPPED: readonly Fault['type'][] = [
  'kill',
  'pause',
  'latency',
  'partition',
  'cpu-stress',
  'db-failover',
  'cache-outage',
  'lambda-delay',
  'lambda-error',
];

/** Faults on a managed resource rather than on a service's compute. */
const RESOURCE_FAULTS: readonly Fault['type'][] = [
  'db-failover',
  'cache-outage',
  'lambda-delay',
  'lambda-error',
];

/** Why a fault has no FIS mapping, or undefined when it has one. */
export function unmapped(fault: Fault): string | undefined {
  if (fault.type === 'dependency-errors')
    return "dependency-errors is an in-app fault flag set through the service's admin endpoint, not a FIS action; the aws driver does not set flags yet";
  if (!MAPPED.includes(fault.type)) {
    return `${fault.type} is not translated into a FIS action by the aws driver yet (DESIGN.md names the action); run it on local`;
  }
  if (RESOURCE_FAULTS.includes(fault.type)) return undefined;
  const name = serviceOf(fault);
  const compute = computeOf(name);
  if (!compute)
    return `${name} is not a CloudCafe service deployed on AWS (${Object.keys(AWS_COMPUTE).join(', ')})`;
  const runsOn = AWS_COMPUTE[compute].runsOn;
  if (runsOn === 'lambda')
    return `${name} is a Lambda function: use the lambda-delay / lambda-error faults instead`;
  if (fault.type === 'pause' && runsOn !== 'ec2')
    return `FIS can pause only EC2 instances (stop, then start); ${name} runs on ${runsOn.toUpperCase()}`;
  if (fault.type === 'partition' && runsOn !== 'ec2' && portOf(linkEnds(fault.link).to) === undefined)
    return `no known port for ${linkEnds(fault.link).to}, so no blackhole-port action can cut ${fault.link}`;
  return undefined;
}

type Target = NonNullable<CreateExperimentTemplateCommandInput['targets']>[string];
type Action = NonNullable<CreateExperimentTemplateCommandInput['actions']>[string];

function targetFor(service: Compute, fault: Fault): { key: string; target: Target } {
  const tags = { [CHAOS_TAG.key]: CHAOS_TAG.value };
  switch (AWS_COMPUTE[service].runsOn) {
    case 'ecs':
      return {
        key: 'Tasks',
        target: {
          resourceType: 'aws:ecs:task',
          resourceTags: tags,
          parameters: { cluster: CLUSTER_NAME, service: `cloudcafe-${service}` },
          selectionMode: 'PERCENT(50)',
        },
      };
    case 'eks':
      return {
        key: 'Pods',
        target: {
          resourceType: 'aws:eks:pod',
          parameters: {
            clusterIdentifier: CLUSTER_NAME,
            namespace: K8S_NAMESPACE,
            selectorType: 'labelSelector',
            selectorValue: `app.kubernetes.io/name=${service},cloudcafe.io/chaos=allowed`,
          },
          selectionMode: 'PERCENT(50)',
        },
      };
    default:
      if (fault.type === 'partition') {
        return {
          key: 'Subnets',
          target: {
            resourceType: 'aws:ec2:subnet',
            resourceTags: { ...tags, [SERVICE_TAG]: service },
            selectionMode: 'ALL',
          },
        };
      }
      return {
        key: 'Instances',
        target: {
          resourceType: 'aws:ec2:instance',
          resourceTags: { ...tags, [SERVICE_TAG]: service },
          filters: [{ path: 'State.Name', values: ['running'] }],
          selectionMode: fault.type === 'kill' ? 'COUNT(1)' : 'ALL',
        },
      };
  }
}

function actionFor(
  service: Compute,
  fault: Fault,
  durationMs: number,
  targetKey: string,
  region: string,
): Action {
  const duration = isoDuration(durationMs);
  const runsOn = AWS_COMPUTE[service].runsOn;
  const targets = { [targetKey]: targetKey };
  const sa = { kubernetesServiceAccount: FIS_K8S_SERVICE_ACCOUNT };
  switch (fault.type) {
    case 'kill':
      if (runsOn === 'ecs') return { actionId: 'aws:ecs:stop-task', targets };
      if (runsOn === 'eks') return { actionId: 'aws:eks:pod-delete', parameters: sa, targets };
      return {
        actionId: 'aws:ec2:stop-instances',
        parameters: { startInstancesAfterDuration: duration },
        targets,
      };
    case 'pause':
      return {
        actionId: 'aws:ec2:stop-instances',
        parameters: { startInstancesAfterDuration: duration },
        targets,
      };
    case 'latency': {
      const delay = {
        duration,
        delayMilliseconds: String(fault.latencyMs),
        jitterMilliseconds: String(fault.jitterMs ?? 0),
      };
      if (runsOn === 'ecs') return { actionId: 'aws:ecs:task-network-latency', parameters: delay, targets };
      if (runsOn === 'eks')
        return { actionId: 'aws:eks:pod-network-latency', parameters: { ...delay, ...sa }, targets };
      return {
        actionId: 'aws:ssm:send-command',
        parameters: {
          documentArn: `arn:aws:ssm:${region}::document/AWSFIS-Run-Network-Latency`,
          documentParameters: JSON.stringify({
            DurationSeconds: String(Math.ceil(durationMs / 1000)),
            DelayMilliseconds: String(fault.latencyMs),
            JitterMilliseconds: String(fault.jitterMs ?? 0),
            InstallDependencies: 'True',
          }),
          duration,
        },
        targets,
      };
    }
    case 'partition': {
      if (runsOn === 'ec2')
        return {
          actionId: 'aws:network:disrupt-connectivity',
          parameters: { duration, scope: 'all' },
          targets,
        };
      const blackhole = {
        duration,
        port: String(portOf(linkEnds(fault.link).to)),
        protocol: 'tcp',
        trafficType: 'egress',
      };
      if (runsOn === 'ecs')
        return { actionId: 'aws:ecs:task-network-blackhole-port', parameters: blackhole, targets };
      return { actionId: 'aws:eks:pod-network-blackhole-port', parameters: { ...blackhole, ...sa }, targets };
    }
    case 'cpu-stress':
      if (runsOn === 'ecs') return { actionId: 'aws:ecs:task-cpu-stress', parameters: { duration }, targets };
      if (runsOn === 'eks')
        return { actionId: 'aws:eks:pod-cpu-stress', parameters: { duration, ...sa }, targets };
      return {
        actionId: 'aws:ssm:send-command',
        parameters: {
          documentArn: `arn:aws:ssm:${region}::document/AWSFIS-Run-CPU-Stress`,
          documentParameters: JSON.stringify({
            DurationSeconds: String(Math.ceil(durationMs / 1000)),
            InstallDependencies: 'True',
          }),
          duration,
        },
        targets,
      };
    default:
      throw new Error(unmapped(fault));
  }
}

/** RDS, ElastiCache and Lambda faults: the resource is the target, selected by the chaos tag. */
function resourceFault(
  fault: Fault,
  durationMs: number,
  region: string,
): { key: string; target: Target; action: Action } | undefined {
  const tags = { [CHAOS_TAG.key]: CHAOS_TAG.value };
  const duration = isoDuration(durationMs);
  const lambda = (action: Action) => ({
    key: 'Functions',
    target: {
      resourceType: 'aws:lambda:function',
      resourceTags: { ...tags, [SERVICE_TAG]: 'payment' },
      selectionMode: 'ALL',
    },
    action,
  });
  switch (fault.type) {
    case 'db-failover':
      return {
        key: 'Clusters',
        target: { resourceType: 'aws:rds:cluster', resourceTags: tags, selectionMode: 'ALL' },
        action: { actionId: 'aws:rds:failover-db-cluster', targets: { Clusters: 'Clusters' } },
      };
    case 'cache-outage':
      // ElastiCache is one replication group shared by the services: the outage is for all of them.
      return {
        key: 'ReplicationGroups',
        target: {
          resourceType: 'aws:elasticache:replicationgroup',
          resourceTags: tags,
          selectionMode: 'ALL',
          parameters: { availabilityZoneIdentifier: `${region}a` },
        },
        action: {
          actionId: 'aws:elasticache:replicationgroup-interrupt-az-power',
          parameters: { duration },
          targets: { ReplicationGroups: 'ReplicationGroups' },
        },
      };
    case 'lambda-delay':
      return lambda({
        actionId: 'aws:lambda:invocation-add-delay',
        parameters: {
          duration,
          invocationPercentage: '100',
          startupDelayMilliseconds: String(parseDuration(fault.delay)),
        },
        targets: { Functions: 'Functions' },
      });
    case 'lambda-error':
      return lambda({
        actionId: 'aws:lambda:invocation-error',
        parameters: { duration, invocationPercentage: fault.rate.replace('%', ''), preventExecution: 'true' },
        targets: { Functions: 'Functions' },
      });
    default:
      return undefined;
  }
}

export interface TemplateSettings {
  readonly region: string;
  readonly roleArn: string;
  /** Stop-condition alarm ARNs, resolved from their names. */
  readonly alarmArns: readonly string[];
}

/** The FIS template for one fault; `tag` names it, so the journal and the console agree. */
export function fisTemplate(
  fault: Fault,
  tag: string,
  durationMs: number,
  settings: TemplateSettings,
): CreateExperimentTemplateCommandInput {
  const reason = unmapped(fault);
  if (reason) throw new Error(`${fault.type} on aws: ${reason}`);
  const service = serviceOf(fault) as Compute;
  const { key, target, action } = resourceFault(fault, durationMs, settings.region) ?? {
    ...targetFor(service, fault),
    action: actionFor(service, fault, durationMs, targetFor(service, fault).key, settings.region),
  };
  return {
    description: `cloudcafe ${fault.type} on ${faultTarget(fault)} for ${isoDuration(durationMs)}`,
    roleArn: settings.roleArn,
    targets: { [key]: target },
    actions: { [fault.type]: action },
    // A template without stop conditions could run on past the damage the game day allows.
    stopConditions:
      settings.alarmArns.length > 0
        ? settings.alarmArns.map((value) => ({ source: 'aws:cloudwatch:alarm', value }))
        : [{ source: 'none' }],
    tags: { Name: tag, [CHAOS_TAG.key]: CHAOS_TAG.value },
  };
}
