import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { InventoryItem, Reservation, ReservationItemRequest } from '@cloudcafe/contracts';
import { TABLES } from '@cloudcafe/contracts';
import { CafeError, callDependency, type ServiceApp } from '@cloudcafe/kit';
import type { SeedItem } from './catalogue.js';
import { Limiter, type WaitPolicy, waitAtMost } from './limiter.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A reservation as stored: the API view plus the expiry as a number, so a scan can compare it. */
interface StoredReservation {
  orderId: string;
  status: Reservation['status'];
  items: { sku: string; quantity: number; unitPriceCents: number }[];
  createdAt: string;
  expiresAtMs?: number;
  reason?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

// A cancelled transaction that lost only to a concurrent one is retried; it says nothing about stock.
const MAX_TRANSACTION_ATTEMPTS = 6;
// Short enough that another instance's release is seen almost at once; long enough that a
// flash sale's queue of losers is answered without a transaction each.
const SOLD_OUT_MEMO_MS = 250;
/** How long a read of a SKU's available units may decide a 409 for a buyer who cannot be served in time. */
const SEEN_AVAILABLE_MS = 2000;

export interface InventoryStoreOptions {
  /** How long a reservation whose order never committed holds its stock. */
  holdSeconds: number;
  /** Told which SKUs the sweeper moved, so cached reads drop them. */
  onStockChange?: (skus: string[]) => Promise<void>;
  /** DynamoDB calls in flight (default 8). */
  maxInFlight?: number;
  /** DynamoDB writes in flight (default 1: see {@link InventoryStore.write}). */
  maxWritesInFlight?: number;
  /** How long finished reservations are kept (default 15 min). */
  retentionMs?: number;
  /** How long unit prices are cached (default 30 s). */
  priceTtlMs?: number;
  /** How long a new reservation may queue, in all, before it is refused with a 429 (default 8 s). */
  reservationMaxWaitMs?: number;
}

/**
 * Stock and reservations in DynamoDB. Every change of stock is a conditional write inside a
 * transaction with the reservation it belongs to, so `available` can never go below zero and
 * a reservation's stock moves exactly once whatever the concurrency or the retries.
 */
export class InventoryStore {
  private readonly limiter: Limiter;
  private readonly writes: Limiter;
  /** Unit prices by SKU, kept briefly: a reservation then costs one transaction, not three calls. */
  private readonly priceCache = new Map<string, { price: number; until: number }>();
  /** SKUs a cancelled transaction just found short, until when to trust that. */
  private readonly soldOut = new Map<string, number>();
  /** Units wanted by new reservations waiting for, or in, the stock write lane, by SKU. */
  private readonly claims = new Map<string, number>();
  /** The last consistent read of each SKU's available units, and when it was made. */
  private readonly seenAvailable = new Map<string, { available: number; at: number }>();

  private readonly holdSeconds: number;
  private readonly retentionMs: number;
  private readonly priceTtlMs: number;
  /** Told which SKUs the sweeper moved, so cached reads drop them. */
  private readonly onStockChange: (skus: string[]) => Promise<void>;
  /** How long a new reservation may queue, in all; work already promised queues without a bound. */
  private readonly reservationMaxWaitMs: number;

  constructor(
    private readonly app: ServiceApp,
    options: InventoryStoreOptions,
  ) {
    this.holdSeconds = options.holdSeconds;
    this.retentionMs = options.retentionMs ?? 15 * 60_000;
    this.priceTtlMs = options.priceTtlMs ?? 30_000;
    this.onStockChange = options.onStockChange ?? (async () => {});
    const gauge = (lane: string) => (depth: number) =>
      app.metrics.set('inventory_lane_depth', { lane }, depth);
    this.limiter = new Limiter(options.maxInFlight ?? 8, 'dynamodb', gauge('dynamodb'));
    this.writes = new Limiter(options.maxWritesInFlight ?? 1, 'stock write', gauge('stock write'));
    this.reservationMaxWaitMs = options.reservationMaxWaitMs ?? 8000;
  }

