import type pg from 'pg';

/**
 * The order database. `orders` holds the state, `order_history` every transition, `outbox`
 * what must still reach another system (inventory, SQS, Kinesis), `idempotency_keys` the
 * answers already given. Created idempotently at start-up under an advisory lock so two
 * instances starting together do not race.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS orders (
  order_id text PRIMARY KEY,
  customer_id text NOT NULL,
  status text NOT NULL,
  reason text,
  items jsonb NOT NULL,
  total_cents integer NOT NULL,
  currency text NOT NULL,
  reservation text NOT NULL DEFAULT 'held',
  payment_requested_at timestamptz,
  payment_sends integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  seq bigserial NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer_seq ON orders (customer_id, seq DESC);
CREATE INDEX IF NOT EXISTS orders_seq ON orders (seq DESC);
CREATE INDEX IF NOT EXISTS orders_pending ON orders (payment_requested_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS order_history (
  id bigserial PRIMARY KEY,
  order_id text NOT NULL REFERENCES orders (order_id),
  status text NOT NULL,
  reason text,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS order_history_order ON order_history (order_id, id);
CREATE TABLE IF NOT EXISTS outbox (
  id bigserial PRIMARY KEY,
  order_id text NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz,
  voided boolean NOT NULL DEFAULT false,
  sending_since timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- When the relay first committed that a payment request may be on its way (ADR 0016).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS sending_since timestamptz;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, id) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (order_id);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key text PRIMARY KEY,
  request_hash text NOT NULL,
  order_id text NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
`;

const MIGRATION_LOCK = 73_001;

export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(DDL);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
