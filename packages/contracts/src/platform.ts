/**
 * The names that the platforms share, listed once: where each service runs and answers, the
 * opt-in tag and label chaos drivers select on, the Kubernetes namespace, the CloudWatch
 * namespace and the alarm names. The local lab (platforms/local), the CDK app
 * (platforms/aws), the Kubernetes manifests (checked against these by the kustomize
 * test), the chaos drivers (chaos/src/drivers) and the services read them from here;
 * `chaos/test/registry.test.ts` fails on a second definition of any of them.
 */

/** Where a service's work runs on AWS. */
export type Placement = 'ecs' | 'eks' | 'lambda' | 'ec2';

/**
 * Every CloudCafe service: its API segment (`/api/<segment>`), its port (locally shifted by the
 * lab's offset), where its work runs on AWS and, when that is not where its HTTP API runs,
 * where the API does (payment charges in Lambda; its admin and stress API is an ECS service).
 */
export const SERVICE_REGISTRY = {
  order: { segment: 'orders', port: 3001, placement: 'ecs' },
  inventory: { segment: 'inventory', port: 3002, placement: 'eks' },
  payment: { segment: 'payments', port: 3003, placement: 'lambda', httpOn: 'ecs' },
  menu: { segment: 'menu', port: 3004, placement: 'eks' },
  loyalty: { segment: 'loyalty', port: 3005, placement: 'ec2' },
  analytics: { segment: 'analytics', port: 3006, placement: 'ec2' },
} as const satisfies Record<
  string,
  { segment: string; port: number; placement: Placement; httpOn?: Placement }
>;

export type CafeService = keyof typeof SERVICE_REGISTRY;
export const CAFE_SERVICES = Object.keys(SERVICE_REGISTRY) as CafeService[];

/** Where a service's HTTP API runs on AWS (what its load balancer target is). */
export const httpPlacement = (service: CafeService): Placement => {
  const entry: { placement: Placement; httpOn?: Placement } = SERVICE_REGISTRY[service];
  return entry.httpOn ?? entry.placement;
};

/** The opt-in tag of AWS resources FIS may act on. */
export const CHAOS_TAG = { key: 'cloudcafe:chaos', value: 'allowed' } as const;
/** The opt-in label of Kubernetes workloads the drivers may act on. */
export const CHAOS_LABEL = { key: 'cloudcafe.io/chaos', value: 'allowed' } as const;

/**
 * The annotation a Kubernetes fault leaves on what it changed: its tag, its deadline and how to
 * undo it, so `experiment revert --expired` and `halt` find it on the cluster with no journal.
 */
export const FAULT_ANNOTATION = 'cloudcafe.io/fault';
/**
 * The in-cluster fault sweeper (platforms/kubernetes/manifests/base/fault-sweeper.yaml), which
 * makes a fault's deadline hold on the cluster when no orchestrator is left to enforce it: the
 * name of its CronJob, ServiceAccount, Role and RoleBinding, and its image (an ECR repository
 * of the same name on AWS).
 */
export const FAULT_SWEEPER = { name: 'cloudcafe-fault-sweeper', image: 'cloudcafe/fault-sweeper' } as const;
/** The order service's PostgreSQL database, locally and on Aurora. */
export const ORDERS_DATABASE = 'cloudcafe_orders';

/** The CDK stacks, by role; `cloudcafe target aws` reads their outputs. */
export const STACK_NAMES = {
  network: 'CloudCafe-Network',
  secrets: 'CloudCafe-Secrets',
  data: 'CloudCafe-Data',
  edge: 'CloudCafe-Edge',
  compute: 'CloudCafe-Compute',
  observability: 'CloudCafe-Observability',
  chaos: 'CloudCafe-Chaos',
} as const;

/** Stack outputs that something outside the CDK reads (`cloudcafe target aws`). */
export const STACK_OUTPUTS = {
  /** Edge: the public entry, `http(s)://<alb>`. */
  publicUrl: 'PublicUrl',
  /** Data: the Aurora writer's host name. */
  ordersDatabaseHost: 'OrdersDatabaseHost',
} as const;

/** Secrets Manager names of the credentials a run's target needs. */
export const SECRET_NAMES = {
  adminToken: 'cloudcafe/admin-token',
  /** `{username, password}` of the Aurora master user. */
  auroraCredentials: 'cloudcafe/aurora-credentials',
} as const;

/** The tag naming the service an AWS resource belongs to; FIS targets select on it. */
export const SERVICE_TAG = 'cloudcafe:service';
/** The Kubernetes namespace of the EKS services (platforms/kubernetes/manifests/base). */
export const K8S_NAMESPACE = 'cloudcafe';
/** The name of the ECS cluster and of the EKS cluster (one of each per account and region). */
export const CLUSTER_NAME = 'cloudcafe';
/** The CloudWatch namespace of every custom metric (the kit's catalogue). */
export const METRICS_NAMESPACE = 'CloudCafe';

/** The alarms FIS experiments stop on, and the runbooks page for: created by the CDK observability stack. */
export const ALARM_NAMES = {
  checkoutErrors: 'cloudcafe-checkout-5xx-rate',
  paymentDlq: 'cloudcafe-payment-dlq-not-empty',
  paymentErrors: 'cloudcafe-payment-lambda-errors',
  paymentThrottles: 'cloudcafe-payment-lambda-throttles',
  paymentQueueAge: 'cloudcafe-payment-queue-oldest-message',
} as const;

/** A service's 5xx-rate alarm; order's is the checkout alarm. */
export const serviceErrorAlarm = (service: string): string =>
  service === 'order' ? ALARM_NAMES.checkoutErrors : `cloudcafe-${service}-5xx-rate`;
/** A service's p99-latency alarm. */
export const serviceLatencyAlarm = (service: string): string => `cloudcafe-${service}-p99-latency`;
