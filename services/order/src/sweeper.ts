import { SYSTEM_END_REASONS } from '@cloudcafe/contracts';
import type { ServiceApp } from '@cloudcafe/kit';
import { enqueue, type OrderRow, type Orders, paymentRequest, snapshotOf } from './orders.js';

export interface SweeperOptions {
  intervalMs: number;
  paymentResultTimeoutSeconds: number;
  maxPaymentSends: number;
}

/**
 * Makes sure no order waits forever for a payment result. A pending order whose request went
 * out more than the timeout ago is requested again (a lost message, a message in the DLQ
 * that was redriven, a payment service that was down); after the last attempt the order fails
 * with `payment_timeout` and its stock is released. Orders still waiting for the outbox are
 * not stuck: the relay retries them until their destination answers.
 */
export class StuckOrderSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly app: ServiceApp,
    private readonly orders: Orders,
    private readonly options: SweeperOptions,
    private readonly onOutboxWrite: () => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.sweepOnce()
        .then((n) => {
          if (n > 0) this.app.log.info({ orders: n }, 'stuck orders swept');
        })
        .catch((err: unknown) => this.app.log.warn({ err }, 'stuck-order sweep failed'));
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async sweepOnce(): Promise<number> {
    const swept = await this.orders.tx(async (c) => {
      const { rows } = await c.query<OrderRow & { payment_sends: number }>(
        `SELECT o.* FROM orders o
         WHERE o.status = 'pending' AND o.reservation = 'attached'
           AND o.payment_requested_at < clock_timestamp() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.order_id = o.order_id AND b.published_at IS NULL)
         ORDER BY o.payment_requested_at LIMIT 100 FOR UPDATE OF o SKIP LOCKED`,
        [this.options.paymentResultTimeoutSeconds],
      );
      for (const order of rows) {
        if (order.payment_sends < this.options.maxPaymentSends) {
          await enqueue(c, order.order_id, 'payment-requested', paymentRequest(snapshotOf(order)));
        } else {
          await this.orders.finish(c, order, 'payment_failed', SYSTEM_END_REASONS.paymentTimeout);
          await enqueue(c, order.order_id, 'reservation-release', { orderId: order.order_id });
        }
      }
      return rows.length;
    });
    if (swept > 0) this.onOutboxWrite();
    return swept;
  }
}
