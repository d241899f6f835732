import { randomUUID } from 'node:crypto';
import type {
  OrderEvent,
  OrderEventType,
  OrderLine,
  PaymentRequested,
  PaymentResult,
} from '@cloudcafe/contracts';
import { CafeError, callDependency, type ServiceApp } from '@cloudcafe/kit';
import type pg from 'pg';
import { type InventoryClient, InventoryRefusal } from './inventory-client.js';
import {
  type Accepted,
  CURRENCY,
  MAX_UNITS_PER_SKU,
  type NewOrder,
  type OrderPage,
  type OrderStatus,
  type OrderSummary,
  type OrderView,
  orderIdForKey,
  requestHash,
  TERMINAL_STATUSES,
} from './model.js';
import { StatusWatch } from './status-watch.js';

/** What the outbox relay delivers; the kind decides where to. */
export type OutboxKind =
  | 'reservation-attach'
  | 'reservation-commit'
  | 'reservation-release'
  | 'payment-requested'
  | 'order-event';

export interface OrderRow {
  order_id: string;
  customer_id: string;
  status: OrderStatus;
  reason: string | null;
  items: OrderLine[];
  total_cents: number;
  currency: string;
  reservation: string;
  created_at: Date;
  updated_at: Date;
  seq: string;
}

type Db = pg.Pool | pg.PoolClient;

/**
 * The order saga's state changes, each one PostgreSQL transaction that also writes the outbox
 * rows for what must happen next. Nothing outside PostgreSQL is called inside a transaction
 * except by the relay, so a crash at any point leaves either the old or the new state, and the
 * outbox says what is still owed.
 */
export class Orders {
  /** Readers parked on a status change (`GET /api/orders/:id?waitSeconds=N`). */
  readonly watch: StatusWatch;
  /** The orders whose status each open transaction changed, announced once it commits. */
  private readonly changed = new WeakMap<pg.PoolClient, Set<string>>();

  constructor(
    private readonly app: ServiceApp,
    private readonly pool: pg.Pool,
    private readonly inventory: InventoryClient,
    private readonly onOutboxWrite: () => void,
    /** New orders are refused at the door while this many requests wait for a connection. */
    private readonly maxDbWaiting = Number.POSITIVE_INFINITY,
    maxWaitingReads = 5000,
  ) {
    this.watch = new StatusWatch({
      statuses: (ids) => this.statuses(ids),
      recheckMs: STATUS_RECHECK_MS,
      maxWaiters: maxWaitingReads,
    });
  }

  private db<T>(fn: () => Promise<T>): Promise<T> {
    return callDependency(this.app, 'postgres', () =>
      fn().catch((err: unknown) => Promise.reject(busyOr(err))),
    );
  }

