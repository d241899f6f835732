import type { OrderEvent } from '@cloudcafe/contracts';
import type { Checkpoint, CheckpointStore } from '@cloudcafe/kit';
import type pg from 'pg';
import { advanceWatermark, isClosed, windowStart } from './windows.js';

/** Only confirmations (revenue) and cancellations (refunds) move the figures. */
const RELEVANT = new Set<string>(['OrderConfirmed', 'OrderCancelled']);

/**
 * The warehouse tables and the one transaction that applies a batch of order events: the
 * events (deduplicated by event id), the window aggregates, the watermark and the shard
 * checkpoint commit together, so a crash replays the batch and the replay changes nothing.
 */

const MIGRATION = `
CREATE TABLE IF NOT EXISTS analytics_events (
  event_id text PRIMARY KEY,
  order_id text NOT NULL,
  customer_id text NOT NULL,
  type text NOT NULL,
  occurred_at timestamptz NOT NULL,
  window_start timestamptz NOT NULL,
  total_cents bigint NOT NULL,
  currency text NOT NULL,
  items jsonb NOT NULL,
  late boolean NOT NULL DEFAULT false,
  refund_counted boolean NOT NULL DEFAULT false,
  shard_id text NOT NULL,
  sequence_number text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS analytics_events_order_idx ON analytics_events (order_id);
CREATE INDEX IF NOT EXISTS analytics_events_window_idx ON analytics_events (window_start);
CREATE TABLE IF NOT EXISTS analytics_windows (
  window_start timestamptz PRIMARY KEY,
  window_end timestamptz NOT NULL,
  order_count integer NOT NULL DEFAULT 0,
  revenue_cents bigint NOT NULL DEFAULT 0,
  refund_count integer NOT NULL DEFAULT 0,
  refunded_cents bigint NOT NULL DEFAULT 0,
  late_events integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS analytics_window_products (
  window_start timestamptz NOT NULL,
  sku text NOT NULL,
  quantity bigint NOT NULL DEFAULT 0,
  revenue_cents bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (window_start, sku)
);
CREATE TABLE IF NOT EXISTS analytics_checkpoints (
  stream_epoch text NOT NULL,
  shard_id text NOT NULL,
  sequence_number text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_epoch, shard_id)
);
CREATE TABLE IF NOT EXISTS analytics_watermark (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  event_time timestamptz
);
INSERT INTO analytics_watermark (id, event_time) VALUES (true, NULL) ON CONFLICT DO NOTHING;
`;

/** Creates the tables once; an advisory lock keeps two instances from racing the DDL. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(80080)');
    await client.query(MIGRATION);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface AppliedEvent {
  event: OrderEvent;
  shardId: string;
  sequenceNumber: string;
}

export interface BatchResult {
  applied: number;
  duplicates: number;
  late: number;
  /** The most recently closed window and its revenue, when the batch closed or touched one. */
  lastClosed?: { start: Date; revenueCents: number };
}

interface WindowDelta {
  orders: number;
  revenue: number;
  refunds: number;
  refunded: number;
  late: number;
}

