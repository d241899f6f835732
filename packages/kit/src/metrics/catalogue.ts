/**
 * Every metric name in CloudCafe, listed once. The same name is used in Prometheus text, in
 * CloudWatch (namespace `CloudCafe`) and in EMF lines, so dashboards, experiment probes and
 * alarms can refer to one name on every platform.
 *
 * - `type`: counter (only goes up; CloudWatch receives the increase per flush), gauge (a
 *   current value) or histogram (a distribution; CloudWatch receives values and counts).
 * - `unit`: the CloudWatch unit.
 * - `labels`: the label names the metric takes; every recording must give all of them.
 * - `dimensions`: the labels that also become CloudWatch dimensions. Every metric is always
 *   sent with `Service` and `Platform` only (summed over labels); a metric with `dimensions`
 *   is sent a second time with those labels added.
 * - `buckets`: Prometheus histogram buckets.
 *
 * Adding a metric means adding it here first; the registry refuses names not listed.
 */
export const METRIC_CATALOGUE = {
  // ── HTTP (every service, recorded by the kit) ─────────────────────────────────────────
  http_requests_total: {
    type: 'counter',
    unit: 'Count',
    description: 'HTTP requests answered, by method, route pattern and status',
    labels: ['method', 'route', 'status'],
  },
  http_request_duration_ms: {
    type: 'histogram',
    unit: 'Milliseconds',
    description: 'Time from request received to response sent',
    labels: ['method', 'route', 'status'],
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
  },
  http_errors_total: {
    type: 'counter',
    unit: 'Count',
    description: 'HTTP answers with a 4xx or 5xx status, by status class (4xx, 5xx)',
    labels: ['method', 'route', 'status_class'],
    dimensions: ['status_class'],
  },
  // ── Orders ────────────────────────────────────────────────────────────────────────────
  orders_accepted_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Orders answered 202: durable from that moment',
    labels: [],
  },
  orders_rejected_total: {
    type: 'counter',
    unit: 'Count',
    description:
      'Orders refused before acceptance, by reason (validation, out_of_stock, busy: inventory shed the reservation, dependency)',
    labels: ['reason'],
    dimensions: ['reason'],
  },
  orders_terminal_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Orders reaching a terminal state, by outcome (confirmed, payment_failed, cancelled)',
    labels: ['outcome'],
    dimensions: ['outcome'],
  },
  order_time_to_terminal_ms: {
    type: 'histogram',
    unit: 'Milliseconds',
    description: 'Time from acceptance to a terminal state, by outcome',
    labels: ['outcome'],
    dimensions: ['outcome'],
    buckets: [100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000],
  },
  outbox_pending: {
    type: 'gauge',
    unit: 'Count',
    description: 'Outbox rows not yet published',
    labels: [],
  },
  outbox_published_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Outbox rows published, by destination (sqs, kinesis)',
    labels: ['destination'],
    dimensions: ['destination'],
  },
  // ── Inventory ─────────────────────────────────────────────────────────────────────────
  inventory_reservations_total: {
    type: 'counter',
    unit: 'Count',
    description:
      'Stock reservation attempts, by outcome (reserved, released, insufficient, shed: refused with 429 because the DynamoDB lane was full, reattached: an order attached after its hold had lapsed and been given back)',
    labels: ['outcome'],
    dimensions: ['outcome'],
  },
  inventory_lane_depth: {
    type: 'gauge',
    unit: 'Count',
    description:
      'Calls holding or waiting for a slot in one of inventory’s DynamoDB lanes (dynamodb, stock write): the queue a flash sale builds',
    labels: ['lane'],
    dimensions: ['lane'],
  },
  stock_conflicts_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Conditional writes that lost a race or would have gone below zero',
    labels: [],
  },
  // ── Payments ──────────────────────────────────────────────────────────────────────────
  payments_charged_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Charges recorded in the ledger',
    labels: [],
  },
  payments_failed_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Payment attempts that failed, by reason (declined, fraud, gateway_error, timeout)',
    labels: ['reason'],
    dimensions: ['reason'],
  },
  payment_duplicates_prevented_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Second deliveries refused by the ledger’s conditional put',
    labels: [],
  },
  receipts_written_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Receipts written to S3',
    labels: [],
  },
  // ── Lambda ────────────────────────────────────────────────────────────────────────────
  lambda_cold_starts_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Invocations that paid for initialisation',
    labels: ['function'],
    dimensions: ['function'],
  },
  lambda_invocation_duration_ms: {
    type: 'histogram',
    unit: 'Milliseconds',
    description: 'Handler duration per invocation, by function and cold/warm',
    labels: ['function', 'start'],
    dimensions: ['function'],
    buckets: [10, 50, 100, 250, 500, 1000, 2000, 3000, 5000, 10_000, 30_000],
  },
  // ── Queues and streams ────────────────────────────────────────────────────────────────
  sqs_queue_depth: {
    type: 'gauge',
    unit: 'Count',
    description: 'Visible messages in a queue',
    labels: ['queue'],
    dimensions: ['queue'],
  },
  sqs_oldest_message_age_s: {
    type: 'gauge',
    unit: 'Seconds',
    description: 'Age of the oldest message in a queue',
    labels: ['queue'],
    dimensions: ['queue'],
  },
  dlq_depth: {
    type: 'gauge',
    unit: 'Count',
    description: 'Messages in a dead-letter queue: each one is an order needing a human',
    labels: ['queue'],
    dimensions: ['queue'],
  },
  kinesis_records_consumed_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Kinesis records processed, by stream and consumer',
    labels: ['stream', 'consumer'],
    dimensions: ['consumer'],
  },
  events_duplicate_skipped_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Events a consumer had already applied and skipped (idempotency at work)',
    labels: ['consumer'],
    dimensions: ['consumer'],
  },
  consumer_lag_ms: {
    type: 'gauge',
    unit: 'Milliseconds',
    description: 'Now minus the arrival time of the last record processed',
    labels: ['stream', 'consumer'],
    dimensions: ['consumer'],
  },
  // ── Caches ────────────────────────────────────────────────────────────────────────────
  cache_hits_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Cache reads served from the cache',
    labels: ['cache'],
    dimensions: ['cache'],
  },
  cache_misses_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Cache reads that went to the source (includes cache-bypass and cache outages)',
    labels: ['cache'],
    dimensions: ['cache'],
  },
  // ── Loyalty and analytics ─────────────────────────────────────────────────────────────
  loyalty_points_awarded_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Loyalty points credited',
    labels: [],
  },
  analytics_window_revenue: {
    type: 'gauge',
    unit: 'None',
    description: 'Revenue of the last closed window, in cents',
    labels: ['window'],
    dimensions: ['window'],
  },
  // ── Dependencies ──────────────────────────────────────────────────────────────────────
  dependency_call_duration_ms: {
    type: 'histogram',
    unit: 'Milliseconds',
    description: 'Outbound dependency calls, by dependency and outcome (ok, error)',
    labels: ['dependency', 'outcome'],
    dimensions: ['dependency'],
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  },
  aws_calls_total: {
    type: 'counter',
    unit: 'Count',
    description:
      'Commands sent by the kit’s AWS clients, by API (sqs, dynamodb, kinesis, s3, cloudwatch) and operation (UpdateItem, PutMetricData…)',
    labels: ['api', 'operation'],
    dimensions: ['api'],
  },
  // ── The lab's instruments ─────────────────────────────────────────────────────────────
  stress_runs_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Stress runs finished, by scenario and final state (completed, cancelled, failed)',
    labels: ['scenario', 'state'],
    dimensions: ['scenario'],
  },
  stress_run_active: {
    type: 'gauge',
    unit: 'Count',
    description: '1 while a stress run of the scenario is running on this instance',
    labels: ['scenario'],
    dimensions: ['scenario'],
  },
  fault_flag_active: {
    type: 'gauge',
    unit: 'Count',
    description: '1 while the fault flag is set to a variant other than off',
    labels: ['flag'],
    dimensions: ['flag'],
  },
  dependency_errors_injected_total: {
    type: 'counter',
    unit: 'Count',
    description: 'Outbound calls failed on purpose by the dependency-errors flag',
    labels: ['dependency'],
    dimensions: ['dependency'],
  },
  // ── Process (sampled when metrics are read or flushed) ────────────────────────────────
  process_cpu_percent: {
    type: 'gauge',
    unit: 'Percent',
    description: 'CPU used by this process since the previous sample, in % of one core',
    labels: [],
  },
  process_memory_rss_bytes: {
    type: 'gauge',
    unit: 'Bytes',
    description: 'Resident set size of this process',
    labels: [],
  },
  event_loop_delay_p99_ms: {
    type: 'gauge',
    unit: 'Milliseconds',
    description: '99th percentile event-loop delay since the previous sample',
    labels: [],
  },
} as const satisfies Record<string, MetricDefinition>;