  /**
   * One transaction. When PostgreSQL aborts it as a deadlock victim (40P01) or a serialization
   * failure (40001) it is run again from the start: the other transaction won, and ours is
   * still valid to retry because nothing outside PostgreSQL happens inside it. Without this a
   * cancel racing the outbox relay answered 502.
   */
  async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db(async () => {
          const client = await this.pool.connect();
          // A connection that dies while idle inside the transaction (a PostgreSQL restart while
          // the relay waits on SQS) emits 'error' on the client; unhandled, it would crash the
          // process. The transaction's next query rejects with it anyway.
          client.on('error', ignoreClientError);
          const changed = new Set<string>();
          this.changed.set(client, changed);
          try {
            await client.query('BEGIN');
            const result = await fn(client);
            await client.query('COMMIT');
            this.watch.notify(changed);
            return result;
          } catch (err) {
            await client.query('ROLLBACK').catch(() => {});
            throw err;
          } finally {
            this.changed.delete(client);
            client.off('error', ignoreClientError);
            client.release();
          }
        });
      } catch (err) {
        if (attempt >= TX_ATTEMPTS || !isRetryable(err)) throw err;
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * attempt));
      }
    }
  }

  /** `POST /api/orders`: reserve, then commit order + outbox in one transaction, then 202. */
  async accept(body: NewOrder, idempotencyKey: string | undefined): Promise<Accepted> {
    const hash = requestHash(body);
    if (this.pool.waitingCount >= this.maxDbWaiting) {
      // At capacity: say so before inventory holds anything for an order we could not write.
      this.reject('busy');
      throw atCapacity(`${this.pool.waitingCount} requests already wait for a database connection`);
    }
    // No idempotency lookup up front: the order id comes from the key, so a repeat finds its
    // reservation at inventory (answered below from the stored answer) and its order row at
    // insert. A first request (nearly all of them) then costs PostgreSQL one transaction, and a
    // buyer refused for stock costs it nothing: under a flash sale that is most buyers.
    const lines = mergeLines(body.items);
    const tooMany = lines.find((l) => l.quantity > MAX_UNITS_PER_SKU);
    if (tooMany) {
      this.reject('validation');
      throw new CafeError(
        'CAFE_ERR_VALIDATION',
        `body.items: at most ${MAX_UNITS_PER_SKU} units of ${tooMany.sku} per order`,
      );
    }
    const orderId = idempotencyKey === undefined ? randomUUID() : orderIdForKey(idempotencyKey);

    let reservation: Awaited<ReturnType<InventoryClient['reserve']>>;
    try {
      reservation = await this.inventory.reserve(orderId, lines);
    } catch (err) {
      throw this.refusal(err, idempotencyKey, hash);
    }
    if (reservation.status !== 'held') {
      // The key's order already moved on (its answer is stored) or its hold expired unanswered.
      if (idempotencyKey !== undefined) {
        const earlier = await this.answeredBefore(idempotencyKey, hash);
        if (earlier) return earlier;
      }
      this.reject('dependency');
      throw new CafeError(
        'CAFE_ERR_CONFLICT',
        'this Idempotency-Key was used for an order that never completed; use a new key',
      );
    }

    const items: OrderLine[] = reservation.items.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents,
    }));
    const totalCents = items.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
    const answer: Accepted = { orderId, status: 'pending' };
    let inserted: boolean;
    try {
      inserted = await this.tx(async (c) => {
        const { rowCount } = await c.query(
          `INSERT INTO orders (order_id, customer_id, status, items, total_cents, currency)
           VALUES ($1, $2, 'pending', $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`,
          [orderId, body.customerId, JSON.stringify(items), totalCents, CURRENCY],
        );
        if (rowCount === 0) return false;
        await history(c, orderId, 'pending');
        if (idempotencyKey !== undefined) {
          await c.query(
            'INSERT INTO idempotency_keys (key, request_hash, order_id, response) VALUES ($1, $2, $3, $4)',
            [idempotencyKey, hash, orderId, JSON.stringify(answer)],
          );
        }
        await enqueue(c, orderId, 'reservation-attach', { orderId });
        const placed: OrderSnapshot = { orderId, customerId: body.customerId, items, totalCents };
        await enqueue(c, orderId, 'order-event', orderEvent('OrderPlaced', placed));
        return true;
      });
    } catch (err) {
      // The order is not durable, so the client hears an error; free the stock now rather than
      // at hold expiry. Best effort: if this fails too, the inventory sweeper frees it later.
      if (idempotencyKey === undefined) {
        await this.inventory.transition(orderId, 'release').catch(() => undefined);
      }
      this.reject('dependency');
      throw err;
    }
    if (!inserted) {
      const earlier =
        idempotencyKey === undefined ? undefined : await this.answeredBefore(idempotencyKey, hash);
      if (earlier) return earlier;
      throw new CafeError('CAFE_ERR_CONFLICT', `order ${orderId} already exists`);
    }
    this.app.metrics.inc('orders_accepted_total');
    this.onOutboxWrite();
    return answer;
  }

  /**
   * The order with its history. With `waitSeconds`, an order that is not terminal yet is
   * answered when its status moves on (or the wait runs out, or the client goes away): a long
   * poll, so following an order to its end costs a request per status, not one per poll.
   */
  async get(orderId: string, waitSeconds = 0, signal?: AbortSignal): Promise<OrderView> {
    let row = await this.row(orderId);
    if (waitSeconds > 0 && !TERMINAL_STATUSES.includes(row.status)) {
      await this.watch.wait(orderId, row.status, waitSeconds * 1000, signal);
      row = await this.row(orderId);
    }
    const { rows: steps } = await this.db(() =>
      this.pool.query<{ status: OrderStatus; reason: string | null; at: Date }>(
        'SELECT status, reason, at FROM order_history WHERE order_id = $1 ORDER BY id',
        [orderId],
      ),
    );
    return {
      ...summary(row),
      history: steps.map((s) => ({
        status: s.status,
        at: s.at.toISOString(),
        ...(s.reason !== null && { reason: s.reason }),
      })),
    };
  }

  private async row(orderId: string): Promise<OrderRow> {
    const { rows } = await this.db(() =>
      this.pool.query<OrderRow>('SELECT * FROM orders WHERE order_id = $1', [orderId]),
    );
    const row = rows[0];
    if (!row) throw new CafeError('CAFE_ERR_NOT_FOUND', `no order ${orderId}`);
    return row;
  }

  private async statuses(orderIds: readonly string[]): Promise<ReadonlyMap<string, OrderStatus>> {
    const { rows } = await this.db(() =>
      this.pool.query<{ order_id: string; status: OrderStatus }>(
        'SELECT order_id, status FROM orders WHERE order_id = ANY($1)',
        [orderIds],
      ),
    );
    return new Map(rows.map((r) => [r.order_id, r.status]));
  }

  /** A status change, announced to waiting readers once the transaction commits. */
  private async setStatus(c: pg.PoolClient, orderId: string, status: OrderStatus, reason: string | null) {
    await c.query(
      'UPDATE orders SET status = $2, reason = $3, updated_at = clock_timestamp() WHERE order_id = $1',
      [orderId, status, reason],
    );
    await history(c, orderId, status, reason);
    this.changed.get(c)?.add(orderId);
  }

  async list(query: {
    customerId?: string;
    status?: OrderStatus;
    limit: number;
    cursor?: string;
  }): Promise<OrderPage> {
    const { rows } = await this.db(() =>
      this.pool.query<OrderRow>(
        `SELECT * FROM orders
         WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::bigint IS NULL OR seq < $3)
         ORDER BY seq DESC LIMIT $4`,
        [query.customerId ?? null, query.status ?? null, query.cursor ?? null, query.limit + 1],
      ),
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(summary),
      ...(rows.length > query.limit && last && { nextCursor: String(last.seq) }),
    };
  }

  /**
   * Cancel before payment: allowed while no payment request may have reached SQS, that is while
   * none carries a sending mark (the relay commits it before each send, ADR 0016). The order's
   * outbox rows are locked first, in the relay's order, so a relay delivering them right now is
   * waited for; the decision is then read after the order's row lock, which every writer of a
   * new payment request takes too, so a request enqueued meanwhile is seen.
   */
  async cancel(orderId: string): Promise<OrderView> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.tx((c) => this.cancelOnce(c, orderId));
      if (outcome === 'cancelled') this.onOutboxWrite();
      if (outcome !== 'being-sent') return this.get(orderId);
      if (attempt >= CANCEL_ATTEMPTS) {
        throw new CafeError(
          'CAFE_ERR_UNAVAILABLE',
          `order ${orderId}: its payment request is being sent; retry`,
        );
      }
    }
  }

  /**
   * One try. `being-sent`: a relay holds one of the order's payment requests right now (it
   * appeared after the first lock). Waiting for it here, holding the order's row, could deadlock
   * with the relay recording it; the next try's first lock waits for it instead.
   */
  private async cancelOnce(
    c: pg.PoolClient,
    orderId: string,
  ): Promise<'cancelled' | 'already' | 'being-sent'> {
    await c.query('SELECT id FROM outbox WHERE order_id = $1 ORDER BY id FOR UPDATE', [orderId]);
    const { rows } = await c.query<OrderRow>('SELECT * FROM orders WHERE order_id = $1 FOR UPDATE', [
      orderId,
    ]);
    const order = rows[0];
    if (!order) throw new CafeError('CAFE_ERR_NOT_FOUND', `no order ${orderId}`);
    if (order.status === 'cancelled') return 'already';
    if (order.status !== 'pending') {
      throw new CafeError('CAFE_ERR_ORDER_NOT_CANCELLABLE', `order ${orderId} is ${order.status}`);
    }
    const requests = `SELECT id, sending_since, published_at FROM outbox
      WHERE order_id = $1 AND kind = 'payment-requested' AND NOT voided`;
    const { rows: seen } = await c.query<{ id: string }>(requests, [orderId]);
    // Locked, they are read as they are now (a claim committed since the line above included).
    const { rows: held } = await c.query<{ sending_since: Date | null; published_at: Date | null }>(
      `${requests} FOR UPDATE SKIP LOCKED`,
      [orderId],
    );
    if (held.length < seen.length) return 'being-sent';
    if (held.some((r) => r.sending_since !== null || r.published_at !== null)) {
      throw new CafeError(
        'CAFE_ERR_ORDER_NOT_CANCELLABLE',
        `order ${orderId} is pending and its payment was requested`,
      );
    }
    // Every request not yet started is locked by this transaction: voided, it is never sent.
    await c.query(
      `UPDATE outbox SET published_at = clock_timestamp(), voided = true
       WHERE order_id = $1 AND published_at IS NULL AND kind IN ('payment-requested', 'reservation-attach')`,
      [orderId],
    );
    await this.finish(c, order, 'cancelled', 'customer');
    await enqueue(c, orderId, 'reservation-release', { orderId });
    return 'cancelled';
  }

  /** Applies a payment result once; a repeat (or a result for a finished order) changes nothing. */
  async applyPaymentResult(result: PaymentResult): Promise<'applied' | 'duplicate' | 'unknown'> {
    const outcome = await this.tx(async (c) => {
      const { rows } = await c.query<OrderRow>('SELECT * FROM orders WHERE order_id = $1 FOR UPDATE', [
        result.orderId,
      ]);
      const order = rows[0];
      if (!order) return 'unknown' as const;
      if (order.status !== 'pending') {
        if (
          result.outcome === 'charged' &&
          (order.status === 'payment_failed' || order.status === 'cancelled')
        ) {
          // A charge for an order that will not be fulfilled: a refund is owed. Recorded once,
          // loudly, for the auditor and a human; the order's state does not move backwards.
          const { rowCount } = await c.query(
            `INSERT INTO order_history (order_id, status, reason)
             SELECT $1, $2, 'charged_after_terminal: refund needed'
             WHERE NOT EXISTS (SELECT 1 FROM order_history WHERE order_id = $1 AND reason LIKE 'charged_after_terminal%')`,
            [order.order_id, order.status],
          );
          if (rowCount)
            this.app.log.error(
              { orderId: order.order_id, status: order.status },
              'charged after terminal state',
            );
        }
        return 'duplicate' as const;
      }
      if (result.outcome === 'charged') {
        await this.setStatus(c, order.order_id, 'paid', null);
        await enqueue(c, order.order_id, 'reservation-commit', { orderId: order.order_id });
      } else {
        await this.finish(c, order, 'payment_failed', result.reason ?? 'declined');
        await enqueue(c, order.order_id, 'reservation-release', { orderId: order.order_id });
      }
      return 'applied' as const;
    });
    if (outcome === 'applied') this.onOutboxWrite();
    return outcome;
  }

  /**
   * Moves an order to a terminal state with its event and metrics. Callers hold the order's
   * row lock and add the inventory follow-up themselves.
   */
  async finish(
    c: pg.PoolClient,
    order: OrderRow,
    status: 'confirmed' | 'payment_failed' | 'cancelled',
    reason: string | null,
  ): Promise<void> {
    await this.setStatus(c, order.order_id, status, reason);
    const type: OrderEventType =
      status === 'confirmed'
        ? 'OrderConfirmed'
        : status === 'cancelled'
          ? 'OrderCancelled'
          : 'OrderPaymentFailed';
    await enqueue(c, order.order_id, 'order-event', orderEvent(type, snapshotOf(order)));
    this.app.metrics.inc('orders_terminal_total', { outcome: status });
    this.app.metrics.observe(
      'order_time_to_terminal_ms',
      { outcome: status },
      Date.now() - order.created_at.getTime(),
    );
  }

  private async answeredBefore(key: string, hash: string): Promise<Accepted | undefined> {
    const { rows } = await this.db(() =>
      this.pool.query<{ request_hash: string; response: Accepted }>(
        'SELECT request_hash, response FROM idempotency_keys WHERE key = $1',
        [key],
      ),
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new CafeError('CAFE_ERR_CONFLICT', 'this Idempotency-Key was used with another request body');
    }
    return row.response;
  }

  private refusal(err: unknown, key: string | undefined, _hash: string): unknown {
    if (!(err instanceof InventoryRefusal)) {
      this.reject('dependency');
      return err;
    }
    if (err.code === 'CAFE_ERR_OUT_OF_STOCK') {
      this.reject('out_of_stock');
      return new CafeError('CAFE_ERR_OUT_OF_STOCK', err.message);
    }
    if (err.code === 'CAFE_ERR_NOT_FOUND') {
      this.reject('validation');
      return new CafeError('CAFE_ERR_VALIDATION', `body.items: ${err.message}`);
    }
    if (err.code === 'CAFE_ERR_RATE_LIMITED') {
      // Inventory shed the reservation before writing anything: the buyer may retry.
      this.reject('busy');
      return new CafeError('CAFE_ERR_RATE_LIMITED', `stock is busy: ${err.message}`, {
        retryAfterSeconds: err.retryAfterSeconds ?? 1,
      });
    }
    if (err.code === 'CAFE_ERR_CONFLICT' && key !== undefined) {
      this.reject('validation');
      return new CafeError('CAFE_ERR_CONFLICT', 'this Idempotency-Key was used with another request body');
    }
    this.reject('dependency');
    return new CafeError('CAFE_ERR_DEPENDENCY_FAILED', `inventory refused: ${err.message}`);
  }

  private reject(reason: 'validation' | 'out_of_stock' | 'busy' | 'dependency'): void {
    this.app.metrics.inc('orders_rejected_total', { reason });
  }
}