export async function applyBatch(
  pool: pg.Pool,
  events: readonly AppliedEvent[],
  checkpoint: Checkpoint,
): Promise<BatchResult> {
  const unique = new Map<string, AppliedEvent>();
  for (const applied of events)
    if (!unique.has(applied.event.eventId)) unique.set(applied.event.eventId, applied);
  const candidates = [...unique.values()].filter(({ event }) => RELEVANT.has(event.type));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // One row everyone updates, locked first: batches from both shards (and from a second
    // instance) apply one after another, so window rows are never locked in two orders.
    const mark = await client.query<{ event_time: Date | null }>(
      'SELECT event_time FROM analytics_watermark WHERE id FOR UPDATE',
    );
    const before = mark.rows[0]?.event_time ?? undefined;
    let watermark = before;
    const lateIds = new Set<string>();
    for (const { event } of candidates) {
      const occurred = new Date(event.occurredAt);
      if (watermark && isClosed(windowStart(occurred), watermark)) lateIds.add(event.eventId);
      watermark = advanceWatermark(watermark, occurred);
    }

    const inserted = await client.query<{ event_id: string }>(
      `INSERT INTO analytics_events
         (event_id, order_id, customer_id, type, occurred_at, window_start, total_cents, currency, items, late,
          shard_id, sequence_number)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                            $7::bigint[], $8::text[], $9::jsonb[], $10::boolean[], $11::text[], $12::text[])
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        candidates.map(({ event }) => event.eventId),
        candidates.map(({ event }) => event.orderId),
        candidates.map(({ event }) => event.customerId),
        candidates.map(({ event }) => event.type),
        candidates.map(({ event }) => event.occurredAt),
        candidates.map(({ event }) => windowStart(new Date(event.occurredAt)).toISOString()),
        candidates.map(({ event }) => event.totalCents),
        candidates.map(({ event }) => event.currency),
        candidates.map(({ event }) => JSON.stringify(event.items)),
        candidates.map(({ event }) => lateIds.has(event.eventId)),
        candidates.map((c) => c.shardId),
        candidates.map((c) => c.sequenceNumber),
      ],
    );
    const fresh = new Set(inserted.rows.map((row) => row.event_id));
    const applied = candidates.filter(({ event }) => fresh.has(event.eventId)).map(({ event }) => event);

    // A cancellation refunds only an order that was confirmed, and only once.
    const cancelled = applied.filter((e) => e.type === 'OrderCancelled');
    const refundable = new Map<string, number>();
    if (cancelled.length > 0) {
      const rows = await client.query<{ order_id: string; confirmed_cents: string }>(
        `SELECT order_id, max(total_cents) FILTER (WHERE type = 'OrderConfirmed') AS confirmed_cents
           FROM analytics_events WHERE order_id = ANY($1::text[])
          GROUP BY order_id
         HAVING bool_or(type = 'OrderConfirmed') AND NOT bool_or(refund_counted)`,
        [cancelled.map((e) => e.orderId)],
      );
      for (const row of rows.rows) refundable.set(row.order_id, Number(row.confirmed_cents));
    }
    const refundedIds: string[] = [];
    const deltas = new Map<number, WindowDelta>();
    const products = new Map<string, { start: number; sku: string; quantity: number; revenue: number }>();
    const deltaOf = (start: number) => {
      let delta = deltas.get(start);
      if (!delta) {
        delta = { orders: 0, revenue: 0, refunds: 0, refunded: 0, late: 0 };
        deltas.set(start, delta);
      }
      return delta;
    };
    for (const event of applied) {
      const start = windowStart(new Date(event.occurredAt)).getTime();
      if (event.type === 'OrderConfirmed') {
        const delta = deltaOf(start);
        delta.orders += 1;
        delta.revenue += event.totalCents;
        if (lateIds.has(event.eventId)) delta.late += 1;
        for (const line of event.items) {
          const key = `${start}|${line.sku}`;
          const row = products.get(key) ?? { start, sku: line.sku, quantity: 0, revenue: 0 };
          row.quantity += line.quantity;
          row.revenue += line.quantity * line.unitPriceCents;
          products.set(key, row);
        }
      } else {
        const amount = refundable.get(event.orderId);
        if (amount === undefined) continue;
        refundable.delete(event.orderId);
        refundedIds.push(event.eventId);
        const delta = deltaOf(start);
        delta.refunds += 1;
        delta.refunded += amount;
        if (lateIds.has(event.eventId)) delta.late += 1;
      }
    }
    if (refundedIds.length > 0) {
      await client.query(
        'UPDATE analytics_events SET refund_counted = true WHERE event_id = ANY($1::text[])',
        [refundedIds],
      );
    }
    const windows = [...deltas.entries()].sort(([a], [b]) => a - b);
    if (windows.length > 0) {
      await client.query(
        `INSERT INTO analytics_windows AS w
           (window_start, window_end, order_count, revenue_cents, refund_count, refunded_cents, late_events)
         SELECT s, s + interval '5 minutes', o, r, rc, rf, l
           FROM unnest($1::timestamptz[], $2::int[], $3::bigint[], $4::int[], $5::bigint[], $6::int[])
                AS d(s, o, r, rc, rf, l)
         ON CONFLICT (window_start) DO UPDATE SET
           order_count = w.order_count + excluded.order_count,
           revenue_cents = w.revenue_cents + excluded.revenue_cents,
           refund_count = w.refund_count + excluded.refund_count,
           refunded_cents = w.refunded_cents + excluded.refunded_cents,
           late_events = w.late_events + excluded.late_events,
           updated_at = now()`,
        [
          windows.map(([start]) => new Date(start).toISOString()),
          windows.map(([, d]) => d.orders),
          windows.map(([, d]) => d.revenue),
          windows.map(([, d]) => d.refunds),
          windows.map(([, d]) => d.refunded),
          windows.map(([, d]) => d.late),
        ],
      );
    }
    const productRows = [...products.values()].sort(
      (a, b) => a.start - b.start || a.sku.localeCompare(b.sku),
    );
    if (productRows.length > 0) {
      await client.query(
        `INSERT INTO analytics_window_products AS p (window_start, sku, quantity, revenue_cents)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[])
         ON CONFLICT (window_start, sku) DO UPDATE SET
           quantity = p.quantity + excluded.quantity, revenue_cents = p.revenue_cents + excluded.revenue_cents`,
        [
          productRows.map((p) => new Date(p.start).toISOString()),
          productRows.map((p) => p.sku),
          productRows.map((p) => p.quantity),
          productRows.map((p) => p.revenue),
        ],
      );
    }
    if (watermark && watermark !== before) {
      await client.query('UPDATE analytics_watermark SET event_time = $1 WHERE id', [watermark]);
    }
    await client.query(
      `INSERT INTO analytics_checkpoints (stream_epoch, shard_id, sequence_number) VALUES ($1, $2, $3)
       ON CONFLICT (stream_epoch, shard_id) DO UPDATE SET sequence_number = excluded.sequence_number, updated_at = now()`,
      [checkpoint.streamEpoch, checkpoint.shardId, checkpoint.sequenceNumber],
    );
    let lastClosed: BatchResult['lastClosed'];
    if (watermark) {
      const closed = await client.query<{ window_start: Date; revenue_cents: string }>(
        `SELECT window_start, revenue_cents FROM analytics_windows
          WHERE window_start + interval '5 minutes' + interval '1 minute' <= $1
          ORDER BY window_start DESC LIMIT 1`,
        [watermark],
      );
      const row = closed.rows[0];
      if (row) lastClosed = { start: row.window_start, revenueCents: Number(row.revenue_cents) };
    }
    await client.query('COMMIT');
    return {
      applied: applied.length,
      // Repeats within the batch and events applied by an earlier delivery alike.
      duplicates: events.filter(({ event }) => RELEVANT.has(event.type)).length - applied.length,
      late: applied.filter((e) => lateIds.has(e.eventId)).length,
      ...(lastClosed && { lastClosed }),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Checkpoints are written by {@link applyBatch} in the batch's own transaction. */
export function warehouseCheckpoints(pool: pg.Pool): CheckpointStore {
  return {
    load: async (streamEpoch, shardId) => {
      const rows = await pool.query<{ sequence_number: string }>(
        'SELECT sequence_number FROM analytics_checkpoints WHERE stream_epoch = $1 AND shard_id = $2',
        [streamEpoch, shardId],
      );
      return rows.rows[0]?.sequence_number;
    },
    // Already committed with the windows it covers; nothing left to do.
    save: async () => {},
  };
}
