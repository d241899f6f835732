import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { InventoryItem, Reservation, ReservationItemRequest } from '@cloudcafe/contracts';
import { TABLES } from '@cloudcafe/contracts';
import { CafeError, callDependency, type ServiceApp } from '@cloudcafe/kit';
import type { SeedItem } from './catalogue.js';
import { Limiter, type WaitPolicy, waitAtMost } from './limiter.js';
import { dynamoStockItems, toState } from './stock-items.js';
import { StockLanes } from './stock-lane.js';
import { expiredHolds, type StockOp, type StockOutcome, staleMoves } from './stock-plan.js';

/** A reservation as stored: the API view plus what the saga's steps need to be repeatable. */
export interface StoredReservation {
  orderId: string;
  status: Reservation['status'];
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  createdAt: string;
  /** While held: when the hold ends (epoch ms). */
  expiresAtMs?: number;
  reason?: string;
  /** A move of the units under way (claimed by one caller), and since when (epoch ms). */
  moving?: 'committed' | 'released';
  movingSince?: number;
  /** When a reservation released at its hold's expiry was attached after all (epoch ms). */
  reattachedAtMs?: number;
  /** When it became committed or released (epoch ms), and the DynamoDB TTL (epoch s). */
  finishedAtMs?: number;
  ttl?: number;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

type Line = { sku: string; quantity: number };

/** The reason a held reservation is released with when its hold ran out. */
const LAPSED = 'expired';

/** How long a caller waits for another request's reserve or move of the same order to finish. */
const WAIT_FOR_OTHER_MS = 3000;

export interface InventoryStoreOptions {
  /** How long a reservation whose order never attached holds its stock. */
  holdSeconds: number;
  /** Told which SKUs the sweeper moved, so cached reads drop them. */
  onStockChange?: (skus: string[]) => Promise<void>;
  /** DynamoDB calls in flight (default 48). */
  maxInFlight?: number;
  /** How long finished reservations are kept (default 15 min). */
  retentionMs?: number;
  /** How long unit prices are cached (default 30 s). */
  priceTtlMs?: number;
  /** How long a new reservation may queue, in all, before it is refused with a 429 (default 8 s). */
  reservationMaxWaitMs?: number;
  /** Operations one stock write may carry (default 100). */
  maxOpsPerWrite?: number;
  /**
   * A move claimed this long ago and not finished belongs to a caller that died, and is taken
   * over (default 30 s: far longer than any request, so a live caller is never overtaken).
   */
  takeoverMs?: number;
  /** How often the reservations table itself is swept: stuck moves, retention (default 60 s). */
  recordSweepMs?: number;
}

/**
 * Stock and reservations in DynamoDB, without transactions. A SKU's units (available, reserved,
 * sold) and the per-order markers that make each move of them happen once (holds, moves) live
 * in the SKU item and change only through its lane: group commit with a compare-and-swap on the
 * item's version (stock-lane.ts, stock-plan.ts). The reservation record, one item per order,
 * says which step the order is at; a step is claimed on the record (one winner), applied on the
 * SKU items, then recorded. Every step can be repeated and every crash in between is finished
 * by a retry or by the sweeper. docs/adr/0011-coalesced-stock-writes.md.
 */
export class InventoryStore {
  private readonly limiter: Limiter;
  readonly lanes: StockLanes;
  /** Unit prices by SKU, kept briefly: a reservation then costs no read. */
  private readonly priceCache = new Map<string, { price: number; until: number }>();
  private readonly holdMs: number;
  private readonly retentionMs: number;
  private readonly priceTtlMs: number;
  private readonly onStockChange: (skus: string[]) => Promise<void>;
  private readonly reservationMaxWaitMs: number;
  private readonly takeoverMs: number;
  private readonly recordSweepMs: number;
  private lastRecordSweep = 0;

