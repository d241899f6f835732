import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

export const OrderConfigSchema = Type.Object({
  DATABASE_URL: Type.String({
    minLength: 1,
    description: 'PostgreSQL cloudcafe_orders, through the lab link',
  }),
  INVENTORY_URL: Type.String({ minLength: 1, description: 'The inventory service, through the lab link' }),
  PG_POOL_MAX: Type.Integer({ minimum: 2, maximum: 100, default: 12 }),
  ORDER_MAX_DB_WAITING: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 48,
    description:
      'New orders arriving while this many requests already wait for a database connection are refused with 429 CAFE_ERR_RATE_LIMITED before anything is reserved: a clean, retryable answer instead of a pool timeout (502) after stock was taken',
  }),
  ORDER_MAX_WAITING_READS: Type.Integer({
    minimum: 0,
    maximum: 100_000,
    default: 5000,
    description:
      'Long polls (GET /api/orders/:id?waitSeconds=N) parked at once per instance; beyond it a read answers at once',
  }),
  INVENTORY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30_000, default: 15_000 }),
  RELAY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  RELAY_IDLE_MS: Type.Integer({
    minimum: 10,
    maximum: 10_000,
    default: 200,
    description:
      'Pause after an empty outbox round; it doubles while rounds stay empty, up to 8 times this. A row written by this instance wakes the relay at once',
  }),
  RELAY_MAX_BACKOFF_MS: Type.Integer({ minimum: 100, maximum: 300_000, default: 15_000 }),
  RELAY_SEND_LEASE_MS: Type.Integer({
    minimum: 500,
    maximum: 300_000,
    default: 30_000,
    description:
      'A payment request claimed by a relay that then died is sent again by another after this long (the claim is committed before the send, ADR 0016); keep it above one SQS attempt (6 s)',
  }),
  SWEEP_INTERVAL_MS: Type.Integer({ minimum: 500, maximum: 600_000, default: 10_000 }),
  PAYMENT_RESULT_TIMEOUT_SECONDS: Type.Integer({
    minimum: 10,
    maximum: 86_400,
    default: 300,
    description: 'A pending order with no payment result this long after its request is re-requested',
  }),
  PAYMENT_REQUEST_MAX_SENDS: Type.Integer({
    minimum: 1,
    maximum: 20,
    default: 3,
    description: 'After this many unanswered requests the order fails with payment_timeout',
  }),
});

export type OrderConfig = ReturnType<typeof loadOrderConfig>;
export const loadOrderConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(OrderConfigSchema, env);
