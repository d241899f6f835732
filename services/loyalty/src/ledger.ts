import type { OrderEvent } from '@cloudcafe/contracts';
import { pointsFor, TIERS, type Tier, tierOf } from '@cloudcafe/contracts';
import type { Checkpoint, CheckpointStore } from '@cloudcafe/kit';
import type { Redis } from 'ioredis';

/**
 * Loyalty state in Redis (MemoryDB on AWS). One Lua script applies one event atomically: the
 * event-id marker, the per-order state, the balance, the ledger entry, the leaderboard and the
 * totals change together or not at all, so a crash can never leave an event half-applied and
 * a replay finds the marker (per record) or the order state (per order) and changes nothing.
 */

const K = {
  event: (eventId: string) => `loyalty:event:${eventId}`,
  order: (orderId: string) => `loyalty:order:${orderId}`,
  account: (customerId: string) => `loyalty:account:${customerId}`,
  ledger: (customerId: string) => `loyalty:ledger:${customerId}`,
  board: 'loyalty:leaderboard',
  customers: 'loyalty:customers',
  totals: 'loyalty:totals',
  checkpoint: (epoch: string, shardId: string) => `loyalty:checkpoint:${epoch}:${shardId}`,
} as const;

export const APPLY_OUTCOMES = [
  'awarded',
  'refunded',
  'duplicate',
  'order-seen',
  'cancelled-unconfirmed',
  'ignored',
] as const;
export type ApplyOutcome = (typeof APPLY_OUTCOMES)[number];

// ARGV: eventId, type, orderId, customerId, points, totalCents, occurredAt, then tier thresholds
// as name/min pairs from the highest. Returns {outcome, points moved}.
const APPLY = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate', 0} end
local state = redis.call('HGET', KEYS[2], 'state')
local outcome = 'ignored'
local moved = 0
if ARGV[2] == 'OrderConfirmed' then
  if state then
    outcome = 'order-seen'
  else
    moved = tonumber(ARGV[5])
    redis.call('HSET', KEYS[2], 'state', 'awarded', 'points', moved, 'customerId', ARGV[4], 'totalCents', ARGV[6])
    redis.call('HINCRBY', KEYS[3], 'points', moved)
    redis.call('HINCRBY', KEYS[3], 'confirmedOrders', 1)
    redis.call('SADD', KEYS[6], ARGV[4])
    redis.call('HINCRBY', KEYS[7], 'pointsAwarded', moved)
    redis.call('HINCRBY', KEYS[7], 'ordersAwarded', 1)
    redis.call('HINCRBY', KEYS[7], 'confirmedRevenueCents', tonumber(ARGV[6]))
    outcome = 'awarded'
  end
elseif ARGV[2] == 'OrderCancelled' then
  if state == 'awarded' then
    moved = -tonumber(redis.call('HGET', KEYS[2], 'points'))
    local total = tonumber(redis.call('HGET', KEYS[2], 'totalCents'))
    redis.call('HSET', KEYS[2], 'state', 'refunded')
    redis.call('HINCRBY', KEYS[3], 'points', moved)
    redis.call('HINCRBY', KEYS[3], 'confirmedOrders', -1)
    redis.call('HINCRBY', KEYS[7], 'pointsRefunded', -moved)
    redis.call('HINCRBY', KEYS[7], 'ordersRefunded', 1)
    redis.call('HINCRBY', KEYS[7], 'confirmedRevenueCents', -total)
    outcome = 'refunded'
  elseif not state then
    redis.call('HSET', KEYS[2], 'state', 'cancelled', 'points', 0, 'customerId', ARGV[4], 'totalCents', 0)
    outcome = 'cancelled-unconfirmed'
  end
end
if outcome == 'awarded' or outcome == 'refunded' then
  redis.call('RPUSH', KEYS[4], cjson.encode({eventId = ARGV[1], orderId = ARGV[3], type = ARGV[2], points = moved, at = ARGV[7]}))
  local balance = tonumber(redis.call('HGET', KEYS[3], 'points'))
  local tier = 'bronze'
  for i = 8, #ARGV, 2 do
    if balance >= tonumber(ARGV[i + 1]) then tier = ARGV[i] break end
  end
  redis.call('HSET', KEYS[3], 'tier', tier, 'updatedAt', ARGV[7])
  redis.call('ZADD', KEYS[5], balance, ARGV[4])