/** The shape of one catalogue entry. */
export interface MetricDefinition {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly unit: CloudWatchUnit;
  readonly description: string;
  readonly labels: readonly string[];
  readonly dimensions?: readonly string[];
  readonly buckets?: readonly number[];
}

/** The CloudWatch units the catalogue uses. */
export type CloudWatchUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'Bytes' | 'Percent' | 'None';

type Catalogue = typeof METRIC_CATALOGUE;

/** Any metric name in the catalogue. */
export type MetricName = keyof Catalogue;
/** Names of the catalogue's counters. */
export type CounterName = {
  [N in MetricName]: Catalogue[N]['type'] extends 'counter' ? N : never;
}[MetricName];
/** Names of the catalogue's gauges. */
export type GaugeName = { [N in MetricName]: Catalogue[N]['type'] extends 'gauge' ? N : never }[MetricName];
/** Names of the catalogue's histograms. */
export type HistogramName = {
  [N in MetricName]: Catalogue[N]['type'] extends 'histogram' ? N : never;
}[MetricName];
/** The label names a metric takes. */
export type LabelName<N extends MetricName> = Catalogue[N]['labels'][number];
/** The labels a recording of metric `N` must give: exactly the catalogue's label names. */
export type LabelsOf<N extends MetricName> = { readonly [L in LabelName<N>]: string | number };