  private get db() {
    return this.app.aws.documentClient;
  }

  private call<T>(fn: () => Promise<T>, policy?: WaitPolicy): Promise<T> {
    return this.limiter.run(() => callDependency(this.app, 'dynamodb', fn), policy);
  }

  /**
   * Every write goes through one lane per instance (`DYNAMODB_MAX_WRITES_IN_FLIGHT`, default 1).
   * The local emulator (moto) snapshots whole tables for each transaction and restores the
   * snapshot when one is cancelled, which silently undoes writes other threads made meanwhile;
   * serialising writes is what keeps its stock counts true. On AWS, raise the limit.
   */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.writes.run(() => this.call(fn));
  }

  /**
   * One transaction. Every transaction here is guarded by conditions that make a repeat
   * detectable (the reservation's put, its status), so one whose answer was lost (a timeout,
   * the emulator's occasional 500 under concurrency) is simply sent again.
   */
  private transact(items: TransactItem[]): Promise<void> {
    return this.writes.run(() => this.transactUnqueued(items));
  }

  private async transactUnqueued(items: TransactItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call(() => this.db.send(new TransactWriteCommand({ TransactItems: items })));
        return;
      } catch (err) {
        const lostAnswer =
          err instanceof CafeError &&
          (err.code === 'CAFE_ERR_DEPENDENCY_FAILED' || err.code === 'CAFE_ERR_DEPENDENCY_TIMEOUT');
        if (!lostAnswer || attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 25 * attempt));
      }
    }
  }

  /** Writes the catalogue items that do not exist yet; existing stock is never reset. */
  async seed(items: readonly SeedItem[]): Promise<number> {
    let created = 0;
    for (const item of items) {
      try {
        await this.write(() =>
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
    const { Attributes } = await this.write(() =>
      this.db.send(
        new UpdateCommand({
          TableName: TABLES.inventory,
          Key: { sku },
          UpdateExpression:
            'SET #n = :n, category = :c, price = :p, available = if_not_exists(available, :z), reserved = if_not_exists(reserved, :z), sold = if_not_exists(sold, :z)',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: { ':n': name, ':c': category, ':p': price, ':z': 0 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return toItem(Attributes ?? {});
  }

  async restock(sku: string, quantity: number): Promise<InventoryItem> {
    this.soldOut.delete(sku);
    try {
      const { Attributes } = await this.write(() =>
        this.db.send(
          new UpdateCommand({
            TableName: TABLES.inventory,
            Key: { sku },
            UpdateExpression: 'SET available = available + :q',
            ConditionExpression: 'attribute_exists(sku)',
            ExpressionAttributeValues: { ':q': quantity },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
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
   */
  async reserve(
    orderId: string,
    requested: readonly ReservationItemRequest[],
  ): Promise<{ reservation: StoredReservation; created: boolean }> {
    const wanted = mergeLines(requested);
    // Every wait of this request (the read, the write lane, on every attempt) shares one bound:
    // past it the buyer gets a clean 429 with nothing reserved, well before the order service
    // would give up on us with a 504.
    const admission = waitAtMost(this.reservationMaxWaitMs);
    // At the door: when the stock lane's queue alone outlasts the budget, refuse before any
    // DynamoDB read. Under a flash sale this is what keeps the emulator's one thread on the
    // sales instead of on reads for buyers who would be turned away anyway.
    const refused = this.writes.refusalAtDoor(admission);
    if (refused) throw this.shedOrSpokenFor(wanted, refused);
    // No read first: the reservation's own put condition detects a repeat inside the transaction.
    const prices = await this.prices(wanted.map((l) => l.sku));
    const now = Date.now();
    const reservation: StoredReservation = {
      orderId,
      status: 'held',
      items: wanted.map((l) => ({ ...l, unitPriceCents: prices.get(l.sku) ?? 0 })),
      createdAt: new Date(now).toISOString(),
      expiresAtMs: now + this.holdSeconds * 1000,
    };
    const transactItems: TransactItem[] = [
      ...wanted.map(
        (line): TransactItem => ({
          Update: {
            TableName: TABLES.inventory,
            Key: { sku: line.sku },
            UpdateExpression: 'SET available = available - :q, reserved = reserved + :q',
            ConditionExpression: 'attribute_exists(sku) AND available >= :q',
            ExpressionAttributeValues: { ':q': line.quantity },
          },
        }),
      ),
      {
        Put: {
          TableName: TABLES.reservations,
          Item: reservation,
          ConditionExpression: 'attribute_not_exists(orderId)',
        },
      },
    ];

    for (let attempt = 1; ; attempt++) {
      try {
        // A sold-out line is refused after one consistent read, outside the write lane, so a
        // flash sale's losers never queue behind its winners nor cost the emulator a
        // transaction snapshot. The transaction's conditions stay the guarantee.
        const short = await this.firstShort(wanted, admission);
        const repeat = short ? await this.reservation(orderId) : undefined;
        if (short && !repeat) throw await this.outOfStock(short);
        if (!repeat) {
          const memo = await this.claiming(wanted, () =>
            this.writes.run(async () => {
              // A line found short moments ago in this lane stays short until a release or a
              // restock (both clear the memo): refuse without another snapshot-and-restore.
              const known = wanted.find((l) => (this.soldOut.get(l.sku) ?? 0) > Date.now());
              if (known) return known;
              await this.transactUnqueued(transactItems);
              return undefined;
            }, admission),
          );
          if (memo) throw await this.outOfStock(memo);
        }
        if (repeat) return { reservation: sameOrConflict(repeat, wanted), created: false };
        this.app.metrics.inc('inventory_reservations_total', { outcome: 'reserved' });
        return { reservation, created: true };
      } catch (err) {
        if (err instanceof CafeError && err.code === 'CAFE_ERR_RATE_LIMITED') {
          throw this.shedOrSpokenFor(wanted, err);
        }
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
        if (reasons[wanted.length] === 'ConditionalCheckFailed' || reasons.length === 0) {
          // A repeat, or another request for the same order won the race: answer what it reserved.
          const winner = await this.reservation(orderId);
          if (winner) return { reservation: sameOrConflict(winner, wanted), created: false };
        }
        const failed = reasons.indexOf('ConditionalCheckFailed');
        this.app.metrics.inc('stock_conflicts_total');
        const short = failed >= 0 && failed < wanted.length ? wanted[failed] : undefined;
        if (short) {
          this.soldOut.set(short.sku, Date.now() + SOLD_OUT_MEMO_MS);
          throw await this.outOfStock(short);
        }
        if (reasons.includes('TransactionConflict') && attempt < MAX_TRANSACTION_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          continue;
        }
        // No usable reasons (an emulator may omit them): find the short line by reading.
        for (const line of wanted) {
          const item = await this.get(line.sku);
          if (!item || item.available < line.quantity) throw await this.outOfStock(line);
        }
        if (attempt < MAX_TRANSACTION_ATTEMPTS) continue;
        throw new CafeError('CAFE_ERR_UNAVAILABLE', 'reservation kept conflicting; retry', { cause: err });
      }
    }
  }

  /** The order committed: the hold no longer expires. */
  async attach(orderId: string): Promise<StoredReservation> {
    return this.transition(orderId, 'attached');
  }

  /** Paid: reserved stock becomes sold. */
  async commit(orderId: string): Promise<StoredReservation> {
    return this.transition(orderId, 'committed');
  }

  /** Stock goes back to available. `onlyExpired` is the sweeper's guard against racing an attach. */
  async release(orderId: string, reason: string, onlyExpired = false): Promise<StoredReservation> {
    return this.transition(orderId, 'released', reason, onlyExpired);
  }

  /** Releases held reservations past their expiry: orders that never committed. */
  async sweepExpired(): Promise<number> {
    const now = Date.now();
    let released = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(() =>
        this.db.send(
          new ScanCommand({
            TableName: TABLES.reservations,
            FilterExpression: '#s = :held AND expiresAtMs < :now',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':held': 'held', ':now': now },
            ...(startKey && { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        try {
          const freed = await this.release(String(item.orderId), 'expired', true);
          await this.onStockChange(freed.items.map((l) => l.sku));
          released++;
        } catch (err) {
          // Attached or released by someone else since the scan: nothing to free.
          if (!(err instanceof CafeError && err.code === 'CAFE_ERR_CONFLICT')) throw err;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await this.deleteFinished(now - this.retentionMs);
    return released;
  }

  /**
   * Forgets committed and released reservations past the retention. The order service answers
   * repeats of an old order from its own idempotency records, so inventory need not remember
   * them forever; and the local emulator's transactions cost time in proportion to table size.
   */
  private async deleteFinished(before: number): Promise<void> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(() =>
        this.db.send(
          new ScanCommand({
            TableName: TABLES.reservations,
            FilterExpression: 'finishedAtMs < :before',
            ExpressionAttributeValues: { ':before': before },
            ProjectionExpression: 'orderId',
            ...(startKey && { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        await this.write(() =>
          this.db.send(
            new DeleteCommand({
              TableName: TABLES.reservations,
              Key: { orderId: item.orderId },
              ConditionExpression: 'finishedAtMs < :before',
              ExpressionAttributeValues: { ':before': before },
            }),
          ),
        ).catch(() => undefined);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private async transition(
    orderId: string,
    to: 'attached' | 'committed' | 'released',
    reason?: string,
    onlyExpired = false,
  ): Promise<StoredReservation> {
    const current = await this.reservation(orderId);
    if (!current) throw new CafeError('CAFE_ERR_NOT_FOUND', `no reservation for order ${orderId}`);
    if (current.status === to || (to === 'attached' && current.status === 'committed')) return current;
    const from: readonly Reservation['status'][] =
      to === 'attached'
        ? ['held']
        : to === 'committed'
          ? ['held', 'attached']
          : onlyExpired
            ? ['held']
            : ['held', 'attached'];
    if (!from.includes(current.status)) {
      throw new CafeError('CAFE_ERR_CONFLICT', `reservation for order ${orderId} is ${current.status}`);
    }
    const stock: TransactItem[] =
      to === 'attached'
        ? []
        : current.items.map(
            (line): TransactItem => ({
              Update: {
                TableName: TABLES.inventory,
                Key: { sku: line.sku },
                UpdateExpression:
                  to === 'committed'
                    ? 'SET reserved = reserved - :q, sold = sold + :q'
                    : 'SET reserved = reserved - :q, available = available + :q',
                ConditionExpression: 'reserved >= :q',
                ExpressionAttributeValues: { ':q': line.quantity },
              },
            }),
          );
    const guard = onlyExpired ? ' AND expiresAtMs < :now' : '';
    const values: Record<string, unknown> = { ':to': to, ':from0': from[0], ':from1': from[1] ?? from[0] };
    if (onlyExpired) values[':now'] = Date.now();
    if (reason !== undefined) values[':reason'] = reason;
    if (to !== 'attached') {
      values[':fin'] = Date.now();
      // Epoch seconds for DynamoDB TTL on AWS; the local sweeper deletes them itself.
      values[':ttl'] = Math.floor((Date.now() + this.retentionMs) / 1000);
    }
    try {
      await this.transact([
        {
          Update: {
            TableName: TABLES.reservations,
            Key: { orderId },
            UpdateExpression: `SET #s = :to${reason !== undefined ? ', reason = :reason' : ''} REMOVE expiresAtMs`,
            ConditionExpression: `(#s = :from0 OR #s = :from1)${guard}`,
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: values,
          },
        },
        ...stock,
      ]);
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      this.app.metrics.inc('stock_conflicts_total');
      // Someone else moved it first (a retry, the sweeper): answer from where it stands now.
      const now = await this.reservation(orderId);
      if (now && (now.status === to || (to === 'attached' && now.status === 'committed'))) return now;
      throw new CafeError(
        'CAFE_ERR_CONFLICT',
        `reservation for order ${orderId} is ${now?.status ?? 'gone'}`,
        {
          cause: err,
        },
      );
    }
    if (to === 'released') {
      this.app.metrics.inc('inventory_reservations_total', { outcome: 'released' });
      for (const line of current.items) this.soldOut.delete(line.sku);
    }
    const { expiresAtMs: _dropped, ...rest } = current;
    return { ...rest, status: to, ...(reason !== undefined && { reason }) };
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

  /** Runs `fn` with `wanted`'s units counted as claimed by a buyer in the stock lane. */
  private async claiming<T>(wanted: readonly { sku: string; quantity: number }[], fn: () => Promise<T>) {
    for (const l of wanted) this.claims.set(l.sku, (this.claims.get(l.sku) ?? 0) + l.quantity);
    try {
      return await fn();
    } finally {
      for (const l of wanted) {
        const left = (this.claims.get(l.sku) ?? 0) - l.quantity;
        if (left > 0) this.claims.set(l.sku, left);
        else this.claims.delete(l.sku);
      }
    }
  }

  /**
   * What a buyer the stock lane cannot serve in time hears. If the units left of one of its
   * SKUs (as last read, moments ago) are all claimed by buyers queued ahead of it, the truth is
   * "sold out": a 409, exactly what it would hear at its turn. Otherwise it is shed: the 429.
   * So a burst on a small lot sells it out and tells everyone else 409, and only demand the
   * lane cannot reach in time on a lot that still has units is turned away with 429.
   */
  private shedOrSpokenFor(
    wanted: readonly { sku: string; quantity: number }[],
    refused: CafeError,
  ): CafeError {
    const now = Date.now();
    for (const line of wanted) {
      const seen = this.seenAvailable.get(line.sku);
      if (!seen || now - seen.at > SEEN_AVAILABLE_MS) continue;
      const claimed = this.claims.get(line.sku) ?? 0;
      if (claimed + line.quantity > seen.available) {
        this.app.metrics.inc('inventory_reservations_total', { outcome: 'insufficient' });
        return new CafeError(
          'CAFE_ERR_OUT_OF_STOCK',
          `out of stock: ${line.sku} (requested ${line.quantity}; the ${seen.available} left are held for buyers ahead)`,
        );
      }
    }
    this.app.metrics.inc('inventory_reservations_total', { outcome: 'shed' });
    return refused;
  }

  private async firstShort(
    lines: readonly { sku: string; quantity: number }[],
    policy?: WaitPolicy,
  ): Promise<{ sku: string; quantity: number } | undefined> {
    const out = await this.call(
      () =>
        this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [TABLES.inventory]: {
                Keys: lines.map((l) => ({ sku: l.sku })),
                ProjectionExpression: 'sku, available',
                ConsistentRead: true,
              },
            },
          }),
        ),
      policy,
    );
    const available = new Map(
      (out.Responses?.[TABLES.inventory] ?? []).map((row) => [String(row.sku), Number(row.available)]),
    );
    const at = Date.now();
    for (const [sku, units] of available) this.seenAvailable.set(sku, { available: units, at });
    return lines.find((l) => (available.get(l.sku) ?? 0) < l.quantity);
  }

  private async outOfStock(line: { sku: string; quantity: number }): Promise<CafeError> {
    this.app.metrics.inc('inventory_reservations_total', { outcome: 'insufficient' });
    const item = await this.get(line.sku).catch(() => undefined);
    return new CafeError(
      'CAFE_ERR_OUT_OF_STOCK',
      `out of stock: ${line.sku} (requested ${line.quantity}, available ${item?.available ?? 0})`,
    );
  }
}

/** One line per SKU (a transaction may touch an item once), sorted for a stable comparison. */
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
