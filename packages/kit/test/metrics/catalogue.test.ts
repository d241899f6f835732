import t from 'tap';
import { METRIC_CATALOGUE, type MetricDefinition } from '../../src/metrics/catalogue.js';

const REQUIRED = [
  'http_requests_total',
  'http_request_duration_ms',
  'http_errors_total',
  'orders_accepted_total',
  'orders_rejected_total',
  'order_time_to_terminal_ms',
  'outbox_pending',
  'inventory_reservations_total',
  'stock_conflicts_total',
  'payments_charged_total',
  'payments_failed_total',
  'payment_duplicates_prevented_total',
  'lambda_cold_starts_total',
  'lambda_invocation_duration_ms',
  'sqs_queue_depth',
  'sqs_oldest_message_age_s',
  'dlq_depth',
  'kinesis_records_consumed_total',
  'consumer_lag_ms',
  'cache_hits_total',
  'cache_misses_total',
  'loyalty_points_awarded_total',
  'analytics_window_revenue',
  'stress_runs_total',
  'stress_run_active',
  'fault_flag_active',
  'dependency_errors_injected_total',
];

t.test('every metric CloudCafe relies on is in the catalogue', async (t) => {
  for (const name of REQUIRED) t.ok(name in METRIC_CATALOGUE, name);
});

t.test('entries are consistent', async (t) => {
  for (const [name, entry] of Object.entries(METRIC_CATALOGUE) as [string, MetricDefinition][]) {
    t.match(name, /^[a-z][a-z0-9_]*$/, `${name} is snake_case`);
    if (entry.type === 'counter') t.match(name, /_total$/, `counter ${name} ends in _total`);
    if (name.endsWith('_ms')) t.equal(entry.unit, 'Milliseconds', `${name} is in Milliseconds`);
    if (name.endsWith('_s')) t.equal(entry.unit, 'Seconds', `${name} is in Seconds`);
    if (entry.type === 'histogram') t.ok(entry.buckets?.length, `histogram ${name} has buckets`);
    for (const dimension of entry.dimensions ?? []) {
      t.ok(entry.labels.includes(dimension), `${name}: dimension ${dimension} is one of its labels`);
    }
    t.ok(entry.description.length > 10, `${name} is described`);
  }
});
