/**
 * The names of the AWS resources CloudCafe uses, listed once. The local lab creates them on the
 * emulator (platforms/local), CDK creates them in an account (platforms/aws), and the
 * services import them from here instead of retyping strings.
 */

export const QUEUES = {
  /** SQS FIFO: order → payment. MessageGroupId = customerId, MessageDeduplicationId = orderId. */
  paymentRequests: 'cloudcafe-payment-requests.fifo',
  /** Where a payment request lands after maxReceiveCount failed deliveries; it alarms. */
  paymentRequestsDlq: 'cloudcafe-payment-requests-dlq.fifo',
  /** SQS FIFO: payment → order. MessageGroupId = orderId, MessageDeduplicationId = orderId:outcome. */
  paymentResults: 'cloudcafe-payment-results.fifo',
} as const;

/** Receives of a payment request before it moves to the DLQ (and the DLQ alarm fires). */
export const PAYMENT_MAX_RECEIVE_COUNT = 5;

export const TABLES = {
  /** pk `sku`: the catalogue and its stock counters. */
  inventory: 'cloudcafe-inventory',
  /** pk `orderId`: one reservation per order. */
  reservations: 'cloudcafe-reservations',
  /** pk `orderId`: the payment ledger; a conditional put on it is what prevents double charges. */
  payments: 'cloudcafe-payments',
  /** pk `leaseKey` (`<consumer>#<shardId>`): which instance reads which order-events shard. */
  kinesisLeases: 'cloudcafe-kinesis-leases',
} as const;

/** The partition key of each table (all strings). */
export const TABLE_PARTITION_KEYS = {
  inventory: 'sku',
  reservations: 'orderId',
  payments: 'orderId',
  kinesisLeases: 'leaseKey',
} as const satisfies Record<keyof typeof TABLES, string>;

export const STREAMS = {
  /** Kinesis: order events, partition key = customerId (per-customer order is kept). */
  orderEvents: 'cloudcafe-order-events',
} as const;

export const BUCKETS = {
  /** `receipts/{orderId}.json`, one per charged order. */
  receipts: 'cloudcafe-receipts',
} as const;

/** Shards of the order-events stream: two, so consumers are tested across shards. */
export const ORDER_EVENTS_SHARDS = 2;

/** The key of an order's receipt in the receipts bucket. */
export const receiptKey = (orderId: string): string => `receipts/${orderId}.json`;
