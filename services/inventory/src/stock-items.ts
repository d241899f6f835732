import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '@cloudcafe/contracts';
import type { StockItems } from './stock-lane.js';
import type { StockState } from './stock-plan.js';

/** What every stock call goes through: the instance's DynamoDB limiter and dependency metrics. */
export type DynamoCall = <T>(fn: () => Promise<T>) => Promise<T>;

type Send = (command: GetCommand | UpdateCommand) => Promise<{ Item?: Record<string, unknown> }>;

/**
 * The SKU items of the inventory table as the lanes see them: the unit counters, the version,
 * the holds and the move markers. One conditional UpdateItem replaces all of them at once; its
 * only condition is the version the plan was made from.
 */
export function dynamoStockItems(send: Send, call: DynamoCall): StockItems {
  return {
    async read(sku) {
      const { Item } = await call(() =>
        send(
          new GetCommand({
            TableName: TABLES.inventory,
            Key: { sku },
            ConsistentRead: true,
            ProjectionExpression: 'available, reserved, sold, version, holds, moves',
          }),
        ),
      );
      // A projection of a missing item is empty, not undefined, on some engines.
      if (!Item || Item.available === undefined) return undefined;
      return toState(Item);
    },
    async write(sku, expected, next) {
      try {
        await call(() =>
          send(
            new UpdateCommand({
              TableName: TABLES.inventory,
              Key: { sku },
              UpdateExpression:
                'SET available = :a, reserved = :r, sold = :s, version = :v1, holds = :h, moves = :m',
              // Items written before versions existed read as version 0.
              ConditionExpression:
                expected.version === 0
                  ? 'attribute_exists(sku) AND (attribute_not_exists(version) OR version = :v0)'
                  : 'version = :v0',
              ExpressionAttributeValues: {
                ':a': next.available,
                ':r': next.reserved,
                ':s': next.sold,
                ':v0': expected.version,
                ':v1': next.version,
                ':h': next.holds,
                ':m': next.moves,
              },
            }),
          ),
        );
        return true;
      } catch (err) {
        if (err instanceof Error && err.name === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    },
  };
}

export function toState(row: Record<string, unknown>): StockState {
  return {
    available: Number(row.available ?? 0),
    reserved: Number(row.reserved ?? 0),
    sold: Number(row.sold ?? 0),
    version: Number(row.version ?? 0),
    holds: (row.holds ?? {}) as StockState['holds'],
    moves: (row.moves ?? {}) as StockState['moves'],
  };
}
