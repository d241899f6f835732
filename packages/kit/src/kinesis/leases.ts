import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * Shard leases: which worker of a consumer group reads which shard. With every instance of a
 * consumer reading every shard, `n` instances make `n` times the GetRecords calls of one, and AWS
 * serves 5 a second per shard to all readers together; with a lease, each shard has one reader
 * at a time, whatever the number of instances (ADR 0018). The KCL's lease table, reduced to what
 * CloudCafe needs: take a free or expired lease, renew the ones held, give them up on shutdown.
 */
export interface ShardLeases {
  /** This worker's name in the lease table (unique per process). */
  readonly owner: string;
  /** Takes the shard's lease if it is free, expired or already this worker's. */
  acquire(shardId: string): Promise<boolean>;
  /** Extends a lease this worker holds; false once another worker has taken it. */
  renew(shardId: string): Promise<boolean>;
  /** Gives the lease up at once (shutdown), so another worker need not wait for it to expire. */
  release(shardId: string): Promise<void>;
  /** Workers holding a live lease of this consumer, this one counted: the fair share's divisor. */
  workers(): Promise<number>;
}

export interface DynamoShardLeasesOptions {
  readonly client: DynamoDBDocumentClient;
  /** The lease table: partition key `leaseKey` (string). */
  readonly table: string;
  /** The consumer group (`loyalty`, `analytics`): leases of two groups never meet. */
  readonly consumer: string;
  readonly owner: string;
  /**
   * How long a lease lives without renewal (default 10 s). A worker renews three times in that
   * time; a dead one's shards are taken over once it passes. Expiry compares wall clocks of two
   * hosts, so it must stay well above their skew (NTP keeps EC2 and EKS nodes within
   * milliseconds).
   */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** A worker name unique per process: host, pid and a random part (a pid is reused after a restart). */
export const workerName = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/** Leases in a DynamoDB table, each taken and renewed by a conditional write. */
export function dynamoShardLeases(options: DynamoShardLeasesOptions): ShardLeases {
  const { client, table, consumer, owner } = options;
  const ttlMs = options.ttlMs ?? 10_000;
  const now = options.now ?? Date.now;
  const key = (shardId: string) => ({ leaseKey: `${consumer}#${shardId}` });

  /** Sets this worker as owner until now + ttl, when `condition` holds; false when it does not. */
  async function claim(shardId: string, condition: string, values: Record<string, unknown>) {
    try {
      await client.send(
        new UpdateCommand({
          TableName: table,
          Key: key(shardId),
          UpdateExpression: 'SET #owner = :me, expiresAt = :until, consumerGroup = :group, shardId = :shard',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':me': owner,
            ':until': now() + ttlMs,
            ':group': consumer,
            ':shard': shardId,
            ...values,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  return {
    owner,
    acquire: (shardId) =>
      claim(shardId, 'attribute_not_exists(leaseKey) OR #owner = :me OR expiresAt < :now', { ':now': now() }),
    renew: (shardId) => claim(shardId, '#owner = :me', {}),
    async release(shardId) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: table,
            Key: key(shardId),
            UpdateExpression: 'SET expiresAt = :gone',
            ConditionExpression: '#owner = :me',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':gone': 0, ':me': owner },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },
    async workers() {
      const owners = new Set([owner]);
      let start: Record<string, unknown> | undefined;
      do {
        // a handful of items per consumer (one per shard): a scan is cheaper than an index
        const page = await client.send(
          new ScanCommand({
            TableName: table,
            FilterExpression: 'consumerGroup = :group AND expiresAt > :now',
            ExpressionAttributeValues: { ':group': consumer, ':now': now() },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) owners.add(String(item.owner));
        start = page.LastEvaluatedKey;
      } while (start);
      return owners.size;
    },
  };
}