end
redis.call('SET', KEYS[1], outcome)
return {outcome, moved}
`;

const TIER_ARGS = TIERS.flatMap((t) => [t.name, String(t.minPoints)]);

export interface LedgerEntry {
  eventId: string;
  orderId: string;
  type: 'OrderConfirmed' | 'OrderCancelled';
  points: number;
  at: string;
}

export interface Account {
  customerId: string;
  points: number;
  tier: Tier;
  confirmedOrders: number;
  history: LedgerEntry[];
}

export interface Totals {
  customers: number;
  pointsOutstanding: number;
  pointsAwarded: number;
  pointsRefunded: number;
  ordersAwarded: number;
  ordersRefunded: number;
  confirmedRevenueCents: number;
}

const int = (value: string | null | undefined) => (value ? Number.parseInt(value, 10) : 0);

export function createLedger(redis: Redis) {
  redis.defineCommand('loyaltyApply', { numberOfKeys: 7, lua: APPLY });
  const apply = (redis as unknown as { loyaltyApply(...args: string[]): Promise<[string, number]> })
    .loyaltyApply;

  return {
    async apply(event: OrderEvent): Promise<{ outcome: ApplyOutcome; points: number }> {
      const [outcome, points] = await apply.call(
        redis,
        K.event(event.eventId),
        K.order(event.orderId),
        K.account(event.customerId),
        K.ledger(event.customerId),
        K.board,
        K.customers,
        K.totals,
        event.eventId,
        event.type,
        event.orderId,
        event.customerId,
        String(pointsFor(event.totalCents)),
        String(event.totalCents),
        event.occurredAt,
        ...TIER_ARGS,
      );
      return { outcome: outcome as ApplyOutcome, points: Number(points) };
    },

    async account(customerId: string, historyLimit = 20): Promise<Account> {
      const [account, history] = await Promise.all([
        redis.hgetall(K.account(customerId)),
        redis.lrange(K.ledger(customerId), -historyLimit, -1),
      ]);
      const points = int(account.points);
      return {
        customerId,
        points,
        tier: tierOf(points),
        confirmedOrders: int(account.confirmedOrders),
        history: history.map((entry) => JSON.parse(entry) as LedgerEntry).reverse(),
      };
    },

    async leaderboard(limit: number) {
      const flat = await redis.zrevrange(K.board, 0, limit - 1, 'WITHSCORES');
      const entries = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const points = Number(flat[i + 1]);
        entries.push({ rank: i / 2 + 1, customerId: flat[i] ?? '', points, tier: tierOf(points) });
      }
      return entries;
    },

    async totals(): Promise<Totals> {
      const [totals, customers] = await Promise.all([redis.hgetall(K.totals), redis.scard(K.customers)]);
      const pointsAwarded = int(totals.pointsAwarded);
      const pointsRefunded = int(totals.pointsRefunded);
      return {
        customers,
        pointsOutstanding: pointsAwarded - pointsRefunded,
        pointsAwarded,
        pointsRefunded,
        ordersAwarded: int(totals.ordersAwarded),
        ordersRefunded: int(totals.ordersRefunded),
        confirmedRevenueCents: int(totals.confirmedRevenueCents),
      };
    },

    /** Customer ids, a page at a time (SSCAN), for the batch recalculation. */
    async *customers(pageSize = 200): AsyncGenerator<string[]> {
      let cursor = '0';
      do {
        const [next, ids] = await redis.sscan(K.customers, cursor, 'COUNT', pageSize);
        cursor = next;
        if (ids.length > 0) yield ids;
      } while (cursor !== '0');
    },

    /** The ledger and the stored balance of each customer, read in one MULTI (a consistent snapshot). */
    async snapshot(customerIds: readonly string[]) {
      const multi = redis.multi();
      for (const id of customerIds) {
        multi
          .lrange(K.ledger(id), 0, -1)
          .hget(K.account(id), 'points')
          .hget(K.account(id), 'tier')
          .zscore(K.board, id);
      }
      const answers = (await multi.exec()) ?? [];
      return customerIds.map((customerId, index) => {
        const at = (n: number) => answers[index * 4 + n]?.[1];
        return {
          customerId,
          ledger: (at(0) as string[] | undefined) ?? [],
          storedPoints: int(at(1) as string | null),
          storedTier: (at(2) as string | null) ?? 'bronze',
          boardPoints: at(3) === null || at(3) === undefined ? undefined : Number(at(3)),
        };
      });
    },

    checkpoints(): CheckpointStore {
      return {
        load: async (epoch, shardId) => (await redis.get(K.checkpoint(epoch, shardId))) ?? undefined,
        save: async ({ streamEpoch, shardId, sequenceNumber }: Checkpoint) => {
          await redis.set(K.checkpoint(streamEpoch, shardId), sequenceNumber);
        },
      };
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