  constructor(
    private readonly app: ServiceApp,
    options: InventoryStoreOptions,
  ) {
    this.holdMs = options.holdSeconds * 1000;
    this.retentionMs = options.retentionMs ?? 15 * 60_000;
    this.priceTtlMs = options.priceTtlMs ?? 30_000;
    this.onStockChange = options.onStockChange ?? (async () => {});
    this.reservationMaxWaitMs = options.reservationMaxWaitMs ?? 8000;
    this.takeoverMs = options.takeoverMs ?? 30_000;
    this.recordSweepMs = options.recordSweepMs ?? 60_000;
    const gauge = (lane: string) => (depth: number) =>
      app.metrics.set('inventory_lane_depth', { lane }, depth);
    this.limiter = new Limiter(options.maxInFlight ?? 48, 'dynamodb', gauge('dynamodb'));
    this.lanes = new StockLanes(
      dynamoStockItems(
        (command) => this.db.send(command as GetCommand) as Promise<{ Item?: Record<string, unknown> }>,
        (fn) => this.call(fn),
      ),
      {
        ...(options.maxOpsPerWrite !== undefined && { maxOpsPerWrite: options.maxOpsPerWrite }),
        onDepth: gauge('stock write'),
        // A hold taken late still needs its record written: one more call, behind the calls
        // already waiting for DynamoDB.
        workAfterMs: () => this.limiter.expectedWaitMs() + this.limiter.typicalCallMs,
        onConflict: () => app.metrics.inc('stock_conflicts_total'),
      },
    );
  }

  private get db() {
    return this.app.aws.documentClient;
  }

  private call<T>(fn: () => Promise<T>, policy?: WaitPolicy): Promise<T> {
    return this.limiter.run(() => callDependency(this.app, 'dynamodb', fn), policy);
  }

  /** Writes the catalogue items that do not exist yet; existing stock is never reset. */
  async seed(items: readonly SeedItem[]): Promise<number> {
    let created = 0;
    for (const item of items) {
      try {
        await this.call(() =>
          this.db.send(
            new PutCommand({
              TableName: TABLES.inventory,
              Item: {
                sku: item.sku,
                name: item.name,
                category: item.category,
                price: item.price,
                available: item.stock,
                reserved: 0,
                sold: 0,
                version: 0,
                holds: {},
                moves: {},
              },
              ConditionExpression: 'attribute_not_exists(sku)',
            }),
          ),
        );
        created++;
      } catch (err) {
        if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
      }
    }
    return created;
  }

  async get(sku: string): Promise<InventoryItem | undefined> {
    const { Item } = await this.call(() =>
      this.db.send(new GetCommand({ TableName: TABLES.inventory, Key: { sku } })),
    );
    return Item ? toItem(Item) : undefined;
  }

