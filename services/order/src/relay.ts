import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetQueueUrlCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { OrderEvent, PaymentRequested } from '@cloudcafe/contracts';
import { QUEUES, STREAMS, SYSTEM_END_REASONS } from '@cloudcafe/contracts';
import type { ServiceApp } from '@cloudcafe/kit';
import { callDependency } from '@cloudcafe/kit';
import type pg from 'pg';
import { type InventoryClient, InventoryRefusal } from './inventory-client.js';
import {
  enqueue,
  type OrderRow,
  type Orders,
  type OutboxKind,
  paymentRequest,
  snapshotOf,
} from './orders.js';

interface OutboxRow {
  id: string;
  order_id: string;
  kind: OutboxKind;
  payload: unknown;
  attempts: number;
  /** A payment request's sending mark before this claim set it (null: no attempt before). */
  marked_before?: Date | null;
}

/**
 * The outcome of delivering one row. `gone` = the other side refused for good; no retry.
 * `unsent` = the attempt surely never reached the destination (so it cannot have been acted on).
 */
type Delivery =
  | { row: OutboxRow; ok: true }
  | { row: OutboxRow; ok: false; gone: boolean; error: string; unsent?: boolean };

export interface RelayOptions {
  batchSize: number;
  idleMs: number;
  maxBackoffMs: number;
  /**
   * How long a claimed payment request is left to the relay that claimed it. Longer than one
   * send (a single attempt, 6 s at most); a relay that died mid-send is taken over after it.
   */
  sendLeaseMs: number;
}

/**
 * Delivers the outbox. Rows are claimed with `FOR UPDATE SKIP LOCKED` inside a transaction that
 * lasts while they are sent, so two relays (two instances) never send the same row at once, and
 * a relay that dies mid-batch leaves its rows unpublished for the next one (at-least-once:
 * SQS FIFO deduplicates on orderId, events carry a stable eventId, inventory calls are
 * idempotent by order). A failed row waits with exponential backoff; nothing is dropped.
 * A row's follow-ups (the payment request after the reservation is attached, the confirmation
 * after stock is committed) are written in the same transaction that marks it delivered.
 *
 * Payment requests differ in one step: a committed mark (`sending_since`) precedes every send,
 * because a sent request is acted on even when the transaction that sent it rolls back, and a
 * cancel must know that it may have been (docs/adr/0016-payment-request-sending-mark.md).
 */
export class OutboxRelay {
  private readonly stopping = new AbortController();
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();
  private queueUrl: string | undefined;
  private lastGaugeAt = 0;