export interface OrderSnapshot {
  orderId: string;
  customerId: string;
  items: OrderLine[];
  totalCents: number;
}

export function snapshotOf(order: OrderRow): OrderSnapshot {
  return {
    orderId: order.order_id,
    customerId: order.customer_id,
    items: order.items,
    totalCents: order.total_cents,
  };
}

/** The event id is derived from order and type, so a re-sent event deduplicates downstream. */
export function orderEvent(type: OrderEventType, order: OrderSnapshot): OrderEvent {
  return {
    type,
    eventId: `${order.orderId}:${type}`,
    orderId: order.orderId,
    customerId: order.customerId,
    occurredAt: new Date().toISOString(),
    totalCents: order.totalCents,
    currency: CURRENCY,
    items: order.items,
  };
}

export function paymentRequest(order: OrderSnapshot): PaymentRequested {
  return {
    type: 'PaymentRequested',
    orderId: order.orderId,
    customerId: order.customerId,
    amountCents: order.totalCents,
    currency: CURRENCY,
    requestedAt: new Date().toISOString(),
  };
}

const TX_ATTEMPTS = 4;
/** Tries of a cancel that meets a payment request being sent; each waits for the send first. */
const CANCEL_ATTEMPTS = 3;
const ignoreClientError = (): void => {};
/** How soon a waiting reader sees a status change made by another instance of the service. */
const STATUS_RECHECK_MS = 1000;
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);