  async list(limit: number, cursor?: string): Promise<Page<InventoryItem>> {
    const startKey = cursor === undefined ? undefined : decodeCursor(cursor);
    const out = await this.call(() =>
      this.db.send(
        new ScanCommand({
          TableName: TABLES.inventory,
          Limit: limit,
          ProjectionExpression: 'sku, #n, category, price, available, reserved, sold',
          ExpressionAttributeNames: { '#n': 'name' },
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      ),
    );
    const items = (out.Items ?? []).map(toItem).sort((a, b) => a.sku.localeCompare(b.sku));
    return {
      items,
      ...(out.LastEvaluatedKey && { nextCursor: encodeCursor(out.LastEvaluatedKey) }),
    };
  }

  /** Creates the SKU with no stock, or renames / reprices it; stock is only moved by restock. */
  async upsert(sku: string, name: string, category: string, price: number): Promise<InventoryItem> {
    this.priceCache.delete(sku);
    const { Attributes } = await this.call(() =>
      this.db.send(
        new UpdateCommand({
          TableName: TABLES.inventory,
          Key: { sku },
          UpdateExpression:
            'SET #n = :n, category = :c, price = :p, available = if_not_exists(available, :z), reserved = if_not_exists(reserved, :z), sold = if_not_exists(sold, :z), version = if_not_exists(version, :z), holds = if_not_exists(holds, :e), moves = if_not_exists(moves, :e)',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: { ':n': name, ':c': category, ':p': price, ':z': 0, ':e': {} },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return toItem(Attributes ?? {});
  }

  /** Adds units. It bumps the version, so a lane that cached the item re-reads it. */
  async restock(sku: string, quantity: number): Promise<InventoryItem> {
    try {
      const { Attributes } = await this.call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: TABLES.inventory,
            Key: { sku },
            UpdateExpression: 'SET available = available + :q, version = if_not_exists(version, :z) + :one',
            ConditionExpression: 'attribute_exists(sku)',
            ExpressionAttributeValues: { ':q': quantity, ':z': 0, ':one': 1 },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      this.lanes.invalidate(sku);
      return toItem(Attributes ?? {});
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') {
        throw new CafeError('CAFE_ERR_NOT_FOUND', `no sku ${sku}`);
      }
      throw err;
    }
  }

  async reservation(orderId: string): Promise<StoredReservation | undefined> {
    const { Item } = await this.call(() =>
      this.db.send(
        new GetCommand({ TableName: TABLES.reservations, Key: { orderId }, ConsistentRead: true }),
      ),
    );
    return Item as StoredReservation | undefined;
  }

  /**
   * Reserves every item or none. Idempotent by order: the same order and items answer the
   * existing reservation (`created: false`); other items for the same order are a conflict.
   *
   * Each line takes a hold in its SKU's lane (first come, first served); then the record is
   * written, which is the reservation's commit point. A line short of units gives the others
   * back and answers 409; a hold whose record never gets written is given back by the sweeper
   * when it expires.
   */
  async reserve(
    orderId: string,
    requested: readonly ReservationItemRequest[],
  ): Promise<{ reservation: StoredReservation; created: boolean }> {
    const wanted = mergeLines(requested);
    // One budget for the whole request: past it the buyer gets a clean 429 with nothing
    // reserved, well before the order service would give up on us with a 504.
    const admission = waitAtMost(this.reservationMaxWaitMs);
    const prices = await this.prices(wanted.map((l) => l.sku));
    const now = Date.now();
    const exp = now + this.holdMs;
    const outcomes = await Promise.allSettled(
      wanted.map((l) => this.lanes.submit(l.sku, { kind: 'hold', orderId, q: l.quantity, exp }, admission)),
    );
    const granted = wanted.filter((_, i) => settledKind(outcomes[i]) === 'granted');
    // Only what this request took is given back on failure; a hold it adopted (below) is its
    // earlier attempt's, and the sweeper returns it if nobody writes its record.
    const giveBack = () => this.returnHolds(orderId, granted);
    // An overloaded buyer is answered at once; its units go back in the lanes' own time (a
    // return is promised work, and a lost one is the sweeper's at the hold's expiry).
    const giveBackLater = () => {
      giveBack().catch((err: unknown) => this.app.log.warn({ err, orderId }, 'holds left to the sweeper'));
    };

    const failure = outcomes.find((o) => o.status === 'rejected');
    if (failure) {
      const err = (failure as PromiseRejectedResult).reason;
      if (isRateLimited(err)) {
        giveBackLater();
        this.app.metrics.inc('inventory_reservations_total', { outcome: 'shed' });
      } else await giveBack();
      throw err;
    }
    const values = outcomes.map((o) => (o as PromiseFulfilledResult<StockOutcome>).value);
    const shortAt = values.findIndex((o) => o.kind === 'short');
    if (shortAt >= 0) {
      await giveBack();
      const short = values[shortAt];
      throw this.outOfStock(wanted[shortAt] as Line, short?.kind === 'short' ? short.available : 0);
    }
    // A line already held for this order: an earlier attempt of this same request (its answer
    // lost, or its instance dead) or another request for the order. The same units are the
    // same reservation: adopt the hold and write the record, whoever gets there first wins.
    const foreign = values.findIndex((o, i) => o.kind === 'repeat' && o.q !== wanted[i]?.quantity);
    if (foreign >= 0) {
      await giveBack();
      const existing = await this.reservation(orderId);
      if (existing) return { reservation: sameOrConflict(existing, wanted), created: false };
      throw new CafeError('CAFE_ERR_CONFLICT', `order ${orderId} already reserved other items`);
    }
    const holdsEnd = Math.min(exp, ...values.map((o) => (o.kind === 'repeat' ? o.exp : exp)));
    // The record must land well before a hold can expire, or the sweeper could give the units
    // back under a record that says held. Half the hold is far more than any request takes.
    if (Date.now() > holdsEnd - this.holdMs / 2) {
      await giveBack();
      throw new CafeError('CAFE_ERR_UNAVAILABLE', `reserving order ${orderId} took too long; retry`);
    }
    const reservation: StoredReservation = {
      orderId,
      status: 'held',
      items: wanted.map((l) => ({ ...l, unitPriceCents: prices.get(l.sku) ?? 0 })),
      createdAt: new Date(now).toISOString(),
      expiresAtMs: holdsEnd,
    };
    let existing: StoredReservation | undefined;
    try {
      // New work like the holds: past the budget the buyer hears 429, not a late answer.
      existing = await this.putRecord(reservation, admission);
    } catch (err) {
      if (!isRateLimited(err)) throw err;
      // Never sent, so the holds belong to nobody: give them back now, not at their expiry.
      giveBackLater();
      this.app.metrics.inc('inventory_reservations_total', { outcome: 'shed' });
      throw err;
    }
    if (existing) {
      // Another request for this order wrote the record first. A hold is keyed by order, so
      // while that record is held the holds are its own, whichever request took them; once it
      // has moved on (attached, finished, or expired) a hold this request took is extra.
      const stillHeld = existing.status === 'held' && (existing.expiresAtMs ?? 0) > Date.now();
      if (!stillHeld) await giveBack();
      return { reservation: sameOrConflict(existing, wanted), created: false };
    }
    this.app.metrics.inc('inventory_reservations_total', { outcome: 'reserved' });
    return { reservation, created: true };
  }

  /**
   * The order committed: the hold no longer expires. An order can only attach after its 202,
   * so a hold that lapsed first (inventory unreachable for longer than the hold) belongs to an
   * order that must still be served: it attaches all the same while its units are still there
   * (held past expiry, or given back by the sweeper and still on the shelf). Only a lapsed
   * order whose units were sold to others meanwhile is refused (409), never by oversell.
   * docs/adr/0017-lapsed-holds-reattach.md.
   */
  async attach(orderId: string): Promise<StoredReservation> {
    let attached: StoredReservation;
    try {
      // No read first: the condition is the check, and the answer carries the record. Past its
      // expiry a held record still attaches unless the sweeper has claimed its release (moving).
      const { Attributes } = await this.call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: TABLES.reservations,
            Key: { orderId },
            UpdateExpression: 'SET #s = :attached REMOVE expiresAtMs',
            ConditionExpression: '#s = :held AND attribute_not_exists(moving)',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':attached': 'attached', ':held': 'held' },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      attached = Attributes as StoredReservation;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const now = await this.mustGet(orderId);
      if (now.status === 'attached' || now.status === 'committed') return now;
      if (now.status === 'released' && now.reason === LAPSED) return this.reattach(now);
      if (now.status === 'held' && now.moving === 'released') {
        // The sweeper is giving the lapsed hold back right now: once it has, this attaches.
        throw new CafeError(
          'CAFE_ERR_UNAVAILABLE',
          `reservation for order ${orderId} is being released; retry`,
        );
      }
      throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} is ${describe(now)}`, {
        cause: err,
      });
    }
    // The holds have done their job; dropping them rides along with the next stock write.
    for (const line of attached.items) this.lazily(line.sku, { kind: 'unhold', orderId });
    return attached;
  }

  /**
   * Attaches a reservation the sweeper released at its expiry: the same lines take fresh holds
   * (never below zero, like any buyer's), then the record goes from released to attached in one
   * conditional write, which one caller wins. Holds taken by a caller that then finds a line
   * short, or that dies, have a released record: the sweeper returns them as orphans at their
   * expiry, so no concurrent caller is left with an attached record whose units were given back.
   */
  private async reattach(lapsed: StoredReservation): Promise<StoredReservation> {
    const { orderId } = lapsed;
    const exp = Date.now() + this.holdMs;
    const outcomes = await Promise.all(
      lapsed.items.map((l) => this.lanes.submit(l.sku, { kind: 'hold', orderId, q: l.quantity, exp })),
    );
    const shortAt = outcomes.findIndex((o) => o.kind === 'short');
    if (shortAt >= 0) {
      const line = lapsed.items[shortAt] as Line;
      const short = outcomes[shortAt];
      this.app.metrics.inc('inventory_reservations_total', { outcome: 'insufficient' });
      throw new CafeError(
        'CAFE_ERR_CONFLICT',
        `reservation for order ${orderId} lapsed and ${line.sku} is short now (needs ${line.quantity}, available ${short?.kind === 'short' ? short.available : 0})`,
      );
    }
    let attached: StoredReservation;
    try {
      const { Attributes } = await this.call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: TABLES.reservations,
            Key: { orderId },
            UpdateExpression: 'SET #s = :attached, reattachedAtMs = :now REMOVE reason, finishedAtMs, #ttl',
            ConditionExpression: '#s = :released AND reason = :lapsed AND attribute_not_exists(moving)',
            ExpressionAttributeNames: { '#s': 'status', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':attached': 'attached',
              ':released': 'released',
              ':lapsed': LAPSED,
              ':now': Date.now(),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      attached = Attributes as StoredReservation;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Another caller re-attached it first: the holds taken here are that reservation's own
      // (keyed by order), and its unhold drops them.
      const now = await this.mustGet(orderId);
      if (now.status === 'attached' || now.status === 'committed') return now;
      throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} is ${describe(now)}`, {
        cause: err,
      });
    }
    this.app.metrics.inc('inventory_reservations_total', { outcome: 'reattached' });
    for (const line of attached.items) this.lazily(line.sku, { kind: 'unhold', orderId });
    return attached;
  }

  /** Paid: reserved stock becomes sold. */
  async commit(orderId: string): Promise<StoredReservation> {
    return this.move(orderId, 'committed');
  }

  /** Stock goes back to available. `onlyExpired` is the sweeper's guard against racing an attach. */
  async release(orderId: string, reason: string, onlyExpired = false): Promise<StoredReservation> {
    return this.move(orderId, 'released', reason, onlyExpired);
  }

  /**
   * Gives back what orders left behind: holds past their expiry (orders that never attached,
   * or whose reserve died before its record), moves whose record update died with its
   * instance, and, less often, stuck records and finished ones past the retention.
   */
  async sweepExpired(): Promise<number> {
    const now = Date.now();
    const found: { sku: string; orderId: string; what: 'hold' | 'move' }[] = [];
    await this.scanAll({ TableName: TABLES.inventory, ProjectionExpression: 'sku, holds, moves' }, (row) => {
      const state = toState(row);
      const sku = String(row.sku);
      for (const orderId of expiredHolds(state, now)) found.push({ sku, orderId, what: 'hold' });
      for (const orderId of staleMoves(state, now - this.takeoverMs))
        found.push({ sku, orderId, what: 'move' });
    });
    const records = await this.records([...new Set(found.map((f) => f.orderId))]);
    let released = 0;
    const moved = new Set<string>();
    for (const { sku, orderId, what } of found) {
      const record = records.get(orderId);
      try {
        if (!record || record.status === 'committed' || record.status === 'released') {
          // A hold with no record (or a later duplicate's) is an orphan; a move marker of a
          // finished record only lost its cleanup.
          const op = what === 'hold' ? 'return-hold' : 'forget';
          if (
            (await this.lanes.submit(sku, { kind: op, orderId })).kind === 'applied' &&
            op === 'return-hold'
          ) {
            released++;
            await this.onStockChange([sku]);
          }
        } else if (record.moving) {
          if (!moved.has(orderId)) await this.move(orderId, record.moving, record.reason);
          moved.add(orderId);
        } else if (record.status === 'held' && what === 'hold') {
          if (!moved.has(orderId)) {
            const freed = await this.release(orderId, LAPSED, true);
            await this.onStockChange(freed.items.map((l) => l.sku));
            released++;
          }
          moved.add(orderId);
        } else if (record.status === 'attached' && what === 'hold') {
          await this.lanes.submit(sku, { kind: 'unhold', orderId });
        }
      } catch (err) {
        // Moved by someone else since the scan: nothing to do for it now.
        if (!(err instanceof CafeError && err.code === 'CAFE_ERR_CONFLICT')) throw err;
      }
    }
    if (now - this.lastRecordSweep >= this.recordSweepMs) {
      this.lastRecordSweep = now;
      released += await this.sweepRecords(now);
    }
    return released;
  }

  /**
   * The reservations table itself: records stuck mid-move (their caller died after claiming),
   * held records past their expiry whose holds are already gone, and finished records past the
   * retention (on AWS the table's TTL on `ttl` removes them too; the local engine has no TTL).
   */
  private async sweepRecords(now: number): Promise<number> {
    const stuck: StoredReservation[] = [];
    const finished: string[] = [];
    const before = now - this.retentionMs;
    await this.scanAll(
      {
        TableName: TABLES.reservations,
        FilterExpression:
          '(attribute_exists(moving) AND movingSince < :stale) OR (#s = :held AND expiresAtMs < :now) OR finishedAtMs < :before',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':stale': now - this.takeoverMs,
          ':held': 'held',
          ':now': now,
          ':before': before,
        },
      },
      (row) => {
        const record = row as unknown as StoredReservation;
        if (record.finishedAtMs !== undefined && record.finishedAtMs < before) finished.push(record.orderId);
        else stuck.push(record);
      },
    );
    let released = 0;
    for (const record of stuck) {
      try {
        await this.move(record.orderId, record.moving ?? 'released', record.reason ?? LAPSED, !record.moving);
        released++;
      } catch (err) {
        if (!(err instanceof CafeError && err.code === 'CAFE_ERR_CONFLICT')) throw err;
      }
    }
    for (const orderId of finished) {
      await this.call(() =>
        this.db.send(
          new DeleteCommand({
            TableName: TABLES.reservations,
            Key: { orderId },
            ConditionExpression: 'finishedAtMs < :before',
            ExpressionAttributeValues: { ':before': before },
          }),
        ),
      ).catch(() => undefined);
    }
    return released;
  }

  /**
   * Moves an order's reserved units to sold or back to available: claim the move on the record
   * (one caller wins; a claim older than this.takeoverMs is taken over), apply it on every SKU
   * (repeatable: the markers say what already happened), then record it and drop the markers.
   */
  private async move(
    orderId: string,
    to: 'committed' | 'released',
    reason?: string,
    onlyExpired = false,
  ): Promise<StoredReservation> {
    // The common case costs no read: claim straight away; only a refused claim looks.
    let claimed = await this.claimMove(orderId, to, onlyExpired);
    const deadline = Date.now() + WAIT_FOR_OTHER_MS;
    while (!claimed) {
      const current = await this.mustGet(orderId);
      if (current.status === to) return current;
      if (current.status === 'committed' || current.status === 'released') {
        throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} is ${current.status}`);
      }
      if (current.moving !== to) {
        // Nothing in the way but the claim's own conditions (expiry, another move): refused.
        throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} is ${describe(current)}`);
      }
      // Another caller holds the claim: wait for it to finish, or for its claim to go stale
      // (its caller died), when the next claim takes it over.
      if ((current.movingSince ?? 0) > Date.now() - this.takeoverMs) {
        if (Date.now() > deadline) {
          throw new CafeError(
            'CAFE_ERR_UNAVAILABLE',
            `order ${orderId} is being ${to} by another request; retry`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      claimed = await this.claimMove(orderId, to, onlyExpired);
    }
    const from = claimed.status as 'held' | 'attached';
    await Promise.all(
      claimed.items.map((line) =>
        this.lanes.submit(line.sku, moveOp(from, to, orderId, line.quantity)).then((outcome) => {
          if (outcome.kind === 'gone') {
            throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} expired`);
          }
        }),
      ),
    );
    await this.finishMove(orderId, to, reason);
    for (const line of claimed.items) this.lazily(line.sku, { kind: 'forget', orderId });
    if (to === 'released') this.app.metrics.inc('inventory_reservations_total', { outcome: 'released' });
    const { expiresAtMs: _e, moving: _m, movingSince: _s, ...rest } = claimed;
    return { ...rest, status: to, ...(reason !== undefined && { reason }) };
  }

  /**
   * Claims the move for this caller (a fresh claim, or a takeover of a dead caller's) and
   * answers the record as it now is; undefined when the record's state refuses the claim.
   */
  private async claimMove(
    orderId: string,
    to: 'committed' | 'released',
    onlyExpired: boolean,
  ): Promise<StoredReservation | undefined> {
    const now = Date.now();
    // Which states may move: the sweeper only takes expired holds; an order commits an attached
    // reservation, or a held one while its hold lasts; it releases either.
    const from = onlyExpired
      ? { cond: '#s = :held AND expiresAtMs < :now', values: { ':held': 'held' } }
      : to === 'committed'
        ? {
            cond: '(#s = :attached OR (#s = :held AND expiresAtMs > :now))',
            values: { ':attached': 'attached', ':held': 'held' },
          }
        : { cond: '(#s = :attached OR #s = :held)', values: { ':attached': 'attached', ':held': 'held' } };
    try {
      const { Attributes } = await this.call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: TABLES.reservations,
            Key: { orderId },
            UpdateExpression: 'SET moving = :to, movingSince = :now',
            ConditionExpression: `${from.cond} AND (attribute_not_exists(moving) OR (moving = :to AND movingSince < :stale))`,
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: {
              ...from.values,
              ':to': to,
              ':now': now,
              ':stale': now - this.takeoverMs,
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return Attributes as StoredReservation;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return undefined;
    }
  }

  private async finishMove(orderId: string, to: 'committed' | 'released', reason?: string): Promise<void> {
    const now = Date.now();
    try {
      await this.call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: TABLES.reservations,
            Key: { orderId },
            UpdateExpression: `SET #s = :to, finishedAtMs = :fin, #ttl = :ttl${reason !== undefined ? ', reason = :reason' : ''} REMOVE moving, movingSince, expiresAtMs`,
            ConditionExpression: 'moving = :to',
            ExpressionAttributeNames: { '#s': 'status', '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':to': to,
              ':fin': now,
              // Epoch seconds for DynamoDB TTL on AWS; the local sweeper deletes them itself.
              ':ttl': Math.floor((now + this.retentionMs) / 1000),
              ...(reason !== undefined && { ':reason': reason }),
            },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // A taker-over finished it first: fine if it ended where we were going.
      const now = await this.mustGet(orderId);
      if (now.status !== to) {
        throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} is ${describe(now)}`, {
          cause: err,
        });
      }
    }
  }

  /** Writes a new record; answers the existing one instead when the order already has one. */
  private async putRecord(
    reservation: StoredReservation,
    policy: WaitPolicy,
  ): Promise<StoredReservation | undefined> {
    try {
      await this.call(
        () =>
          this.db.send(
            new PutCommand({
              TableName: TABLES.reservations,
              Item: reservation,
              ConditionExpression: 'attribute_not_exists(orderId)',
            }),
          ),
        policy,
      );
      return undefined;
    } catch (err) {
      if (isConditionFailure(err)) return this.mustGet(reservation.orderId);
      // Refused by our own limiter before it was sent: certainly not written.
      if (isRateLimited(err)) throw err;
      // The answer was lost, not necessarily the write: ours if it carries our hold's expiry.
      const landed = await this.reservation(reservation.orderId).catch(() => undefined);
      if (
        landed &&
        landed.createdAt === reservation.createdAt &&
        landed.expiresAtMs === reservation.expiresAtMs
      ) {
        return undefined;
      }
      if (landed) return landed;
      throw err;
    }
  }

  private async returnHolds(orderId: string, lines: readonly Line[]): Promise<void> {
    await Promise.all(lines.map((l) => this.lanes.submit(l.sku, { kind: 'return-hold', orderId })));
  }

  /** A clean-up that may ride along with later writes; if it is lost, the sweeper redoes it. */
  private lazily(sku: string, op: StockOp): void {
    this.lanes.submit(sku, op).catch((err: unknown) => {
      this.app.log.warn(
        { err, sku, op: op.kind, orderId: op.orderId },
        'stock clean-up deferred to the sweeper',
      );
    });
  }

  private async mustGet(orderId: string): Promise<StoredReservation> {
    const found = await this.reservation(orderId);
    if (!found) throw new CafeError('CAFE_ERR_NOT_FOUND', `no reservation for order ${orderId}`);
    return found;
  }

  private async records(orderIds: readonly string[]): Promise<Map<string, StoredReservation>> {
    const found = new Map<string, StoredReservation>();
    for (let i = 0; i < orderIds.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = orderIds
        .slice(i, i + 100)
        .map((orderId) => ({ orderId }));
      while (keys && keys.length > 0) {
        const request = keys;
        const out = await this.call(() =>
          this.db.send(
            new BatchGetCommand({
              RequestItems: { [TABLES.reservations]: { Keys: request, ConsistentRead: true } },
            }),
          ),
        );
        for (const row of out.Responses?.[TABLES.reservations] ?? []) {
          found.set(String(row.orderId), row as StoredReservation);
        }
        keys = out.UnprocessedKeys?.[TABLES.reservations]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return found;
  }

  private async scanAll(
    input: ConstructorParameters<typeof ScanCommand>[0],
    each: (row: Record<string, unknown>) => void,
  ): Promise<void> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(() =>
        this.db.send(new ScanCommand({ ...input, ...(startKey && { ExclusiveStartKey: startKey }) })),
      );
      for (const row of page.Items ?? []) each(row);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private async prices(skus: readonly string[]): Promise<Map<string, number>> {
    const now = Date.now();
    const prices = new Map<string, number>();
    for (const sku of skus) {
      const hit = this.priceCache.get(sku);
      if (hit && hit.until > now) prices.set(sku, hit.price);
    }
    if (prices.size === skus.length) return prices;
    const out = await this.call(() =>
      this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [TABLES.inventory]: { Keys: skus.map((sku) => ({ sku })), ProjectionExpression: 'sku, price' },
          },
        }),
      ),
    );
    for (const row of out.Responses?.[TABLES.inventory] ?? []) {
      prices.set(String(row.sku), Number(row.price));
      this.priceCache.set(String(row.sku), { price: Number(row.price), until: now + this.priceTtlMs });
    }
    const unknown = skus.find((sku) => !prices.has(sku));
    if (unknown !== undefined) throw new CafeError('CAFE_ERR_NOT_FOUND', `no sku ${unknown}`);
    return prices;
  }

  private outOfStock(line: Line, available: number): CafeError {
    this.app.metrics.inc('inventory_reservations_total', { outcome: 'insufficient' });
    return new CafeError(
      'CAFE_ERR_OUT_OF_STOCK',
      `out of stock: ${line.sku} (requested ${line.quantity}, available ${available})`,
    );
  }
}

/** The lane operation that moves one line's units, by where the reservation stood. */
function moveOp(
  from: 'held' | 'attached',
  to: 'committed' | 'released',
  orderId: string,
  q: number,
): StockOp {
  if (from === 'held')
    return to === 'committed' ? { kind: 'commit-held', orderId } : { kind: 'return-hold', orderId };
  return { kind: to === 'committed' ? 'commit-attached' : 'release-attached', orderId, q };
}

function settledKind(result: PromiseSettledResult<StockOutcome> | undefined): string | undefined {
  return result?.status === 'fulfilled' ? result.value.kind : undefined;
}

function isRateLimited(err: unknown): err is CafeError {
  return err instanceof CafeError && err.code === 'CAFE_ERR_RATE_LIMITED';
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

function describe(r: StoredReservation): string {
  return r.moving ? `${r.status}, being ${r.moving}` : r.status;
}

/** One line per SKU (a write plans each SKU once), sorted for a stable comparison. */
export function mergeLines(lines: readonly ReservationItemRequest[]): { sku: string; quantity: number }[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([sku, quantity]) => ({ sku, quantity }));
}

function sameOrConflict(
  existing: StoredReservation,
  wanted: { sku: string; quantity: number }[],
): StoredReservation {
  const have = existing.items.map((l) => `${l.sku}:${l.quantity}`).join(',');
  const want = wanted.map((l) => `${l.sku}:${l.quantity}`).join(',');
  if (have !== want) {
    throw new CafeError('CAFE_ERR_CONFLICT', `order ${existing.orderId} already reserved other items`);
  }
  return existing;
}

export function toView(r: StoredReservation): Reservation {
  return {
    orderId: r.orderId,
    status: r.status,
    items: r.items,
    createdAt: r.createdAt,
    ...(r.expiresAtMs !== undefined &&
      r.status === 'held' && { expiresAt: new Date(r.expiresAtMs).toISOString() }),
    ...(r.reason !== undefined && { reason: r.reason }),
  };
}

function toItem(row: Record<string, unknown>): InventoryItem {
  return {
    sku: String(row.sku),
    name: String(row.name ?? ''),
    category: String(row.category ?? ''),
    price: Number(row.price ?? 0),
    available: Number(row.available ?? 0),
    reserved: Number(row.reserved ?? 0),
    sold: Number(row.sold ?? 0),
  };
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (key && typeof key === 'object' && typeof (key as { sku?: unknown }).sku === 'string') {
      return { sku: (key as { sku: string }).sku };
    }
  } catch {
    // fall through: any unreadable cursor is the client's mistake
  }
  throw new CafeError('CAFE_ERR_VALIDATION', 'querystring.cursor: not a cursor this API issued');
}