  constructor(
    private readonly app: ServiceApp,
    private readonly pool: pg.Pool,
    private readonly orders: Orders,
    private readonly inventory: InventoryClient,
    /** Sends payment requests; one attempt per send, so a failure says what happened to it. */
    private readonly sqs: SQSClient,
    private readonly options: RelayOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** New rows were committed: look now instead of at the next idle tick. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    // An empty round costs PostgreSQL a transaction; while nothing comes, look ever less often
    // (up to 8 × idleMs). A row this instance writes wakes the relay at once; a row another
    // instance wrote waits at most the longest pause.
    let idle = this.options.idleMs;
    while (!this.stopping.signal.aborted) {
      let delivered = 0;
      try {
        delivered = await this.relayOnce();
        await this.updateGauge();
      } catch (err) {
        this.app.log.warn({ err }, 'outbox relay round failed; retrying');
      }
      if (delivered > 0 || this.stopping.signal.aborted) {
        idle = this.options.idleMs;
        continue;
      }
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), idle);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.wakeUp = undefined;
      idle = woken ? this.options.idleMs : Math.min(idle * 2, this.options.idleMs * 8);
    }
  }

  /** One round: payment requests and the other rows, side by side. Returns how many were claimed. */
  async relayOnce(): Promise<number> {
    const [payments, others] = await Promise.all([this.relayPayments(), this.relayOthers()]);
    return payments + others;
  }

  /** Events and inventory calls: claim, deliver, record, in one transaction. */
  private async relayOthers(): Promise<number> {
    return this.orders.tx(async (c) => {
      const { rows } = await c.query<OutboxRow>(
        `SELECT id, order_id, kind, payload, attempts FROM outbox
         WHERE published_at IS NULL AND next_attempt_at <= clock_timestamp() AND kind <> 'payment-requested'
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.options.batchSize],
      );
      if (rows.length === 0) return 0;
      // The two destinations are independent: send to both at once.
      const [events, calls] = await Promise.all([
        this.sendEvents(rows.filter((r) => r.kind === 'order-event')),
        this.callInventory(rows.filter((r) => r.kind.startsWith('reservation-'))),
      ]);
      await this.recordPublished(
        c,
        events.flatMap((d) => (d.ok ? [d.row] : [])),
      );
      for (const d of [...events.filter((d) => !d.ok), ...calls]) await this.record(c, d);
      return rows.length;
    });
  }

  /**
   * Payment requests. 1: claim them and commit the sending mark, with the rows leased to this
   * relay for `sendLeaseMs` (`next_attempt_at`), so from now on a cancel refuses. 2: lock them
   * and send, holding the lock so that a cancel arriving now waits for the outcome. 3: in that
   * transaction, record it: published; or failed, when the attempt surely never reached SQS
   * with the mark put back as it was (the order may still be cancelled); otherwise failed with
   * the mark kept. A relay that dies after 1 leaves marked rows that the next relay sends again
   * once the lease is over (SQS deduplicates on the order id, the ledger charges once).
   */
  private async relayPayments(): Promise<number> {
    const claimed = await this.orders.tx(async (c) => {
      const { rows } = await c.query<OutboxRow>(
        `UPDATE outbox o SET sending_since = coalesce(o.sending_since, clock_timestamp()),
           next_attempt_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
         FROM (SELECT id, sending_since FROM outbox
               WHERE published_at IS NULL AND next_attempt_at <= clock_timestamp() AND kind = 'payment-requested'
               ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
         WHERE o.id = due.id
         RETURNING o.id, o.order_id, o.kind, o.payload, o.attempts, due.sending_since AS marked_before`,
        [this.options.batchSize, this.options.sendLeaseMs],
      );
      return rows;
    });
    if (claimed.length === 0) return 0;
    // Run again from the start if PostgreSQL picks it as a deadlock victim: a second send of
    // the same requests is harmless (deduplicated), a lost record of the first is not.
    await this.orders.tx(async (c) => {
      await c.query('SELECT id FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [
        claimed.map((r) => r.id),
      ]);
      const sent = await this.sendPayments(claimed);
      await this.recordPublished(
        c,
        sent.flatMap((d) => (d.ok ? [d.row] : [])),
      );
      for (const d of sent.filter((d) => !d.ok)) await this.record(c, d);
    });
    return claimed.length;
  }

  /**
   * Rows sent to SQS or Kinesis, marked in two statements whatever their number (a row at a
   * time cost the relay's transaction two round trips per order), with the payment request's
   * follow-up: when it was sent, and how often.
   */
  private async recordPublished(c: pg.PoolClient, rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    await c.query(
      'UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])',
      [rows.map((r) => r.id)],
    );
    const payments = rows.filter((r) => r.kind === 'payment-requested');
    if (payments.length > 0) {
      await c.query(
        `UPDATE orders o SET payment_requested_at = clock_timestamp(), payment_sends = o.payment_sends + sent.n
         FROM (SELECT order_id, count(*)::int AS n FROM unnest($1::text[]) AS order_id GROUP BY order_id) AS sent
         WHERE o.order_id = sent.order_id`,
        [payments.map((r) => r.order_id)],
      );
      this.app.metrics.inc('outbox_published_total', { destination: 'sqs' }, payments.length);
    }
    const events = rows.length - payments.length;
    if (events > 0) this.app.metrics.inc('outbox_published_total', { destination: 'kinesis' }, events);
  }

  private async record(c: pg.PoolClient, d: Delivery): Promise<void> {
    const { row } = d;
    if (!d.ok && !d.gone) {
      const backoff = Math.min(this.options.maxBackoffMs, 200 * 2 ** Math.min(row.attempts, 16));
      const jittered = Math.round(backoff / 2 + Math.random() * (backoff / 2));
      // Only an attempt that surely never reached the destination undoes its sending mark.
      const restoreMark = d.unsent === true && row.marked_before !== undefined;
      await c.query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
           next_attempt_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000),
           sending_since = CASE WHEN $4 THEN $5::timestamptz ELSE sending_since END
         WHERE id = $1`,
        [row.id, d.error.slice(0, 500), jittered, restoreMark, row.marked_before ?? null],
      );
      return;
    }
    await c.query(
      'UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1, last_error = $2 WHERE id = $1',
      [row.id, d.ok ? null : d.error.slice(0, 500)],
    );
    await this.followUp(c, row, d.ok);
  }

  /**
   * What an inventory row delivered (or refused for good) leads to, in the same transaction.
   * SQS and Kinesis rows are never refused for good, and their follow-up is
   * {@link recordPublished}'s.
   */
  private async followUp(c: pg.PoolClient, row: OutboxRow, ok: boolean): Promise<void> {
    const { rows } = await c.query<OrderRow>('SELECT * FROM orders WHERE order_id = $1 FOR UPDATE', [
      row.order_id,
    ]);
    const order = rows[0];
    if (!order) return;
    if (row.kind === 'reservation-attach') {
      if (ok) {
        await c.query("UPDATE orders SET reservation = 'attached' WHERE order_id = $1", [order.order_id]);
        if (order.status === 'pending') {
          await enqueue(c, order.order_id, 'payment-requested', paymentRequest(snapshotOf(order)));
        }
      } else if (order.status === 'pending') {
        // Refused for good: inventory re-attaches a hold that lapsed while it was unreachable
        // as long as the units are still there (ADR 0017), so they were sold to others since.
        // The order cannot be fulfilled; nothing was charged yet.
        await this.orders.finish(c, order, 'cancelled', SYSTEM_END_REASONS.reservationExpired);
      }
    } else if (row.kind === 'reservation-commit') {
      if (order.status !== 'paid') return;
      if (ok) {
        await c.query("UPDATE orders SET reservation = 'committed' WHERE order_id = $1", [order.order_id]);
        await this.orders.finish(c, order, 'confirmed', null);
      } else {
        this.app.log.error({ orderId: order.order_id }, 'charged but its stock is gone: refund needed');
        await this.orders.finish(c, order, 'payment_failed', SYSTEM_END_REASONS.reservationLost);
      }
    } else if (row.kind === 'reservation-release' && ok) {
      await c.query("UPDATE orders SET reservation = 'released' WHERE order_id = $1", [order.order_id]);
    }
  }

  private async sendPayments(rows: OutboxRow[]): Promise<Delivery[]> {
    let queueUrl: string;
    try {
      queueUrl = await this.paymentQueueUrl();
    } catch (err) {
      return rows.map((row) => ({ row, ok: false, gone: false, error: describe(err), unsent: true }));
    }
    const out: Delivery[] = [];
    for (let i = 0; i < rows.length; i += 10) {
      const chunk = rows.slice(i, i + 10);
      try {
        const res = await callDependency(this.app, 'sqs', () =>
          this.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: chunk.map((r) => {
                const message = r.payload as PaymentRequested;
                return {
                  Id: r.id,
                  MessageBody: JSON.stringify(message),
                  MessageGroupId: message.customerId,
                  MessageDeduplicationId: message.orderId,
                };
              }),
            }),
          ),
        );
        // An entry SQS lists as failed was not enqueued.
        const failed = new Map((res.Failed ?? []).map((f) => [f.Id, f.Message ?? f.Code ?? 'failed']));
        for (const row of chunk) {
          const error = failed.get(row.id);
          out.push(
            error === undefined ? { row, ok: true } : { row, ok: false, gone: false, error, unsent: true },
          );
        }
      } catch (err) {
        const unsent = neverConnected(err);
        for (const row of chunk) out.push({ row, ok: false, gone: false, error: describe(err), unsent });
      }
    }
    return out;
  }

  private async sendEvents(rows: OutboxRow[]): Promise<Delivery[]> {
    if (rows.length === 0) return [];
    try {
      const res = await callDependency(this.app, 'kinesis', () =>
        this.app.aws.kinesis.send(
          new PutRecordsCommand({
            StreamName: STREAMS.orderEvents,
            Records: rows.map((r) => {
              const event = r.payload as OrderEvent;
              return { Data: Buffer.from(JSON.stringify(event)), PartitionKey: event.customerId };
            }),
          }),
        ),
      );
      return rows.map((row, i): Delivery => {
        const error = res.Records?.[i]?.ErrorCode;
        return error ? { row, ok: false, gone: false, error } : { row, ok: true };
      });
    } catch (err) {
      return rows.map((row) => ({ row, ok: false, gone: false, error: describe(err) }));
    }
  }

  private async callInventory(rows: OutboxRow[]): Promise<Delivery[]> {
    const action = (kind: OutboxKind) =>
      kind === 'reservation-attach' ? 'attach' : kind === 'reservation-commit' ? 'commit' : 'release';
    return Promise.all(
      rows.map(async (row): Promise<Delivery> => {
        try {
          await this.inventory.transition(row.order_id, action(row.kind));
          return { row, ok: true };
        } catch (err) {
          // 404/409: the reservation is gone or moved on for good; retrying cannot change that.
          const gone = err instanceof InventoryRefusal && (err.status === 404 || err.status === 409);
          return { row, ok: false, gone, error: describe(err) };
        }
      }),
    );
  }

  private async paymentQueueUrl(): Promise<string> {
    if (!this.queueUrl) {
      const { QueueUrl } = await callDependency(this.app, 'sqs', () =>
        this.sqs.send(new GetQueueUrlCommand({ QueueName: QUEUES.paymentRequests })),
      );
      if (!QueueUrl) throw new Error(`no queue ${QUEUES.paymentRequests}`);
      this.queueUrl = QueueUrl;
    }
    return this.queueUrl;
  }

  private async updateGauge(): Promise<void> {
    if (Date.now() - this.lastGaugeAt < 1000) return;
    this.lastGaugeAt = Date.now();
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL',
    );
    this.app.metrics.set('outbox_pending', Number(rows[0]?.n ?? 0));
  }
}

/**
 * Whether the error proves the request never left this process: the connection was refused
 * (no byte reached SQS). A timeout, a reset or a 5xx may follow a request SQS acted on.
 */
function neverConnected(err: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [err];
  while (pending.length > 0) {
    const e = pending.pop();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
    pending.push(e.cause);
    // Node reports a refused connection to each address of a name as one AggregateError.
    if (e instanceof AggregateError) pending.push(...e.errors);
  }
  return false;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
