import { CafeError } from '@cloudcafe/kit';
import type { WaitPolicy } from './limiter.js';
import { planBatch, type StockOp, type StockOutcome, type StockState } from './stock-plan.js';

/**
 * Where a lane reads and writes a SKU's unit state. The DynamoDB adapter is in stock-items.ts;
 * the lane only needs these two calls, so its batching is testable with any faithful engine.
 */
export interface StockItems {
  /** The SKU's state, read consistently; undefined when there is no such SKU. */
  read(sku: string): Promise<StockState | undefined>;
  /**
   * Replaces the state if the item is still at `expected.version`; false when it is not (another
   * writer came first). Any other failure throws, and the write may or may not have happened.
   */
  write(sku: string, expected: StockState, next: StockState): Promise<boolean>;
}

export interface StockLanesOptions {
  /** Operations one write may carry: keeps the request and the item well inside DynamoDB's limits. */
  maxOpsPerWrite?: number;
  /** How long a `short` answered from the cached state may be trusted before it is re-read (ms). */
  trustShortMs?: number;
  /** How long lazy operations (`unhold`, `forget`) may wait for a write to ride along with (ms). */
  lazyFlushMs?: number;
  /** Told the number of operations queued or in flight across all SKUs, when it changes. */
  onDepth?: (depth: number) => void;
  /** Told each lost compare-and-swap (another writer got there first). */
  onConflict?: () => void;
  /** Operations one SKU's lane may have queued before new work is refused with 429. */
  maxQueued?: number;
  /**
   * How long new work still takes once its operation is written (ms; the caller's next call,
   * say): new work whose deadline is nearer than that when a write would take it is refused
   * then rather than answered late.
   */
  workAfterMs?: () => number;
}

interface Pending {
  readonly op: StockOp;
  readonly resolve: (outcome: StockOutcome) => void;
  readonly reject: (err: unknown) => void;
  /** New work that may be refused: its deadline. */
  readonly policy?: WaitPolicy;
  timer?: NodeJS.Timeout;
}

const LAZY_KINDS: ReadonlySet<StockOp['kind']> = new Set(['unhold', 'forget']);
/** How many SKUs' lanes (and cached states) an instance keeps while they are idle. */
const MAX_IDLE_LANES = 10_000;
/** Compare-and-swap rounds one batch may lose (or one lost answer may cost) before giving up. */
const MAX_ROUNDS = 8;

/**
 * Group commit for stock: one lane per SKU, at most one write in flight per SKU. Operations that
 * arrive while a write is in flight wait for it and then go together in the next one, so a
 * thousand buyers of one SKU cost tens of writes, not a thousand: the item that every buyer of a
 * hot SKU must touch is written as often as the engine answers, never more. Each write is a
 * compare-and-swap on the item's version, so the plan computed from the state read (or last
 * written) is exact, and a write from another instance in between only costs a re-read.
 */
export class StockLanes {
  private readonly lanes = new Map<string, Lane>();
  private depth = 0;
  readonly maxOpsPerWrite: number;
  readonly trustShortMs: number;
  readonly lazyFlushMs: number;
  readonly maxQueued: number;
  readonly workAfterMs: () => number;

  constructor(
    readonly items: StockItems,
    private readonly options: StockLanesOptions = {},
  ) {
    this.maxOpsPerWrite = options.maxOpsPerWrite ?? 100;
    this.trustShortMs = options.trustShortMs ?? 250;
    this.lazyFlushMs = options.lazyFlushMs ?? 2000;
    this.maxQueued = options.maxQueued ?? 5000;
    this.workAfterMs = options.workAfterMs ?? (() => 0);
  }

  /** Queues `op` on `sku`'s lane; resolves with its outcome once written (or found unneeded). */
  submit(sku: string, op: StockOp, policy?: WaitPolicy): Promise<StockOutcome> {
    let lane = this.lanes.get(sku);
    if (!lane) {
      lane = new Lane(sku, this);
      this.lanes.set(sku, lane);
    }
    return lane.submit(op, policy);
  }

  /** Forgets what `sku`'s lane cached (after a restock, which writes around the lanes). */
  invalidate(sku: string): void {
    this.lanes.get(sku)?.invalidate();
  }

  /** @internal the lanes count their operations here so one gauge shows them all. */
  track(delta: number): void {
    this.depth += delta;
    this.options.onDepth?.(this.depth);
  }

  /** @internal */
  conflict(): void {
    this.options.onConflict?.();
  }

  /**
   * @internal An idle lane keeps its cached state (the next operation on the SKU then costs no
   * read); past {@link MAX_IDLE_LANES} idle lanes the oldest-used are forgotten.
   */
  idle(sku: string, lane: Lane): void {
    if (this.lanes.get(sku) !== lane) return;
    // Re-inserting moves the SKU to the end: the map's order is least recently idle first.
    this.lanes.delete(sku);
    this.lanes.set(sku, lane);
    if (this.lanes.size <= MAX_IDLE_LANES) return;
    for (const [other, candidate] of this.lanes) {
      if (this.lanes.size <= MAX_IDLE_LANES) break;
      if (candidate.isIdle()) this.lanes.delete(other);
    }
  }
}

