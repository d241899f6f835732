import {
  CAFE_SERVICES,
  CHAOS_LABEL,
  CHAOS_TAG,
  CLUSTER_NAME,
  TABLES as CONTRACT_TABLES,
  FAULT_SWEEPER,
  httpPlacement,
  K8S_NAMESPACE,
  METRICS_NAMESPACE,
  ORDERS_DATABASE,
  PAYMENT_MAX_RECEIVE_COUNT,
  QUEUES,
  SECRET_NAMES,
  SERVICE_REGISTRY,
  SERVICE_TAG,
  STACK_NAMES,
  STACK_OUTPUTS,
  STREAMS,
  TABLE_PARTITION_KEYS,
} from '@cloudcafe/contracts';

/**
 * Names shared with the local lab (platforms/local/src/aws-resources.ts) and the services.
 * On AWS the same names are used so experiment files, dashboards and runbooks work on both
 * platforms without translation.
 */
// Resource names are a contract shared with the services and the local lab: defined once.
// So are the platform names (packages/contracts/src/platform.ts).
export {
  CHAOS_LABEL,
  CHAOS_TAG,
  CLUSTER_NAME,
  FAULT_SWEEPER,
  K8S_NAMESPACE,
  METRICS_NAMESPACE,
  ORDERS_DATABASE,
  PAYMENT_MAX_RECEIVE_COUNT,
  QUEUES,
  SECRET_NAMES,
  SERVICE_TAG,
  STACK_NAMES,
  STACK_OUTPUTS,
  STREAMS,
};

/** Each table with its partition key, as CDK needs both. */
export const TABLES = {
  inventory: { name: CONTRACT_TABLES.inventory, partitionKey: TABLE_PARTITION_KEYS.inventory },
  reservations: { name: CONTRACT_TABLES.reservations, partitionKey: TABLE_PARTITION_KEYS.reservations },
  payments: { name: CONTRACT_TABLES.payments, partitionKey: TABLE_PARTITION_KEYS.payments },
  kinesisLeases: { name: CONTRACT_TABLES.kinesisLeases, partitionKey: TABLE_PARTITION_KEYS.kinesisLeases },
} as const;

/** The `Platform` dimension value the services send when they run on AWS. */
export const AWS_PLATFORM = 'aws';

/** The Kubernetes user FIS pod actions act as; bound to a Role in platforms/kubernetes/manifests/base. */
export const FIS_K8S_USER = 'fis-experiment';
/** The ServiceAccount FIS pod actions run their helper pod as (platforms/kubernetes/manifests/base). */
export const FIS_K8S_SERVICE_ACCOUNT = 'fis-pod-actions';
/** The role FIS experiments run as: created by the chaos stack, the driver's default. */
export const FIS_ROLE_NAME = 'cloudcafe-fis-experiments';

export type ServiceName = (typeof CAFE_SERVICES)[number];
export const SERVICE_NAMES: readonly ServiceName[] = CAFE_SERVICES;

/**
 * Every CloudCafe service with its API segment, port, and where its HTTP API runs on AWS (what
 * its load balancer targets): from the registry, where payment's charge path is the Lambda and
 * its API an ECS service.
 */
export const SERVICES = Object.fromEntries(
  CAFE_SERVICES.map((s) => [
    s,
    { segment: SERVICE_REGISTRY[s].segment, port: SERVICE_REGISTRY[s].port, runsOn: httpPlacement(s) },
  ]),
) as Record<ServiceName, { segment: string; port: number; runsOn: ReturnType<typeof httpPlacement> }>;

/** Where the payment Lambda's handler lives, relative to the repository root. */
export const PAYMENT_HANDLER_ENTRY = 'services/payment/src/handler.ts';