/** A deadlock victim or serialization failure, possibly wrapped by callDependency's CafeError. */
function isRetryable(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (RETRYABLE_SQLSTATES.has((e as { code?: string }).code ?? '')) return true;
  }
  return false;
}

export async function enqueue(db: Db, orderId: string, kind: OutboxKind, payload: unknown): Promise<void> {
  await db.query('INSERT INTO outbox (order_id, kind, payload) VALUES ($1, $2, $3)', [
    orderId,
    kind,
    JSON.stringify(payload),
  ]);
}

async function history(
  db: Db,
  orderId: string,
  status: OrderStatus,
  reason: string | null = null,
): Promise<void> {
  await db.query('INSERT INTO order_history (order_id, status, reason) VALUES ($1, $2, $3)', [
    orderId,
    status,
    reason,
  ]);
}

export const isTerminal = (status: OrderStatus): boolean => TERMINAL_STATUSES.includes(status);

function mergeLines(lines: NewOrder['items']): { sku: string; quantity: number }[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([sku, quantity]) => ({ sku, quantity }));
}

function summary(row: OrderRow): OrderSummary {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    ...(row.reason !== null && { reason: row.reason }),
    items: row.items,
    totalCents: row.total_cents,
    currency: row.currency,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** pg-pool's own words when no connection came free within `connectionTimeoutMillis`. */
const POOL_TIMEOUT = 'timeout exceeded when trying to connect';

function atCapacity(why: string, cause?: unknown): CafeError {
  return new CafeError('CAFE_ERR_RATE_LIMITED', `the order service is at capacity (${why}); retry`, {
    retryAfterSeconds: 1,
    ...(cause !== undefined && { cause }),
  });
}

/**
 * Waiting too long for one of our own connections is overload of this service, not a failure of
 * PostgreSQL: a 429 the client may retry, not a 502.
 */
function busyOr(err: unknown): unknown {
  return err instanceof Error && err.message === POOL_TIMEOUT
    ? atCapacity('no database connection came free in time', err)
    : err;
}
