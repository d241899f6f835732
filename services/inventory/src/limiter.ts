import { CafeError } from '@cloudcafe/kit';

/**
 * How one call waits for its turn: new work that may be refused. If it has not started by
 * `deadline` (epoch ms) it is refused with a 429 `CAFE_ERR_RATE_LIMITED` (and `Retry-After`),
 * having done nothing. It also yields to calls without a policy (work already promised, like
 * moving an accepted order's stock). One deadline can span several lanes: a request's whole
 * queueing budget, however many waits it takes.
 */
export interface WaitPolicy {
  deadline: number;
}

/** A policy for new work that may wait `maxWaitMs` from now, in total. */
export const waitAtMost = (maxWaitMs: number): WaitPolicy => ({ deadline: Date.now() + maxWaitMs });

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * At most `limit` calls in flight; the rest wait their turn in order. DynamoDB on AWS scales
 * out, but one instance firing hundreds of concurrent requests at it (or at the single-threaded
 * local emulator) turns a burst into connection timeouts instead of a short queue.
 *
 * A queue without a bound only moves the timeout: in a flash sale at 400 buyers/s against a lane
 * that serves tens a second, a buyer would wait until the order service gave up on inventory (a
 * 504). So new work waits with a bound and is shed cleanly — at once when the queue ahead
 * already needs more than its budget, else when the bound passes — while work already promised (calls with no {@link WaitPolicy}) waits without one and goes
 * first: a sale's new buyers never starve the commits of the orders already accepted.
 */
export class Limiter {
  private active = 0;
  private readonly promised: Waiter[] = [];
  private readonly sheddable: Waiter[] = [];
  /** How long a call holds its slot, smoothed (ms): what the queue ahead of a newcomer costs. */
  private serviceMs: number | undefined;
  /** Calls refused: their deadline passed, or would have passed, before their turn. */
  shed = 0;

  constructor(
    private readonly limit: number,
    /** Named in a refusal, so a client and the log can tell which lane was full. */
    private readonly lane: string,
    /** Told the lane's depth (in flight + queued) whenever it changes: a gauge, say. */
    private readonly onDepth: (depth: number) => void = () => {},
  ) {}

  /** Calls waiting for a slot right now. */
  get queued(): number {
    return this.promised.length + this.sheddable.length;
  }

  /** How long a call has recently held its slot (ms, smoothed; 0 before the first one ends). */
  get typicalCallMs(): number {
    return this.serviceMs ?? 0;
  }

  /** Calls holding a slot or waiting for one right now. */
  get depth(): number {
    return this.active + this.queued;
  }

  /**
   * How long a call arriving now would wait for its turn, estimated from the calls ahead of it
   * and the smoothed time a call holds its slot (0 while no call has finished yet).
   */
  expectedWaitMs(): number {
    if (this.active < this.limit) return 0;
    return ((this.queued + 1) * (this.serviceMs ?? 0)) / this.limit;
  }

  /**
   * The refusal for new work at the door, when this lane's queue alone already needs more than
   * its budget (undefined when it may queue).
   */
  private refusalAtDoor(policy: WaitPolicy): CafeError | undefined {
    const expected = this.expectedWaitMs();
    if (expected <= policy.deadline - Date.now()) return undefined;
    return this.refusal(expected, `about ${Math.round(expected)} ms of queue ahead`);
  }

  async run<T>(fn: () => Promise<T>, policy?: WaitPolicy): Promise<T> {
    // A waiter is handed its slot by the call that frees it (see below), so it does not count
    // itself in: a newcomer arriving in between cannot take the slot ahead of the queue.
    if (this.active >= this.limit) await this.wait(policy);
    else this.active++;
    this.onDepth(this.depth);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      const held = performance.now() - started;
      // An exponentially weighted mean: follows a slowing dependency within a few calls.
      this.serviceMs = this.serviceMs === undefined ? held : this.serviceMs * 0.8 + held * 0.2;
      const next = this.promised.shift() ?? this.sheddable.shift();
      if (next) {
        clearTimeout(next.timer);
        next.start();
      } else this.active--;
      this.onDepth(this.depth);
    }
  }

  private refusal(waitedMs: number, why: string): CafeError {
    this.shed++;
    return new CafeError(
      'CAFE_ERR_RATE_LIMITED',
      `the ${this.lane} lane is full (${why}, ${this.queued} queued); nothing was reserved, retry later`,
      // Come back after about the time the queue ahead needs: at least a second.
      { retryAfterSeconds: Math.max(1, Math.ceil(waitedMs / 1000)) },
    );
  }

  private wait(policy: WaitPolicy | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { start: resolve, timer: undefined };
      if (!policy) {
        this.promised.push(waiter);
        this.onDepth(this.depth);
        return;
      }
      const queuedAt = Date.now();
      // Refuse at once when the queue ahead already needs more than the time left: answering
      // now costs the client nothing, answering at the deadline costs it the whole budget
      // (and in a flash sale ties up a connection per buyer for seconds).
      const refused = this.refusalAtDoor(policy);
      if (refused) {
        reject(refused);
        return;
      }
      waiter.timer = setTimeout(
        () => {
          const at = this.sheddable.indexOf(waiter);
          if (at < 0) return;
          this.sheddable.splice(at, 1);
          this.onDepth(this.depth);
          const waited = Date.now() - queuedAt;
          reject(this.refusal(waited, `waited ${waited} ms`));
        },
        Math.max(0, policy.deadline - queuedAt),
      );
      this.sheddable.push(waiter);
      this.onDepth(this.depth);
    });
  }
}
