import type { OrderStatus } from './model.js';

/**
 * Long-poll support for `GET /api/orders/:id?waitSeconds=N`: a reader parks until its order's
 * status moves on, instead of asking again and again. A client following an order to its end
 * (the k6 checkout journey, a till) then costs one or two requests per order instead of one
 * every few hundred milliseconds through the gateway, the service and PostgreSQL.
 *
 * Two ways a waiter is woken:
 * - at once, by {@link notify}, which the order service calls after every transaction of its
 *   own that changed a status has committed;
 * - within `recheckMs`, by one query for the statuses of every parked order, for changes made
 *   by another instance of the service (ECS runs several). The query runs only while someone
 *   waits, and covers every waiter in one round trip.
 *
 * Bounded: at most `maxWaiters` park at once (one more answers at once, as a plain read would),
 * and each waits at most its own timeout. Closing the watch releases every waiter, so a
 * shutdown is never held by a long poll.
 */
export interface StatusWatchOptions {
  /** The current status of each id that still exists; one round trip for all. */
  readonly statuses: (orderIds: readonly string[]) => Promise<ReadonlyMap<string, OrderStatus>>;
  readonly recheckMs: number;
  readonly maxWaiters: number;
}

interface Waiter {
  readonly orderId: string;
  readonly seen: OrderStatus;
  readonly wake: () => void;
}

export class StatusWatch {
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  /** A recheck slower than the interval is not started again on top of itself. */
  private rechecking = false;
  private closed = false;

  constructor(private readonly options: StatusWatchOptions) {}

  get parked(): number {
    return this.waiters.size;
  }

  /**
   * Resolves when `orderId` is seen with a status other than `seen`, after `timeoutMs`, when
   * `signal` aborts (the client went away) or the watch closes; at once when it is full.
   * Never rejects: the caller reads the order afterwards either way.
   */
  wait(orderId: string, seen: OrderStatus, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted || this.waiters.size >= this.options.maxWaiters) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(waiter);
        if (this.waiters.size === 0) this.stopRechecks();
        resolve();
      };
      const waiter: Waiter = { orderId, seen, wake: done };
      const timeout = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
      this.startRechecks();
    });
  }

  /** Wakes the waiters of these orders: their status changed in a transaction that committed. */
  notify(orderIds: Iterable<string>): void {
    const changed = new Set(orderIds);
    if (changed.size === 0) return;
    for (const waiter of [...this.waiters]) if (changed.has(waiter.orderId)) waiter.wake();
  }

  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.wake();
    this.stopRechecks();
  }

  private startRechecks(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.recheck(), this.options.recheckMs);
    this.timer.unref();
  }

  private stopRechecks(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One query for every parked order; a waiter whose order moved on (or vanished) is woken. */
  private async recheck(): Promise<void> {
    const waiting = [...this.waiters];
    if (waiting.length === 0 || this.rechecking) return;
    this.rechecking = true;
    let now: ReadonlyMap<string, OrderStatus>;
    try {
      now = await this.options.statuses([...new Set(waiting.map((w) => w.orderId))]);
    } catch {
      return; // the database is unreachable: waiters wait on, bounded by their own timeouts
    } finally {
      this.rechecking = false;
    }
    for (const waiter of waiting) if (now.get(waiter.orderId) !== waiter.seen) waiter.wake();
  }
}
