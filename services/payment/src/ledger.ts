import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The payment ledger in DynamoDB, one item per order (pk `orderId`). Its states:
 *
 *   (none) ──claim (put if absent)──▶ charging ──gateway 2xx──▶ charged
 *      │                                  └──────gateway 402──▶ declined (card_declined)
 *      └──fraud score (put if absent)──────────────────────────▶ declined (fraud)
 *
 * Every write is conditional, so whatever a second delivery does it cannot move an order
 * backwards or claim it twice. The gateway call in between uses the order id as its
 * Idempotency-Key: a delivery that finds `charging` (a crash, a timeout or a kill between claim
 * and record) repeats the call and the gateway answers the first capture again instead of
 * charging twice. `charged` and `declined` are final: a delivery that finds one only re-sends the
 * result (and re-writes the receipt), it never calls the gateway.
 */

export type LedgerStatus = 'charging' | 'charged' | 'declined';

export interface LedgerEntry {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly status: LedgerStatus;
  readonly requestedAt: string;
  readonly claimedAt: string;
  /** Gateway calls made for this order (1 unless a delivery resumed a stale claim). */
  readonly attempts: number;
  readonly chargeId?: string;
  readonly reason?: string;
  readonly fraudScore?: number;
  readonly completedAt?: string;
}

export type NewEntry = Pick<
  LedgerEntry,
  'orderId' | 'customerId' | 'amountCents' | 'currency' | 'requestedAt' | 'fraudScore'
>;

export class PaymentLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(orderId: string): Promise<LedgerEntry | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { orderId }, ConsistentRead: true }),
    );
    return Item as LedgerEntry | undefined;
  }

  /**
   * Creates the order's entry in `status` if it has none. Returns the entry written, or
   * `undefined` when another delivery got there first (the caller re-reads and follows it).
   */
  async create(
    entry: NewEntry,
    status: 'charging' | 'declined',
    extra: { reason?: string } = {},
  ): Promise<LedgerEntry | undefined> {
    const now = new Date().toISOString();
    const item: LedgerEntry = {
      ...entry,
      status,
      claimedAt: now,
      attempts: status === 'charging' ? 1 : 0,
      ...extra,
      ...(status === 'declined' && { completedAt: now }),
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(orderId)',
        }),
      );
      return item;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** A delivery resuming a `charging` entry says so before repeating the gateway call. */
  async recordAttempt(orderId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { orderId },
        UpdateExpression: 'SET attempts = attempts + :one',
        ConditionExpression: '#s = :charging',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':one': 1, ':charging': 'charging' },
      }),
    );
  }

  /**
   * Moves `charging` to a final state. Finding it already in that same state (a parallel
   * delivery recorded the same gateway answer) is fine; anything else is a conflict and throws.
   */
  async complete(
    orderId: string,
    status: 'charged' | 'declined',
    detail: { chargeId?: string; reason?: string },
  ): Promise<LedgerEntry> {
    const values: Record<string, unknown> = {
      ':charging': 'charging',
      ':final': status,
      ':at': new Date().toISOString(),
    };
    const sets = ['#s = :final', 'completedAt = :at'];
    if (detail.chargeId) {
      sets.push('chargeId = :chargeId');
      values[':chargeId'] = detail.chargeId;
    }
    if (detail.reason) {
      sets.push('reason = :reason');
      values[':reason'] = detail.reason;
    }
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { orderId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#s = :charging',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as LedgerEntry;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = await this.get(orderId);
      if (current?.status === status) return current;
      throw new Error(`ledger ${orderId}: cannot move ${current?.status ?? 'nothing'} to ${status}`);
    }
  }
}