class Lane {
  private readonly queue: Pending[] = [];
  private writing = false;
  private state: StockState | undefined;
  private readAt = 0;
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sku: string,
    private readonly lanes: StockLanes,
  ) {}

  invalidate(): void {
    this.state = undefined;
  }

  isIdle(): boolean {
    return !this.writing && this.queue.length === 0 && !this.lazyTimer;
  }

  submit(op: StockOp, policy?: WaitPolicy): Promise<StockOutcome> {
    return new Promise((resolve, reject) => {
      if (policy && this.queue.length >= this.lanes.maxQueued) {
        reject(overloaded(this.sku, `${this.queue.length} operations queued`));
        return;
      }
      const pending: Pending = { op, resolve, reject, ...(policy && { policy }) };
      if (policy) {
        // Refused at its deadline if no write has taken it yet: nothing was reserved.
        pending.timer = setTimeout(
          () => {
            const at = this.queue.indexOf(pending);
            if (at < 0) return;
            this.queue.splice(at, 1);
            this.lanes.track(-1);
            reject(overloaded(this.sku, 'waited past its budget'));
          },
          Math.max(0, policy.deadline - Date.now()),
        );
      }
      this.queue.push(pending);
      this.lanes.track(1);
      if (LAZY_KINDS.has(op.kind) && this.queue.every((p) => LAZY_KINDS.has(p.op.kind))) {
        // Nothing urgent queued: ride along with the next write, or go on our own shortly.
        this.lazyTimer ??= setTimeout(() => {
          this.lazyTimer = undefined;
          this.pump(true);
        }, this.lanes.lazyFlushMs);
        return;
      }
      this.pump(false);
    });
  }

  private pump(flushLazy: boolean): void {
    if (this.writing) return;
    const urgent = this.queue.some((p) => !LAZY_KINDS.has(p.op.kind));
    if (!urgent && !(flushLazy && this.queue.length > 0)) {
      if (this.isIdle()) this.lanes.idle(this.sku, this);
      return;
    }
    const batch = this.take();
    if (batch.length === 0) {
      this.pump(flushLazy);
      return;
    }
    if (this.queue.length === 0 && this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    }
    this.writing = true;
    this.apply(batch)
      .then(
        (outcomes) => {
          for (const [i, p] of batch.entries()) p.resolve(outcomes[i] as StockOutcome);
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        this.lanes.track(-batch.length);
        this.writing = false;
        this.pump(
          this.queue.length > 0 && this.queue.every((p) => LAZY_KINDS.has(p.op.kind)) && !this.lazyTimer,
        );
      });
  }

  /**
   * The next batch, in arrival order. New work that could no longer finish within its budget
   * is refused here, before it takes a unit: at this point the queue ahead of it has been
   * waited out, and the work after the write is what remains.
   */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const cutoff = Date.now() + this.lanes.workAfterMs();
    while (batch.length < this.lanes.maxOpsPerWrite && this.queue.length > 0) {
      const next = this.queue.shift() as Pending;
      clearTimeout(next.timer);
      if (next.policy && next.policy.deadline < cutoff) {
        this.lanes.track(-1);
        next.reject(overloaded(this.sku, 'not enough of its budget left'));
      } else batch.push(next);
    }
    return batch;
  }

  /** Plans and writes one batch; every round re-plans from a state known to be exact. */
  private async apply(batch: readonly Pending[]): Promise<StockOutcome[]> {
    const ops = batch.map((p) => p.op);
    let lostAnswer = false;
    for (let round = 1; ; round++) {
      const state = await this.current();
      const plan = planBatch(state, ops, Date.now());
      const outcomes = lostAnswer ? plan.outcomes.map((o, i) => ownRepeat(o, ops[i])) : plan.outcomes;
      const shortFromCache =
        outcomes.some((o) => o.kind === 'short') && Date.now() - this.readAt > this.lanes.trustShortMs;
      if (shortFromCache && round < MAX_ROUNDS) {
        // Units may have come back through another instance since we last read: look again.
        this.state = undefined;
        continue;
      }
      if (!plan.changed) return [...outcomes];
      try {
        if (await this.lanes.items.write(this.sku, state, plan.next)) {
          // What we just wrote is the item as of now: as good as a fresh read.
          this.state = plan.next;
          this.readAt = Date.now();
          return [...outcomes];
        }
        this.lanes.conflict();
        this.state = undefined;
      } catch (err) {
        // The write may have happened: read again, and recognise our own holds and moves.
        this.state = undefined;
        lostAnswer = true;
        if (round >= MAX_ROUNDS) throw err;
        await new Promise((r) => setTimeout(r, 20 * round));
        continue;
      }
      if (round >= MAX_ROUNDS) {
        throw new CafeError('CAFE_ERR_UNAVAILABLE', `stock of ${this.sku} kept changing under us; retry`);
      }
      await new Promise((r) => setTimeout(r, Math.random() * 5 * round));
    }
  }

  private async current(): Promise<StockState> {
    if (this.state) return this.state;
    const read = await this.lanes.items.read(this.sku);
    if (!read) throw new CafeError('CAFE_ERR_NOT_FOUND', `no sku ${this.sku}`);
    this.state = read;
    this.readAt = Date.now();
    return read;
  }
}

/**
 * After a lost answer, a `repeat` whose hold carries this very operation's expiry is the
 * operation's own earlier write (an expiry is the request's timestamp), not another request's.
 */
function ownRepeat(outcome: StockOutcome, op: StockOp | undefined): StockOutcome {
  if (outcome.kind !== 'repeat' || op?.kind !== 'hold') return outcome;
  return outcome.exp === op.exp ? { kind: 'granted' } : outcome;
}

function overloaded(sku: string, why: string): CafeError {
  return new CafeError(
    'CAFE_ERR_RATE_LIMITED',
    `the stock lane of ${sku} is full (${why}); nothing was reserved, retry later`,
    { retryAfterSeconds: 1 },
  );
}
