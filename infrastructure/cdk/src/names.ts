import {
  TABLES as CONTRACT_TABLES,
  PAYMENT_MAX_RECEIVE_COUNT,
  QUEUES,
  STREAMS,
  TABLE_PARTITION_KEYS,
} from '@cloudcafe/contracts';

/**
 * Names shared with the local lab (infrastructure/local/src/aws-resources.ts) and the services.
 * On AWS the same names are used so experiment files, dashboards and runbooks work on both
 * platforms without translation.
 */
// Resource names are a contract shared with the services and the local lab: defined once.
export { PAYMENT_MAX_RECEIVE_COUNT, QUEUES, STREAMS };

/** Each table with its partition key, as CDK needs both. */
export const TABLES = {
  inventory: { name: CONTRACT_TABLES.inventory, partitionKey: TABLE_PARTITION_KEYS.inventory },
  reservations: { name: CONTRACT_TABLES.reservations, partitionKey: TABLE_PARTITION_KEYS.reservations },
  payments: { name: CONTRACT_TABLES.payments, partitionKey: TABLE_PARTITION_KEYS.payments },
} as const;

/** CloudWatch namespace and dimension names of every custom metric (see the kit's catalogue). */
export const METRICS_NAMESPACE = 'CloudCafe';
/** The `Platform` dimension value the services send when they run on AWS. */
export const AWS_PLATFORM = 'aws';

/** The opt-in tag for AWS resources that FIS may touch, and the label for Kubernetes objects. */
export const CHAOS_TAG = { key: 'cloudcafe:chaos', value: 'allowed' } as const;
export const CHAOS_LABEL = { key: 'cloudcafe.io/chaos', value: 'allowed' } as const;
/** Tag naming the service a resource belongs to; FIS targets select on it. */
export const SERVICE_TAG = 'cloudcafe:service';

/** The Kubernetes namespace inventory and menu run in (infrastructure/k8s/base). */
export const K8S_NAMESPACE = 'cloudcafe';
/** The Kubernetes user FIS pod actions act as; bound to a Role in infrastructure/k8s/base. */
export const FIS_K8S_USER = 'fis-experiment';
/** The ServiceAccount FIS pod actions run their helper pod as (infrastructure/k8s/base). */
export const FIS_K8S_SERVICE_ACCOUNT = 'fis-pod-actions';

/** Every CloudCafe service with its API segment, platform and port on AWS. */
export const SERVICES = {
  order: { segment: 'orders', runsOn: 'ecs', port: 3001 },
  inventory: { segment: 'inventory', runsOn: 'eks', port: 3002 },
  payment: { segment: 'payments', runsOn: 'ecs', port: 3003 },
  menu: { segment: 'menu', runsOn: 'eks', port: 3004 },
  loyalty: { segment: 'loyalty', runsOn: 'ec2', port: 3005 },
  analytics: { segment: 'analytics', runsOn: 'ec2', port: 3006 },
} as const;

export type ServiceName = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** Where the payment Lambda's handler lives, relative to the repository root. */
export const PAYMENT_HANDLER_ENTRY = 'services/payment/src/handler.ts';
